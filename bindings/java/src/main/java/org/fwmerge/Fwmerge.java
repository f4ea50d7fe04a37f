package org.fwmerge;

import org.fwmerge.internal.FwNative;

/** Library-wide queries. */
public final class Fwmerge {
  private Fwmerge() {}

  /** The native library's version, e.g. "0.3.1". */
  public static String version() {
    return FwNative.fw_version();
  }
}
