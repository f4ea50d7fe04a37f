// The geometric data-free methods of mergekit 0.1.5 (mergekit/merge_methods/slerp.py,
// nearswap.py, multislerp.py, nuslerp.py, karcher.py): spherical interpolation between the base
// and one member (slerp), per-entry swapping of near values (nearswap), barycentric interpolation
// on the sphere (multislerp), slerp of two task vectors (nuslerp) and the Karcher mean on the
// sphere (karcher; of the pool members only: mergekit's karcher has no base, and a mergekit-yaml
// run with a base_model counts it as one more input, so such a recipe lists the base in the pool
// here). multislerp and nuslerp are mergekit's with a base (on task vectors). Arithmetic in fp32 as
// mergekit's on an fp32 recipe; whole-tensor statistics (norms, dot products) in double. Under
// --semantics mergekit on a bf16 / f16 recipe, nearswap, multislerp, nuslerp and karcher compute in
// that dtype as mergekit does (geometric_in_recipe_dtype and the *_reduced.h classes).
//
// Streaming: every one of them needs at most the Gram matrix of its vectors, per tensor or per row,
// and then combines each entry from the same entry of its inputs with per-row coefficients. So a
// streamed tensor takes one statistics pass over the chunks (Gram, accumulated in index order in
// double: the same bits chunked or whole) and one combine pass; memory is O(n^2 x rows) doubles,
// whatever the tensor size. karcher's iterations move its mean inside the span of the members'
// unit vectors, so they run on the Gram matrix too (no tensor is held). nearswap is elementwise.
//
// arcee_fusion (arcee_fusion.py) keeps the member's entries whose importance |m - b| KL_row (KL of
// the row softmaxes) reaches median + 1.5 IQR of all the tensor's importance scores: per-row
// statistics take three passes, and the quantiles need every score at once, so it holds one fp32
// tensor (the scores) per merged tensor, never the members' tensors or more than one tensor.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "merge/karcher_reduced.h"
#include "merge/merge_spec.h"
#include "merge/multislerp_reduced.h"
#include "merge/nuslerp_reduced.h"

namespace fw {

bool is_geometric(MergeMethod method);

// Whether the method reads the members themselves (slerp, nearswap, karcher; multislerp of one
// member) rather than their task vectors theta_i - theta_0 (multislerp, nuslerp).
bool geometric_reads_members(const MergeSpec &spec, size_t n);

// Whether --semantics mergekit computes the method in the recipe's dtype, as mergekit 0.1.5 does
// (its merge functions apply torch ops to the tensors as loaded, e.g. bf16): nearswap, multislerp
// (merge/multislerp_reduced.h), nuslerp (merge/nuslerp_reduced.h), karcher
// (merge/karcher_reduced.h). The others
// compute in fp32 in either mode.
bool geometric_in_recipe_dtype(MergeMethod method);

// Status::InvalidArgument naming the problem: the member count (slerp and nearswap: exactly 1;
// nuslerp: exactly 2; multislerp and karcher: at least 1), weights given to a method that takes
// none, a weight count other than n, a weight not finite in fp32, multislerp's weights summing to 0
// under normalize, t not finite in fp32, eps not finite and > 0, tol not finite and >= 0,
// max_iter outside [0, 1e6]. Only the parameters the method uses are checked.
void check_geometric(const MergeSpec &spec, size_t n);

// One tensor of a geometric merge, fed in chunks: for each pass p < passes(), accumulate(p, ...)
// every chunk in order; then finish(), then combine() every chunk (any order). `inputs`: fp32
// chunks, flat and contiguous, of the members or of their task vectors (geometric_reads_members);
// `base`: the base's same entries.
class GeometricMerge {
 public:
  // shape: the tensor's (nuslerp's rows); name: for messages; compute: the dtype whose rounding
  // each operation takes (mergekit mode for geometric_in_recipe_dtype methods: bf16 or f16; fp32
  // otherwise). Inputs are fp32 chunks either way (holding values `compute` represents).
  GeometricMerge(const MergeSpec &spec, const std::vector<int64_t> &shape, size_t n,
                 std::string name, at::ScalarType compute = at::kFloat);

  // Statistics passes over the chunks: 0 (nearswap, one member), 1 (the Gram methods), 4
  // (arcee_fusion: per-row maxima, softmax sums, KL divergences, then the importance scores).
  int passes() const;
  void accumulate(int pass, int64_t begin, const at::Tensor &base,
                  const std::vector<at::Tensor> &inputs);
  // Status::InvalidArgument where mergekit raises (multislerp of more than 2 task vectors whose
  // weighted mean of unit vectors is 0).
  void finish();
  // The merged fp32 entries [begin, begin + base.numel()).
  at::Tensor combine(int64_t begin, const at::Tensor &base,
                     const std::vector<at::Tensor> &inputs) const;

 private:
  int64_t key_of(int64_t e) const;  // the row (statistics key) of flat entry e
  void accumulate_fusion(int pass, int64_t begin, const at::Tensor &base,
                         const std::vector<at::Tensor> &inputs);
  static float softmax_entry(float x, float max, double sum);
  float fusion_importance(float b, float m, size_t row) const;
  size_t vectors() const;        // vectors in the Gram matrix
  float rounded(float x) const;  // x rounded to compute_ (kept as fp32)

  MergeSpec spec_;
  std::vector<int64_t> shape_;
  size_t n_;
  std::string name_;
  at::ScalarType compute_;
  int64_t numel_ = 1;
  int64_t keys_ = 1;          // rows with their own statistics
  int64_t row_len_ = 0;       // nuslerp per row: the last dimension
  int64_t col_count_ = 0;     // nuslerp per column: numel / shape[0]
  std::vector<double> gram_;  // per key: the upper triangle, row-major, of the Gram matrix
  bool all_zero_ = false;     // karcher: every member's norm <= tol
  // arcee_fusion per row: the base's and the member's maxima, then their softmax sums, then the
  // KL divergence; the importance score of every entry (the one tensor it holds); the threshold.
  std::vector<float> max_base_, max_member_;
  std::vector<double> sum_base_, sum_member_, kl_;
  std::vector<float> importance_;
  float threshold_ = 0.0f;
  std::vector<float> coef_;  // per key: the combine's coefficients
  // multislerp of >= 2 task vectors computing in a reduced dtype (mergekit mode).
  std::unique_ptr<MultislerpReduced> reduced_;
  std::unique_ptr<NuslerpReduced> nu_reduced_;       // nuslerp in a reduced dtype (mergekit mode)
  std::unique_ptr<KarcherReduced> karcher_reduced_;  // karcher of >= 2 members, likewise
  std::vector<int64_t> keys_of(int64_t begin, int64_t len) const;  // key_of each entry
};

// Both phases on resident tensors (any shape; the members in pool order), computing in `compute`
// as GeometricMerge.
at::Tensor geometric_merge(const MergeSpec &spec, const at::Tensor &base,
                           const std::vector<at::Tensor> &members,
                           at::ScalarType compute = at::kFloat);

}  // namespace fw
