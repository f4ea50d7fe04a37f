package org.fwmerge;

import org.fwmerge.internal.FwNative;
import org.fwmerge.internal.fw_status;

/**
 * Library status codes (fw_status); the numbers are part of the library's ABI, and the tests check
 * them against the header's (through SWIG's fw_status).
 */
public enum Status {
  OK(0),
  INVALID_ARGUMENT(-1),
  IO(-2),
  FORMAT(-3),
  SHAPE_MISMATCH(-4),
  DTYPE_MISMATCH(-5),
  NAME_MISMATCH(-6),
  CALLBACK(-7),
  NON_FINITE(-8),
  OUT_OF_MEMORY(-9),
  ABORTED(-10),
  STATE(-11),
  UNSUPPORTED(-12),
  INTERNAL(-13);

  private final int code;

  Status(int code) {
    this.code = code;
  }

  /** The fw_status number. */
  public int code() {
    return code;
  }

  /** The library's stable name, e.g. "FW_ERR_FORMAT" (fw_status_name). */
  public String libraryName() {
    return FwNative.fw_status_name(fw_status.swigToEnum(code));
  }

  /** The Status of a code; unknown codes map to INTERNAL. */
  public static Status of(int code) {
    for (Status s : values()) {
      if (s.code == code) {
        return s;
      }
    }
    return INTERNAL;
  }
}
