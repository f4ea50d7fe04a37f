package org.fwmerge;

/**
 * One term of the built-in objective's loss (fw_objective_term): a module method on a calibration
 * input, cross-entropy against {@code labels} or, with null labels, prediction entropy.
 *
 * @param method module method returning logits [N, C]; null = "forward"
 * @param inputs calibration tensor name of the inputs [N, ...]
 * @param labels calibration tensor name of the labels [N]; null: prediction entropy
 * @param weight finite, &gt; 0
 */
public record ObjectiveTerm(String method, String inputs, String labels, double weight) {
  /** A "forward" term of weight 1. */
  public ObjectiveTerm(String inputs, String labels) {
    this(null, inputs, labels, 1.0);
  }
}
