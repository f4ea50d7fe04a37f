package org.fwmerge;

import java.util.List;
import org.fwmerge.internal.DoubleList;
import org.fwmerge.internal.FwNative;
import org.fwmerge.internal.MergeOverrides;
import org.fwmerge.internal.TensorFilters;
import org.fwmerge.internal.fw_dtype;
import org.fwmerge.internal.fw_merge_field;
import org.fwmerge.internal.fw_merge_method;
import org.fwmerge.internal.fw_merge_params;

/**
 * Parameters of a data-free merge (fw_merge_params). A new instance holds the library's defaults
 * for its method (fw_default_merge_params); setters return {@code this} so they chain. Arrays are
 * one entry per pool member in pool order, or null (every member uses the scalar field).
 */
public final class MergeParams {
  private final MergeMethod method;
  private double scaling;
  private double density;
  private double dropRate;
  private double beta;
  private double[] weights;
  private boolean normalize;
  private double[] densities;
  private double[] betas;
  private long seed;
  private int threads;
  private List<String> includeTensors = List.of();
  private List<String> excludeTensors = List.of();
  private boolean mergekitCompat;
  private boolean mergekitExactTies;
  private DType computeDtype;
  private boolean allowOutsideLinks;
  private boolean fillMissingFromBase;
  private List<MergeOverride> overrides = List.of();
  private double t;
  private double epsilon;
  private double[] epsilons;
  private double eps;
  private double tol;
  private double selectTopk;
  private double ramR;
  private double ramAlpha;
  private double scale;
  private int maxIter;
  private boolean rescale;
  private boolean nuslerpFlatten;
  private boolean nuslerpRowWise;

  public MergeParams(MergeMethod method) {
    this.method = method;
    fw_merge_params n = FwNative.fw_default_merge_params(fw_merge_method.swigToEnum(method.ordinal()));
    try {
      scaling = n.getScaling();
      density = n.getDensity();
      dropRate = n.getDrop_rate();
      beta = n.getBeta();
      normalize = n.getNormalize() != 0;
      seed = n.getSeed().longValue();
      threads = n.getThreads();
      mergekitCompat = n.getMergekit_compat() != 0;
      mergekitExactTies = n.getMergekit_compat() == 2;
      computeDtype = DType.of(n.getCompute_dtype().swigValue());
      allowOutsideLinks = n.getAllow_outside_links() != 0;
      fillMissingFromBase = n.getFill_missing_from_base() != 0;
      t = n.getT();
      epsilon = n.getEpsilon();
      eps = n.getEps();
      tol = n.getTol();
      selectTopk = n.getSelect_topk();
      ramR = n.getRam_r();
      ramAlpha = n.getRam_alpha();
      scale = n.getScale();
      maxIter = n.getMax_iter();
      rescale = n.getRescale() != 0;
      nuslerpFlatten = n.getNuslerp_flatten() != 0;
      nuslerpRowWise = n.getNuslerp_row_wise() != 0;
    } finally {
      n.delete();
    }
  }

