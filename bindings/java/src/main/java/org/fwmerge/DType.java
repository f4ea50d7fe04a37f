package org.fwmerge;

/**
 * Tensor element types (fw_dtype). F32, F16 and BF16 are the solver's; the others are storage
 * types that {@link Fwmerge#saveTensors} writes and {@link Fwmerge#loadTensors} reads as they are.
 * The codes are checked against the header's (through SWIG's fw_dtype) by the tests.
 */
public enum DType {
  /** Export: keep each tensor's base dtype; saveTensors: each tensor's own dtype. */
  DEFAULT(-1, 0),
  F32(0, 4),
  F16(1, 2),
  BF16(2, 2),
  F64(3, 8),
  I64(4, 8),
  I32(5, 4),
  I16(6, 2),
  I8(7, 1),
  U8(8, 1),
  /** One byte per element, 0 or 1. */
  BOOL(9, 1),
  U16(10, 2),
  U32(11, 4),
  U64(12, 8);

  final int code;
  private final int size;

  DType(int code, int size) {
    this.code = code;
    this.size = size;
  }

  /** The fw_dtype number. */
  public int code() {
    return code;
  }

  /** Bytes per element (0 for DEFAULT). */
  public int size() {
    return size;
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
