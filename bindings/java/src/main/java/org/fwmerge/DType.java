package org.fwmerge;

/** Tensor element types (fw_dtype). */
public enum DType {
  /** Export: keep each tensor's base dtype. */
  DEFAULT(-1),
  F32(0),
  F16(1),
  BF16(2);

  final int code;

  DType(int code) {
    this.code = code;
  }

  static DType of(int code) {
    for (DType d : values()) {
      if (d.code == code) {
        return d;
      }
    }
    throw new IllegalArgumentException("unknown fw_dtype " + code);
  }
}
