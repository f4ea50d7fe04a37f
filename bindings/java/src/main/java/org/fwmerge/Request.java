package org.fwmerge;

import java.util.List;

/**
 * What an ask/tell step asks for (fw_request). The views are valid until {@code tell} or {@code
 * cancelStep}; {@link #grads} is null when only the loss is wanted.
 */
public final class Request {
  /** The step has ended: call {@code finishStep}. */
  public final boolean done;
  public final boolean needGradient;
  public final List<Tensor> params;
  public final List<Tensor> grads;
  /**
   * What to evaluate: {@link TermsObjective#ALL_TERMS} (the whole objective; always, unless the
   * host declared terms with {@code setAskTellTerms}) or one term alone.
   */
  public final int term;

  Request(boolean done, boolean needGradient, List<Tensor> params, List<Tensor> grads, int term) {
    this.done = done;
    this.needGradient = needGradient;
    this.params = params;
    this.grads = grads;
    this.term = term;
  }
}
