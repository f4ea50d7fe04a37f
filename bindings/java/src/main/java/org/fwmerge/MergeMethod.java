package org.fwmerge;

/**
 * Data-free merge methods (fw_merge_method; mergekit's names). See fwmerge.h for the exact rules.
 * The C enum numbers its values 0..7 in declaration order, like the ordinals here (the tests
 * check it against the header).
 */
public enum MergeMethod {
  LINEAR,
  TASK_ARITHMETIC,
  TIES,
  DARE_LINEAR,
  DARE_TIES,
  BREADCRUMBS,
  MODEL_STOCK,
  BREADCRUMBS_TIES
}
