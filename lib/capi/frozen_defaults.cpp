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
#include <cstring>

#include "capi/defaults.h"
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
static_assert(sizeof(fw_merge_params) == kMergeParams04,
              "fw_merge_params grew: return its 0.4 layout here");
static_assert(sizeof(fw_export_options) == kExportOptions04,
              "fw_export_options grew: return its 0.4 layout here");
static_assert(sizeof(fw_torchscript_objective) == kTorchscript04,
              "fw_torchscript_objective grew: return its 0.4 layout here");
static_assert(sizeof(fw_dist_params) == kDistParams04,
              "fw_dist_params grew: return its 0.4 layout here");

}  // namespace

extern "C" {

FW_API fw_params fw_default_params(void) { return fw::capi::default_params(); }

FW_API fw_merge_params fw_default_merge_params(fw_merge_method method) {
  return fw::capi::default_merge_params(method);
}

FW_API fw_export_options fw_default_export_options(void) {
  return fw::capi::default_export_options();
}

FW_API fw_torchscript_objective fw_default_torchscript_objective(void) {
  return fw::capi::default_torchscript_objective();
}

FW_API fw_dist_params fw_default_dist_params(void) { return fw::capi::default_dist_params(); }

}  // extern "C"