  public MergeMethod method() { return method; }
  /** Lambda applied to the combined task vector. */
  public double scaling() { return scaling; }
  public MergeParams scaling(double v) { scaling = v; return this; }
  /** TIES / breadcrumbs: fraction of entries kept, in (0, 1]. */
  public double density() { return density; }
  public MergeParams density(double v) { density = v; return this; }
  /** DARE: drop probability, in [0, 1). */
  public double dropRate() { return dropRate; }
  public MergeParams dropRate(double v) { dropRate = v; return this; }
  /** Breadcrumbs: fraction of the largest magnitudes dropped, in [0, 1). */
  public double beta() { return beta; }
  public MergeParams beta(double v) { beta = v; return this; }
  /** One weight per pool member, or null (all 1). */
  public double[] weights() { return weights == null ? null : weights.clone(); }
  public MergeParams weights(double... v) { weights = v == null ? null : v.clone(); return this; }
  public boolean normalize() { return normalize; }
  public MergeParams normalize(boolean v) { normalize = v; return this; }
  /** Per-member densities (TIES, breadcrumbs; DARE: keep probabilities), or null. merge only. */
  public double[] densities() { return densities == null ? null : densities.clone(); }
  public MergeParams densities(double... v) { densities = v == null ? null : v.clone(); return this; }
  /** Per-member breadcrumbs betas, or null. merge only. */
  public double[] betas() { return betas == null ? null : betas.clone(); }
  public MergeParams betas(double... v) { betas = v == null ? null : v.clone(); return this; }
  /** DARE's seed, an unsigned 64-bit value stored in a long. */
  public long seed() { return seed; }
  public MergeParams seed(long v) { seed = v; return this; }
  /** Intra-op threads during the call; 0 = leave the current setting. */
  public int threads() { return threads; }
  public MergeParams threads(int v) { threads = v; return this; }
  /**
   * Which tensors are merged (globs, as {@link Params#includeTensors}): the others are written as
   * the base has them (merge) or kept at theta (merge functions). Empty (default): every tensor.
   */
  public List<String> includeTensors() { return includeTensors; }
  public MergeParams includeTensors(List<String> v) { includeTensors = List.copyOf(v); return this; }
  public MergeParams includeTensors(String... v) { return includeTensors(List.of(v)); }
  public List<String> excludeTensors() { return excludeTensors; }
  public MergeParams excludeTensors(List<String> v) { excludeTensors = List.copyOf(v); return this; }
  public MergeParams excludeTensors(String... v) { return excludeTensors(List.of(v)); }
  /** mergekit 0.1.5's arithmetic instead of fwmerge's (merge only; not for MODEL_STOCK). */
  public boolean mergekitCompat() { return mergekitCompat; }
  public MergeParams mergekitCompat(boolean v) { mergekitCompat = v; return this; }
  /**
   * With mergekitCompat: also keep the equal magnitudes at TIES / breadcrumbs thresholds that
   * mergekit keeps (mergekit_compat 2: bit-identical to mergekit, each split tensor sorted).
   */
  public boolean mergekitExactTies() { return mergekitExactTies; }
  public MergeParams mergekitExactTies(boolean v) { mergekitExactTies = v; return this; }
  /** With mergekitCompat: F32, F16 or BF16; DEFAULT (default): each tensor's own dtype. */
  public DType computeDtype() { return computeDtype; }
  public MergeParams computeDtype(DType v) { computeDtype = v; return this; }
  /** As {@link Params#allowOutsideLinks(boolean)}, for merge's base and pool folders. */
  public boolean allowOutsideLinks() { return allowOutsideLinks; }
  public MergeParams allowOutsideLinks(boolean v) { allowOutsideLinks = v; return this; }
  /** As {@link Params#fillMissingFromBase(boolean)}, for merge's members. */
  public boolean fillMissingFromBase() { return fillMissingFromBase; }
  public MergeParams fillMissingFromBase(boolean v) { fillMissingFromBase = v; return this; }
  /** Per-tensor values (merge and setStartMerge), checked by the library; empty: none. */
  public List<MergeOverride> overrides() { return overrides; }
  public MergeParams overrides(List<MergeOverride> v) { overrides = List.copyOf(v); return this; }
  public MergeParams overrides(MergeOverride... v) { return overrides(List.of(v)); }

  // The parameters of the 0.5.0 methods (fw_merge_params v8, mergekit's names and defaults; other
  // methods ignore them). See fwmerge.h for each range.
  /** SLERP: the point on the arc, base 0 to member 1; NEARSWAP: the distance scale. */
  public double t() { return t; }
  public MergeParams t(double v) { t = v; return this; }
  /** DELLA(_LINEAR): keep probabilities density +- epsilon; RAM(PLUS_TL): change threshold. */
  public double epsilon() { return epsilon; }
  public MergeParams epsilon(double v) { epsilon = v; return this; }
  /** Per-member epsilons (DELLA, DELLA_LINEAR), or null (epsilon for all). merge only. */
  public double[] epsilons() { return epsilons == null ? null : epsilons.clone(); }
  public MergeParams epsilons(double... v) { epsilons = v == null ? null : v.clone(); return this; }
  /** MULTISLERP: added to the norms it divides by, > 0. */
  public double eps() { return eps; }
  public MergeParams eps(double v) { eps = v; return this; }
  /** KARCHER: convergence threshold, >= 0. */
  public double tol() { return tol; }
  public MergeParams tol(double v) { tol = v; return this; }
  /** SCE: fraction of the varying entries kept, in [0, 1]. */
  public double selectTopk() { return selectTopk; }
  public MergeParams selectTopk(double v) { selectTopk = v; return this; }
  /** RAMPLUS_TL: r. */
  public double ramR() { return ramR; }
  public MergeParams ramR(double v) { ramR = v; return this; }
  /** RAMPLUS_TL: alpha, >= 0. */
  public double ramAlpha() { return ramAlpha; }
  public MergeParams ramAlpha(double v) { ramAlpha = v; return this; }
  /** PASSTHROUGH: the member's multiplier. */
  public double scale() { return scale; }
  public MergeParams scale(double v) { scale = v; return this; }
  /** KARCHER: iterations, >= 0. */
  public int maxIter() { return maxIter; }
  public MergeParams maxIter(int v) { maxIter = v; return this; }
  /** DELLA(_LINEAR): survivors divided by their keep probability. */
  public boolean rescale() { return rescale; }
  public MergeParams rescale(boolean v) { rescale = v; return this; }
  /** NUSLERP: one angle per tensor. */
  public boolean nuslerpFlatten() { return nuslerpFlatten; }
  public MergeParams nuslerpFlatten(boolean v) { nuslerpFlatten = v; return this; }
  /** NUSLERP, not flattened: per column (dim 0) instead of per row. */
  public boolean nuslerpRowWise() { return nuslerpRowWise; }
  public MergeParams nuslerpRowWise(boolean v) { nuslerpRowWise = v; return this; }

