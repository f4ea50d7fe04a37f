package org.fwmerge;

import org.fwmerge.internal.fw_tensor;

/**
 * The Java side of the SWIG director fwswig::Objective. The library calls evaluate() through the
 * C++ trampoline on the thread running step()/run(). No throwable may escape into native code, so
 * every one becomes fail(message); the trampoline then reports FW_ERR_CALLBACK.
 */
final class ObjectiveBridge extends org.fwmerge.internal.Objective implements ObjectiveDirector {
  private final Objective objective;

  ObjectiveBridge(Objective objective) {
    this.objective = objective;
  }

  @Override
  public double evaluate(fw_tensor params, fw_tensor grads, long n) {
    try {
      return objective.evaluate(Tensor.views(params, n, false), Tensor.views(grads, n, true));
    } catch (Throwable t) { // Errors too: the JVM must get control back from the native step
      fail(t.toString());
      return 0;
    }
  }

  /** The same for the director fwswig::TermsObjective (a multi-term objective). */
  static final class Terms extends org.fwmerge.internal.TermsObjective implements ObjectiveDirector {
    private final TermsObjective objective;

    Terms(TermsObjective objective) {
      this.objective = objective;
    }

    @Override
    public double evaluate(int term, fw_tensor params, fw_tensor grads, long n) {
      try {
        return objective.evaluate(
            term, Tensor.views(params, n, false), Tensor.views(grads, n, true));
      } catch (Throwable t) {
        fail(t.toString());
        return 0;
      }
    }
  }
}
