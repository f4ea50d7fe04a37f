package org.fwmerge;

import java.util.List;
import org.fwmerge.internal.FwNative;
import org.fwmerge.internal.TensorFilters;
import org.fwmerge.internal.fw_device_type;
import org.fwmerge.internal.fw_dtype;
import org.fwmerge.internal.fw_granularity;
import org.fwmerge.internal.fw_lmo;
import org.fwmerge.internal.fw_params;
import org.fwmerge.internal.fw_score;
import org.fwmerge.internal.fw_soft_solver;
import org.fwmerge.internal.fw_step_rule;
import org.fwmerge.internal.fw_topk_rule;

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
  /** BOX (0.3.3): each lambda in [0, 1], the sum unbounded; the step may leave the hull. */
  public enum SoftSolver { SIMPLEX, CAPPED, ADAM, BOX }

  /** Where the solver keeps its model-sized tensors (fw_device_type). */
  /**
   * How the soft LMO picks its k vertices when the objective is a sum of terms (fw_topk_rule;
   * terms come from {@link Solver#setObjectiveTerms}, {@link Solver#setAskTellTerms} or a
   * TorchScript objective's terms). SUMMED: the k best vertices for the whole objective's gradient.
   * PER_TERM (default): terms in turn, each term's own gradient picks its best vertex not yet
   * picked, until k = max(topK, n_terms) vertices; a step then takes one gradient evaluation per
   * term at theta_t instead of one. With one term both rules are the same.
   */
  public enum TopkRule { SUMMED, PER_TERM }

  public enum Device { CPU, CUDA }

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
  private long maxEvaluations;
  private TopkRule topkRule;
  private double epsilon;
  private int threads;
  private long seed;
  private Device device;
  private int deviceIndex;
  private DType workDtype;
  private boolean hostViews;
  private boolean allowOutsideLinks;
  private boolean fillMissingFromBase;
  private List<String> includeTensors = List.of();
  private List<String> excludeTensors = List.of();

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
      maxEvaluations = n.getMax_evaluations();
      topkRule = TopkRule.values()[n.getTopk_rule().swigValue()];
      epsilon = n.getEpsilon();
      threads = n.getThreads();
      seed = n.getSeed().longValue();
      device = Device.values()[n.getDevice().swigValue()];
      deviceIndex = n.getDevice_index();
      workDtype = DType.of(n.getWork_dtype().swigValue());
      hostViews = n.getHost_views() != 0;
      allowOutsideLinks = n.getAllow_outside_links() != 0;
      fillMissingFromBase = n.getFill_missing_from_base() != 0;
    } finally {
      n.delete();
    }
  }

  /** The C struct with the filter strings it points to; close it after the call. */
  Native toNative() {
    return new Native(this);
  }

  static final class Native implements AutoCloseable {
    final fw_params params;
    private final TensorFilters filters;

    private Native(Params p) {
      params = p.fill(FwNative.fw_default_params());
      filters = tensorFilters(p.includeTensors, p.excludeTensors);
      FwNative.params_set_filters(params, filters);
    }

    @Override
    public void close() {
      params.delete();
      if (filters != null) {
        filters.delete();
      }
    }
  }

  /** The owning list of the globs, or null when both are empty (every tensor). */
  static TensorFilters tensorFilters(List<String> include, List<String> exclude) {
    if (include.isEmpty() && exclude.isEmpty()) {
      return null;
    }
    TensorFilters f = new TensorFilters();
    include.forEach(f::add_include);
    exclude.forEach(f::add_exclude);
    return f;
  }

  private fw_params fill(fw_params n) {
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
    n.setMax_evaluations(maxEvaluations);
    n.setTopk_rule(fw_topk_rule.swigToEnum(topkRule.ordinal()));
    n.setEpsilon(epsilon);
    n.setThreads(threads);
    n.setSeed(unsigned(seed));
    n.setDevice(fw_device_type.swigToEnum(device.ordinal()));
    n.setDevice_index(deviceIndex);
    n.setWork_dtype(fw_dtype.swigToEnum(workDtype.code));
    n.setHost_views(hostViews ? 1 : 0);
    n.setAllow_outside_links(allowOutsideLinks ? 1 : 0);
    n.setFill_missing_from_base(fillMissingFromBase ? 1 : 0);
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
  /** A budget of objective evaluations over the solver's life (0: none); see fwmerge.h. */
  public long maxEvaluations() { return maxEvaluations; }
  public Params maxEvaluations(long v) { maxEvaluations = v; return this; }
  /** How the soft LMO picks its vertices for a multi-term objective; see {@link TopkRule}. */
  public TopkRule topkRule() { return topkRule; }
  public Params topkRule(TopkRule v) { topkRule = v; return this; }
  public double epsilon() { return epsilon; }
  public Params epsilon(double v) { epsilon = v; return this; }
  public int threads() { return threads; }
  public Params threads(int v) { threads = v; return this; }
  /** The seed, an unsigned 64-bit value stored in a long. */
  public long seed() { return seed; }
  public Params seed(long v) { seed = v; return this; }
  /**
   * Where the solver keeps theta, the gradient and the candidates. This binding's views (objective,
   * ask/tell, current) are float32 in host memory: on CUDA set {@link #hostViews(boolean)}.
   */
  public Device device() { return device; }
  public Params device(Device v) { device = v; return this; }
  /** CUDA ordinal; 0 on the CPU. */
  public int deviceIndex() { return deviceIndex; }
  public Params deviceIndex(int v) { deviceIndex = v; return this; }
  /** F32 (default), BF16 or F16; the views of this binding need F32 (TorchScript takes any). */
  public DType workDtype() { return workDtype; }
  public Params workDtype(DType v) { workDtype = v; return this; }
  /** Views in host memory even when the solver computes on a CUDA device. */
  public boolean hostViews() { return hostViews; }
  public Params hostViews(boolean v) { hostViews = v; return this; }
  /**
   * Follow symbolic links in model and adapter folders wherever they lead
   * (fw_params.allow_outside_links). Off (default): a file that links out of the folder it was
   * named through (a Hugging Face cache snapshot may link inside its cached repository) is
   * {@link Status#INVALID_ARGUMENT}.
   */
  public boolean allowOutsideLinks() { return allowOutsideLinks; }
  public Params allowOutsideLinks(boolean v) { allowOutsideLinks = v; return this; }
  /**
   * Pool members (and start files) may lack floating-point tensors of the base, which they then
   * read from the base: a zero task vector there (fw_params.fill_missing_from_base). Off
   * (default): such a member is {@link Status#NAME_MISMATCH}.
   */
  public boolean fillMissingFromBase() { return fillMissingFromBase; }
  public Params fillMissingFromBase(boolean v) { fillMissingFromBase = v; return this; }
  /**
   * Which tensors are merged: shell-style globs (fnmatch). A tensor is merged when it matches an
   * include pattern (or the list is empty) and no exclude pattern; the others are exported as the
   * base has them. Empty (default): every tensor. Set before setBase.
   */
  public List<String> includeTensors() { return includeTensors; }
  public Params includeTensors(List<String> v) { includeTensors = List.copyOf(v); return this; }
  public Params includeTensors(String... v) { return includeTensors(List.of(v)); }
  public List<String> excludeTensors() { return excludeTensors; }
  public Params excludeTensors(List<String> v) { excludeTensors = List.copyOf(v); return this; }
  public Params excludeTensors(String... v) { return excludeTensors(List.of(v)); }
}
