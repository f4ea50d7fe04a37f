// The by-value fw_default_X() that the library exported up to 0.4, kept for the programs built
// against those headers: a by-value return is sized by the caller's header, so each returns its
// struct's 0.4 layout forever (docs/abi.md). From 0.5.0 the header's fw_default_X() are inlines
// over fw_X_init, which fills any shipped size (init_api.cpp); this file alone defines
// FWMERGE_FROZEN_DEFAULTS, which hides those inlines, so that it can define the exported symbols.
//
// While a struct still has its 0.4 layout the function returns the struct itself (the
// static_asserts hold that). When a field is appended to it, the function returns a copy of the 0.4
// layout instead (a struct of the same fields, the struct's prefix), and tests/abi/check.py's
// FROZEN list names that copy.
#define FWMERGE_FROZEN_DEFAULTS
#include <cstddef>
#include <cstring>

#include "capi/defaults.h"
#include "capi/enums.h"
#include "capi/versioned.h"
#include "fwmerge.h"

namespace {

// The size each struct had in 0.4.0 (the last entry of its ladder then).
constexpr uint32_t kParams04 = FW_SIZE_THROUGH(fw_params, fill_missing_from_base);
constexpr uint32_t kMergeParams04 = FW_SIZE_THROUGH(fw_merge_params, fill_missing_from_base);
constexpr uint32_t kExportOptions04 = FW_SIZE_THROUGH(fw_export_options, rank_shards);
constexpr uint32_t kTorchscript04 = FW_SIZE_THROUGH(fw_torchscript_objective, n_terms);
constexpr uint32_t kDistParams04 = FW_SIZE_THROUGH(fw_dist_params, secret);

static_assert(sizeof(fw_params) == kParams04, "fw_params grew: return its 0.4 layout here");
static_assert(sizeof(fw_export_options) == kExportOptions04,
              "fw_export_options grew: return its 0.4 layout here");
static_assert(sizeof(fw_torchscript_objective) == kTorchscript04,
              "fw_torchscript_objective grew: return its 0.4 layout here");
static_assert(sizeof(fw_dist_params) == kDistParams04,
              "fw_dist_params grew: return its 0.4 layout here");

// fw_merge_params as 0.4 had it (v7; v8 appended the 0.5.0 methods' fields): what the exported
// fw_default_merge_params returns. Field for field the struct's prefix (checked below); like the
// struct (over 16 bytes) it is returned through a buffer the caller provides, of this size.
struct fw_merge_params_v7 {
  uint32_t struct_size;
  fw_merge_method method;
  double scaling;
  double density;
  double drop_rate;
  double beta;
  const double *weights;
  int32_t normalize;
  uint64_t seed;
  int32_t threads;
  fw_abort_fn abort;
  void *abort_user_data;
  const double *densities;
  const double *betas;
  const char *const *include_tensors;
  size_t n_include_tensors;
  const char *const *exclude_tensors;
  size_t n_exclude_tensors;
  int32_t mergekit_compat;
  fw_dtype compute_dtype;
  const fw_merge_override *overrides;
  size_t n_overrides;
  int32_t allow_outside_links;
  int32_t reserved_v7;
  int32_t fill_missing_from_base;
};

#define FW_SAME_OFFSET(field)                                                            \
  static_assert(offsetof(fw_merge_params_v7, field) == offsetof(fw_merge_params, field), \
                "fw_merge_params_v7." #field " is not where fw_merge_params has it")
FW_SAME_OFFSET(struct_size);
FW_SAME_OFFSET(method);
FW_SAME_OFFSET(scaling);
FW_SAME_OFFSET(density);
FW_SAME_OFFSET(drop_rate);
FW_SAME_OFFSET(beta);
FW_SAME_OFFSET(weights);
FW_SAME_OFFSET(normalize);
FW_SAME_OFFSET(seed);
FW_SAME_OFFSET(threads);
FW_SAME_OFFSET(abort);
FW_SAME_OFFSET(abort_user_data);
FW_SAME_OFFSET(densities);
FW_SAME_OFFSET(betas);
FW_SAME_OFFSET(include_tensors);
FW_SAME_OFFSET(n_include_tensors);
FW_SAME_OFFSET(exclude_tensors);
FW_SAME_OFFSET(n_exclude_tensors);
FW_SAME_OFFSET(mergekit_compat);
FW_SAME_OFFSET(compute_dtype);
FW_SAME_OFFSET(overrides);
FW_SAME_OFFSET(n_overrides);
FW_SAME_OFFSET(allow_outside_links);
FW_SAME_OFFSET(reserved_v7);
FW_SAME_OFFSET(fill_missing_from_base);
static_assert(sizeof(fw_merge_params_v7) == kMergeParams04, "fw_merge_params_v7 is not v7's size");
static_assert(alignof(fw_merge_params_v7) == alignof(fw_merge_params), "alignment");

}  // namespace

extern "C" {

FW_API fw_params fw_default_params(void) { return fw::capi::default_params(); }

FW_API fw_merge_params_v7 fw_default_merge_params(fw_merge_method method) {
  const fw_merge_params full = fw::capi::default_merge_params(fw::capi::raw_enum(&method));
  fw_merge_params_v7 v7;
  std::memcpy(&v7, &full, sizeof v7);
  v7.struct_size = sizeof v7;
  return v7;
}

FW_API fw_export_options fw_default_export_options(void) {
  return fw::capi::default_export_options();
}

FW_API fw_torchscript_objective fw_default_torchscript_objective(void) {
  return fw::capi::default_torchscript_objective();
}

FW_API fw_dist_params fw_default_dist_params(void) { return fw::capi::default_dist_params(); }

}  // extern "C"
