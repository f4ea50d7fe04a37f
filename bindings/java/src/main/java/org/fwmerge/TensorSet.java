package org.fwmerge;

import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * What {@link Fwmerge#loadTensors} read (fw_load_tensors): the tensors in checkpoint order and the
 * file's __metadata__ (sorted by key), all copied into Java memory.
 */
public final class TensorSet {
  private final List<LoadedTensor> tensors;
  private final Map<String, String> metadata;

  TensorSet(List<LoadedTensor> tensors, Map<String, String> metadata) {
    this.tensors = Collections.unmodifiableList(tensors);
    this.metadata = Collections.unmodifiableMap(metadata);
  }

  public List<LoadedTensor> tensors() {
    return tensors;
  }

  /** The tensor called name, or null. */
  public LoadedTensor get(String name) {
    for (LoadedTensor t : tensors) {
      if (t.name().equals(name)) {
        return t;
      }
    }
    return null;
  }

  public Map<String, String> metadata() {
    return metadata;
  }
}