  /** The per-member arrays must match the pool: the library reads poolSize entries of each. */
  void checkArrays(long poolSize) {
    check("weights", weights, poolSize);
    check("densities", densities, poolSize);
    check("betas", betas, poolSize);
    check("epsilons", epsilons, poolSize);
  }

  private static void check(String what, double[] values, long poolSize) {
    if (values != null && values.length != poolSize) {
      throw new FwException(Status.INVALID_ARGUMENT,
          "fwmerge: " + values.length + " " + what + " for a pool of " + poolSize);
    }
  }

  /** The C struct with its arrays; close it after the call. */
  Native toNative() {
    return new Native(this);
  }

  static final class Native implements AutoCloseable {
    final fw_merge_params params;
    private final DoubleList weights;
    private final DoubleList densities;
    private final DoubleList betas;
    private final DoubleList epsilons;
    private final TensorFilters filters;
    private final MergeOverrides overrides;

    private Native(MergeParams p) {
      params = FwNative.fw_default_merge_params(fw_merge_method.swigToEnum(p.method.ordinal()));
      params.setScaling(p.scaling);
      params.setDensity(p.density);
      params.setDrop_rate(p.dropRate);
      params.setBeta(p.beta);
      params.setNormalize(p.normalize ? 1 : 0);
      params.setSeed(new java.math.BigInteger(Long.toUnsignedString(p.seed)));
      params.setThreads(p.threads);
      params.setMergekit_compat(p.mergekitCompat ? (p.mergekitExactTies ? 2 : 1) : 0);
      params.setCompute_dtype(fw_dtype.swigToEnum(p.computeDtype.code));
      params.setAllow_outside_links(p.allowOutsideLinks ? 1 : 0);
      params.setFill_missing_from_base(p.fillMissingFromBase ? 1 : 0);
      params.setT(p.t);
      params.setEpsilon(p.epsilon);
      params.setEps(p.eps);
      params.setTol(p.tol);
      params.setSelect_topk(p.selectTopk);
      params.setRam_r(p.ramR);
      params.setRam_alpha(p.ramAlpha);
      params.setScale(p.scale);
      params.setMax_iter(p.maxIter);
      params.setRescale(p.rescale ? 1 : 0);
      params.setNuslerp_flatten(p.nuslerpFlatten ? 1 : 0);
      params.setNuslerp_row_wise(p.nuslerpRowWise ? 1 : 0);
      weights = list(p.weights);
      densities = list(p.densities);
      betas = list(p.betas);
      FwNative.merge_params_set_arrays(params, weights, densities, betas);
      epsilons = list(p.epsilons);
      FwNative.merge_params_set_epsilons(params, epsilons);
      filters = Params.tensorFilters(p.includeTensors, p.excludeTensors);
      FwNative.merge_params_set_filters(params, filters);
      overrides = p.overrides.isEmpty() ? null : new MergeOverrides();
      for (MergeOverride o : p.overrides) {
        overrides.add(o.tensors() == null ? "" : o.tensors(), o.member(),
            fw_merge_field.swigToEnum(o.field().ordinal()), o.value());
      }
      FwNative.merge_params_set_overrides(params, overrides);
    }

    private static DoubleList list(double[] values) {
      if (values == null) {
        return null;
      }
      DoubleList l = new DoubleList();
      for (double v : values) {
        l.add(v);
      }
      return l;
    }

    @Override
    public void close() {
      params.delete();
      for (DoubleList l : new DoubleList[] {weights, densities, betas, epsilons}) {
        if (l != null) {
          l.delete();
        }
      }
      if (filters != null) {
        filters.delete();
      }
      if (overrides != null) {
        overrides.delete();
      }
    }
  }
}
