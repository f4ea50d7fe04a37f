package org.fwmerge;

/**
 * Data-free merge methods (fw_merge_method; mergekit's names). See fwmerge.h for the exact rules.
 * The C enum numbers its values 0..22 in declaration order, like the ordinals here (the tests
 * check it against the header). mergekit's name of each is its name here in lower case
 * ({@code DELLA_LINEAR}: della_linear).
 */
public enum MergeMethod {
  LINEAR,
  TASK_ARITHMETIC,
  TIES,
  DARE_LINEAR,
  DARE_TIES,
  BREADCRUMBS,
  MODEL_STOCK,
  BREADCRUMBS_TIES,
  // 0.5.0: mergekit 0.1.5's methods; their parameters are MergeParams' fields from t on.
  /** Base to the one member along the arc ({@link MergeParams#t()}). */
  SLERP,
  /** Slerp of the two members' task vectors by their weights. */
  NUSLERP,
  /** Barycentric interpolation of the task vectors on the sphere. */
  MULTISLERP,
  /** The Karcher mean of the members on the sphere. */
  KARCHER,
  /** Per entry, the one member where it is near the base ({@link MergeParams#t()}). */
  NEARSWAP,
  ARCEE_FUSION,
  /** The one member times {@link MergeParams#scale()}. */
  PASSTHROUGH,
  DELLA,
  DELLA_LINEAR,
  SCE,
  RAM,
  RAMPLUS_TL,
  // The SVD methods (not mergekit's): MergeParams' scaling is the papers' alpha.
  /** Task Singular Vectors merge (tsv_m). */
  TSV_M,
  /** Isotropic merge in the common subspace (iso_c). */
  ISO_C,
  /** Isotropic merge in the common and task-specific subspaces (iso_cts; select_topk is its
   * common_space_fraction). */
  ISO_CTS
}
