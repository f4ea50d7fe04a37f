// The data-free merge methods and the per-tensor override fields, the core's own (lib/capi/
// config_map.h maps them to fw_merge_method / fw_merge_field value by value). No LibTorch: the
// defaults (merge_defaults.h) use them in the fuzz build too.
#pragma once

namespace fw {

// In fw_merge_method's order (config_map.h static_asserts each value); a value never changes once
// shipped. 8-13: the geometric methods (merge/geometric.h); 14-19: passthrough and the sparse ones;
// 20-22: the SVD methods (merge/svd_merge.h).
enum class MergeMethod {
  Linear = 0,
  TaskArithmetic = 1,
  Ties = 2,
  DareLinear = 3,
  DareTies = 4,
  Breadcrumbs = 5,
  ModelStock = 6,
  BreadcrumbsTies = 7,
  Slerp = 8,
  Nuslerp = 9,
  Multislerp = 10,
  Karcher = 11,
  Nearswap = 12,
  ArceeFusion = 13,
  Passthrough = 14,
  Della = 15,
  DellaLinear = 16,
  Sce = 17,
  Ram = 18,
  RamplusTl = 19,
  TsvM = 20,
  IsoC = 21,
  IsoCts = 22
};

// In fw_merge_field's order: the value an override replaces (Epsilon: della's per member; Scale:
// passthrough's; T: slerp's and nearswap's t).
enum class MergeField { Weight, Density, Beta, Scaling, Epsilon, Scale, T };

}  // namespace fw
