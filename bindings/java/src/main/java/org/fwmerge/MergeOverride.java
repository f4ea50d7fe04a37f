package org.fwmerge;

/**
 * One per-tensor merge value (fw_merge_override): for the tensors whose names match the glob
 * {@code tensors} (null or "*": every tensor), {@code field} of pool member {@code member} (-1:
 * every member) is {@code value} instead of what the {@link MergeParams} fields give. The first
 * matching override wins.
 */
public record MergeOverride(String tensors, long member, Field field, double value) {
  /** The value an override sets (fw_merge_field; the C values follow the declaration order). */
  public enum Field {
    /** The member's weight. */
    WEIGHT,
    /** The member's density (DARE: keep probability), in (0, 1]. */
    DENSITY,
    /** The member's breadcrumbs beta, in [0, 1). */
    BETA,
    /** The method's scaling; member must be -1. */
    SCALING,
    /** 0.5.0: the member's epsilon (DELLA; RAM: member must be -1). */
    EPSILON,
    /** 0.5.0: PASSTHROUGH's scale; member -1 or 0. */
    SCALE,
    /** 0.5.0: SLERP's / NEARSWAP's t; member must be -1. */
    T
  }
}
