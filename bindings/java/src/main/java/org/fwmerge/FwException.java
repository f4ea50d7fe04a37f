package org.fwmerge;

import org.fwmerge.internal.FwNative;
import org.fwmerge.internal.fw_status;

/** A failed library call: its {@link Status} and the library's message (fw_last_error). */
public class FwException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final Status status;

  public FwException(Status status, String message) {
    super(status.libraryName() + ": " + message);
    this.status = status;
  }

  public Status status() {
    return status;
  }

  /** Throws for a non-OK status; must run on the thread of the call that returned it. */
  static void check(fw_status status) {
    if (status.swigValue() != 0) {
      throw new FwException(Status.of(status.swigValue()), FwNative.fw_last_error());
    }
  }
}
