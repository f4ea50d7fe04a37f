package org.fwmerge;

import org.fwmerge.internal.FwNative;
import org.fwmerge.internal.fw_granularity;
import org.fwmerge.internal.fw_lmo;
import org.fwmerge.internal.fw_params;
import org.fwmerge.internal.fw_score;
import org.fwmerge.internal.fw_soft_solver;
import org.fwmerge.internal.fw_step_rule;

/**
 * Solver parameters (fw_params). A new instance holds the library's defaults; setters return
 * {@code this} so they chain. See fwmerge.h for the meaning of each field.
 */
public final class Params {
  /** Linear minimization oracle. */
  public enum Lmo { HARD, SOFT }

  /** Task-wise or layer-wise (block-coordinate) FW. */
  public enum Granularity { TASKWISE, LAYERWISE }

  /** How a vertex is scored against the gradient. */
  public enum Score { INNER, COSINE }

  /** The hard LMO's step size rule. */
  public enum StepRule { LINE_SEARCH, SCHEDULE, CONSTANT }

  /** The soft LMO's inner solver. */
  public enum SoftSolver { SIMPLEX, CAPPED, ADAM }

  // The C enums number their values 0, 1, 2 in declaration order, like the ordinals here.
  private Lmo lmo;
  private Granularity granularity;
  private int blockDepth;
  private Score score;
  private int topK;
  private StepRule stepRule;
  private double stepScale;
  private int lineSearchEvals;
  private SoftSolver softSolver;
  private int softIters;
  private double softLr;
  private long softMemoryBudget;
  private int maxIters;
  private double epsilon;
  private int threads;
  private long seed;

  /** The library's defaults (fw_default_params). */
  public Params() {
    fw_params n = FwNative.fw_default_params();
    try {
      lmo = Lmo.values()[n.getLmo().swigValue()];
      granularity = Granularity.values()[n.getGranularity().swigValue()];
      blockDepth = n.getBlock_depth();
      score = Score.values()[n.getScore().swigValue()];
      topK = n.getTop_k();
      stepRule = StepRule.values()[n.getStep_rule().swigValue()];
      stepScale = n.getStep_scale();
      lineSearchEvals = n.getLine_search_evals();
      softSolver = SoftSolver.values()[n.getSoft_solver().swigValue()];
      softIters = n.getSoft_iters();
      softLr = n.getSoft_lr();
      softMemoryBudget = n.getSoft_memory_budget().longValue();
      maxIters = n.getMax_iters();
      epsilon = n.getEpsilon();
      threads = n.getThreads();
      seed = n.getSeed().longValue();
    } finally {
      n.delete();
    }
  }

  /** A C fw_params with these values; the caller deletes it. */
  fw_params toNative() {
    fw_params n = FwNative.fw_default_params();
    n.setLmo(fw_lmo.swigToEnum(lmo.ordinal()));
    n.setGranularity(fw_granularity.swigToEnum(granularity.ordinal()));
    n.setBlock_depth(blockDepth);
    n.setScore(fw_score.swigToEnum(score.ordinal()));
    n.setTop_k(topK);
    n.setStep_rule(fw_step_rule.swigToEnum(stepRule.ordinal()));
    n.setStep_scale(stepScale);
    n.setLine_search_evals(lineSearchEvals);
    n.setSoft_solver(fw_soft_solver.swigToEnum(softSolver.ordinal()));
    n.setSoft_iters(softIters);
    n.setSoft_lr(softLr);
    n.setSoft_memory_budget(unsigned(softMemoryBudget));
    n.setMax_iters(maxIters);
    n.setEpsilon(epsilon);
    n.setThreads(threads);
    n.setSeed(unsigned(seed));
    return n;
  }

  /** A uint64_t for SWIG: the long's 64 bits read as unsigned. */
  private static java.math.BigInteger unsigned(long bits) {
    return new java.math.BigInteger(Long.toUnsignedString(bits));
  }

  public Lmo lmo() { return lmo; }
  public Params lmo(Lmo v) { lmo = v; return this; }
  public Granularity granularity() { return granularity; }
  public Params granularity(Granularity v) { granularity = v; return this; }
  public int blockDepth() { return blockDepth; }
  public Params blockDepth(int v) { blockDepth = v; return this; }
  public Score score() { return score; }
  public Params score(Score v) { score = v; return this; }
  public int topK() { return topK; }
  public Params topK(int v) { topK = v; return this; }
  public StepRule stepRule() { return stepRule; }
  public Params stepRule(StepRule v) { stepRule = v; return this; }
  public double stepScale() { return stepScale; }
  public Params stepScale(double v) { stepScale = v; return this; }
  public int lineSearchEvals() { return lineSearchEvals; }
  public Params lineSearchEvals(int v) { lineSearchEvals = v; return this; }
  public SoftSolver softSolver() { return softSolver; }
  public Params softSolver(SoftSolver v) { softSolver = v; return this; }
  public int softIters() { return softIters; }
  public Params softIters(int v) { softIters = v; return this; }
  public double softLr() { return softLr; }
  public Params softLr(double v) { softLr = v; return this; }
  public long softMemoryBudget() { return softMemoryBudget; }
  public Params softMemoryBudget(long v) { softMemoryBudget = v; return this; }
  public int maxIters() { return maxIters; }
  public Params maxIters(int v) { maxIters = v; return this; }
  public double epsilon() { return epsilon; }
  public Params epsilon(double v) { epsilon = v; return this; }
  public int threads() { return threads; }
  public Params threads(int v) { threads = v; return this; }
  /** The seed, an unsigned 64-bit value stored in a long. */
  public long seed() { return seed; }
  public Params seed(long v) { seed = v; return this; }
}
