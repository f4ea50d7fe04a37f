package org.fwmerge;

import java.util.List;

/**
 * A multi-term host objective l = l_0 + ... + l_{n-1} (fw_objective_terms_fn), installed with
 * {@link Solver#setObjectiveTerms}: evaluates {@code term} alone (0 <= term < n), or the whole
 * objective when {@code term} is {@link #ALL_TERMS}, otherwise as an {@link Objective} (same
 * views, same failure rules: any exception ends the step with {@link Status#CALLBACK}). The terms
 * must add up to the whole objective; with {@link Params.TopkRule#PER_TERM} each term's gradient
 * picks its own vertex of the soft LMO.
 */
@FunctionalInterface
public interface TermsObjective {
  /** The term that stands for the whole objective (FW_ALL_TERMS). */
  int ALL_TERMS = org.fwmerge.internal.FwNative.FW_ALL_TERMS;

  double evaluate(int term, List<Tensor> params, List<Tensor> grads) throws Exception;
}
