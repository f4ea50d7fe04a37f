// A validated data-free merge recipe: what lib/capi/read_merge_params.cpp reads fw_merge_params
// into (each field checked there, once).
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "io/dtype.h"
#include "io/tensor_filter.h"
#include "merge/merge_method.h"
#include "util/poll.h"

namespace fw {

// One fw_merge_override: `field` of `member` (-1: all) for the tensors matching the glob.
struct MergeOverride {
  std::string tensors;  // fnmatch glob; "*" for every tensor
  int64_t member = -1;
  MergeField field = MergeField::Weight;
  double value = 0.0;
};

struct MergeSpec {
  MergeMethod method = MergeMethod::Linear;
  double scaling = 1.0;
  double density = 1.0;
  double drop_rate = 0.0;
  double beta = 0.0;
  std::vector<double> weights;  // empty: all 1
  // The geometric methods' parameters (merge/geometric.h; mergekit 0.1.5's names and meanings).
  // slerp: the interpolation factor from the base (0) to the other member (1), any value finite in
  // fp32 (beyond [0, 1] it extrapolates along the arc, as mergekit lets it); nearswap: the distance
  // below which an entry takes the member's value, any value finite in fp32 (<= 0: the base).
  // Per tensor: MergeField::T. multislerp's normalize_weights is `normalize` below.
  double t = 0.5;
  double eps = 1e-8;              // multislerp: added to the norms it divides by; finite, > 0
  bool nuslerp_flatten = true;    // nuslerp: one angle for the whole tensor
  bool nuslerp_row_wise = false;  // nuslerp, unflattened: per column (dim 0) instead of per row
  int64_t max_iter = 10;          // karcher: Riemannian steps, in [0, 1000000]
  double tol = 1e-5;              // karcher: convergence and zero-norm threshold; finite, >= 0
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
  // F32, F16 or BF16; nullopt (fw_merge_params.compute_dtype FW_DTYPE_DEFAULT): each tensor's own
  // dtype.
  std::optional<DType> compute_dtype;
  bool normalize = true;  // also multislerp's normalize_weights (its default true)
  // DELLA (della, della_linear): the half-width of the keep probabilities around each member's
  // density (mergekit's per-model `epsilon`, default 0.15); RAM (ram, ramplus_tl): the magnitude
  // above which a task-vector entry counts as a contribution (mergekit's shared `epsilon`, default
  // 1e-5; merge_defaults gives each method its own). Per member (DELLA only; RAM's is shared):
  // empty = `epsilon` for every member.
  double epsilon = 0.15;
  std::vector<double> epsilons;
  // DELLA: rescale each member's pruned task vector to its L1 norm (mergekit's `rescale`).
  bool rescale = true;
  // SCE: the fraction of the entries with nonzero variance across members that are kept (mergekit's
  // `select_topk`), in [0, 1]; 1 keeps everything. ISO_CTS: the common subspace's fraction of each
  // matrix's rank (the authors' `common_space_fraction`, default 0.8), in [0, 1].
  double select_topk = 1.0;
  // RAMPLUS_TL: lambda_i = 1 + ram_r * clamp(rho_i, 0, ram_alpha) (mergekit's `r` and `alpha`).
  double ram_r = 0.1;
  double ram_alpha = 0.2;
  // PASSTHROUGH: the multiplier of the single member's tensors (mergekit's `scale`; 1 = the
  // member unchanged).
  double scale = 1.0;
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
  double epsilon_of(size_t i) const { return epsilons.empty() ? epsilon : epsilons[i]; }

  // The spec that applies to tensor `name` of a merge of n members: for each field and member the
  // first matching override's value, else this spec's; no overrides left. Without overrides, a
  // copy. Status::InvalidArgument when the resolved weights of a normalized linear-family method
  // sum to 0 for this tensor.
  MergeSpec for_tensor(const std::string &name, size_t n) const;
};

// Stable lower-case name ("ties", "dare_linear", ...).
const char *merge_method_name(MergeMethod method);
// "weight", "density", "beta", "scaling", "epsilon", "scale", "t".
const char *merge_field_name(MergeField field);

bool is_dare(MergeMethod method);       // DARE_LINEAR or DARE_TIES
bool is_della(MergeMethod method);      // DELLA or DELLA_LINEAR
bool is_ram(MergeMethod method);        // RAM or RAMPLUS_TL
bool is_svd_merge(MergeMethod method);  // TSV_M, ISO_C or ISO_CTS (merge/svd_merge.h)

// The checks of the parameters the methods after breadcrumbs_ties take (della's densities and
// epsilons, sce's select_topk, ram's epsilon, r and alpha, passthrough's single member and scale,
// the SVD methods' pool of at least one member without weights and iso_cts's fraction)
// for a pool of n members, as mergekit makes them (or refuses what mergekit would crash on).
// Status::InvalidArgument naming the problem. StreamingMerge and merge_tensor call it for the
// spec of each tensor (after overrides).
void check_method_params(const MergeSpec &spec, size_t n);

// Whether the method's result may leave the convex hull of the pool.
bool method_leaves_hull(MergeMethod method);

// Whether normalize divides by the sum of all weights (the linear family). TIES-style methods
// normalize per entry over agreeing members, so only there must the global sum be nonzero.
bool divides_by_weight_sum(MergeMethod method);

// The checks both the reader of fw_merge_params (lib/capi) and for_tensor make. The merges compute
// in fp32 (or narrower): a weight or scaling beyond fp32's range is infinite there, and so is
// every merged value it touches. Status::InvalidArgument naming `what`.
void require_fp32(double value, const std::string &what);
void require_weight_sum_fits(const std::vector<double> &weights, const std::string &what);

// The recipe's parameters as JSON (method, scaling, density, drop_rate, beta, weights, normalize,
// seed; the generator named for DARE).
nlohmann::json spec_json(const MergeSpec &spec);

}  // namespace fw
