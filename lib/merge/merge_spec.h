// A validated data-free merge recipe (the C++ side of fw_merge_params).
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "fwmerge.h"
#include "io/tensor_filter.h"
#include "merge/merge_defaults.h"
#include "util/poll.h"

namespace fw {

// One fw_merge_override: `field` of `member` (-1: all) for the tensors matching the glob.
struct MergeOverride {
  std::string tensors;  // fnmatch glob; "*" for every tensor
  int64_t member = -1;
  fw_merge_field field = FW_FIELD_WEIGHT;
  double value = 0.0;
};

struct MergeSpec {
  fw_merge_method method = FW_MERGE_LINEAR;
  double scaling = 1.0;
  double density = 1.0;
  double drop_rate = 0.0;
  double beta = 0.0;
  std::vector<double> weights;  // empty: all 1
  // Per member (fw_merge_params.densities / betas); empty: the scalar for every member.
  std::vector<double> densities, betas;
  // DARE, set by for_tensor only: per-member drop rates copied from drop_rate_of() and then
  // overridden, so that the members without an override keep their rates bit for bit.
  std::vector<double> drop_rates;
  // Per-tensor values (fw_merge_params.overrides), in the caller's order; for_tensor resolves them.
  std::vector<MergeOverride> overrides;
  TensorFilter filter;  // fw_merge only: the tensors merged; the others are the base's
  // fw_merge only: mergekit's arithmetic in compute_dtype (fw_merge_params.mergekit_compat).
  bool mergekit = false;
  bool mergekit_tie_order = false;  // mergekit_compat 2: also its order among equal magnitudes
  fw_dtype compute_dtype = FW_DTYPE_DEFAULT;
  bool normalize = true;
  uint64_t seed = 0;
  int threads = 0;
  Poll stop;  // polled before each tensor and member read (fw_merge_params.abort, interrupts)
  bool allow_outside_links = false;  // fw_merge_params.allow_outside_links (folder_links.h)
  bool fill_missing_from_base =
      false;  // fw_merge_params.fill_missing_from_base (io/filled_checkpoint.h)

  double weight(size_t i) const { return weights.empty() ? 1.0 : weights[i]; }
  double density_of(size_t i) const { return densities.empty() ? density : densities[i]; }
  // DARE: per-member densities are keep probabilities (mergekit's meaning).
  double drop_rate_of(size_t i) const {
    if (!drop_rates.empty()) return drop_rates[i];
    return densities.empty() ? drop_rate : 1.0 - densities[i];
  }
  double beta_of(size_t i) const { return betas.empty() ? beta : betas[i]; }

  // The spec that applies to tensor `name` of a merge of n members: for each field and member the
  // first matching override's value, else this spec's; no overrides left. Without overrides, a
  // copy. Status::InvalidArgument when the resolved weights of a normalized linear-family method
  // sum to 0 for this tensor.
  MergeSpec for_tensor(const std::string &name, size_t n) const;
};

// Stable lower-case name ("ties", "dare_linear", ...); "unknown" for values outside the enum.
const char *merge_method_name(fw_merge_method method);
bool is_known_method(fw_merge_method method);

bool is_dare(fw_merge_method method);  // DARE_LINEAR or DARE_TIES

// Whether the method's result may leave the convex hull of the pool.
bool method_leaves_hull(fw_merge_method method);

// Reads a caller's struct (only the fields its struct_size covers; the rest keep the method's
// defaults) and validates it for a pool of n members (n == 0: weights are not allowed, as in FW
// merge functions). Throws Status::InvalidArgument naming the field.
MergeSpec spec_from_params(const fw_merge_params &params, size_t n);

// The recipe's parameters as JSON (method, scaling, density, drop_rate, beta, weights, normalize,
// seed; the generator named for DARE).
nlohmann::json spec_json(const MergeSpec &spec);

}  // namespace fw
