// The data-free merge methods and the per-tensor override fields, the core's own (lib/capi/
// config_map.h maps them to fw_merge_method / fw_merge_field value by value). No LibTorch: the
// defaults (merge_defaults.h) use them in the fuzz build too.
#pragma once

namespace fw {

// In fw_merge_method's order (config_map.h static_asserts each value).
enum class MergeMethod {
  Linear,
  TaskArithmetic,
  Ties,
  DareLinear,
  DareTies,
  Breadcrumbs,
  ModelStock,
  BreadcrumbsTies,
  // The geometric methods (merge/geometric.h), values fixed: the sparse family takes 14 to 19.
  Slerp = 8,
  Nuslerp = 9,
  Multislerp = 10,
  Karcher = 11,
  Nearswap = 12,
  ArceeFusion = 13
};

// In fw_merge_field's order: the value an override replaces (T: slerp's and nearswap's t).
enum class MergeField { Weight, Density, Beta, Scaling, T };

}  // namespace fw
