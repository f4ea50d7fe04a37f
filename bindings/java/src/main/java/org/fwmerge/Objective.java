package org.fwmerge;

import java.util.List;

/**
 * The host objective: returns the loss at {@code params} and, when {@code grads} is not null,
 * writes the gradient into it (zero-filled views, one per parameter tensor, same shapes). The
 * views die when this method returns (see {@link Tensor}).
 *
 * <p>Any exception thrown here ends the step with {@link Status#CALLBACK} and the exception's text
 * as the message; the solver is left as it was before the step.
 */
@FunctionalInterface
public interface Objective {
  double evaluate(List<Tensor> params, List<Tensor> grads) throws Exception;
}
