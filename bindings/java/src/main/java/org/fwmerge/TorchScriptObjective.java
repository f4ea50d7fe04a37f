package org.fwmerge;

import java.util.List;

/**
 * The built-in LibTorch objective (fw_torchscript_objective): a TorchScript module run by the
 * library on calibration tensors from a .safetensors file. See fwmerge.h.
 *
 * @param modulePath the TorchScript file
 * @param calibrationPath .safetensors holding the terms' inputs and labels
 * @param paramMap (module parameter name, base tensor name) pairs, each a two-element array;
 *     null: every module parameter whose name is a base tensor name
 * @param terms at least one
 */
public record TorchScriptObjective(
    String modulePath, String calibrationPath, List<String[]> paramMap, List<ObjectiveTerm> terms) {
  public TorchScriptObjective(String modulePath, String calibrationPath, List<ObjectiveTerm> terms) {
    this(modulePath, calibrationPath, null, terms);
  }
}
