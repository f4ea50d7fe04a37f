// The SVD methods: TSV-M (Gargiulo et al., "Task Singular Vectors: Reducing Task Interference in
// Model Merging", CVPR 2025) and Iso-C / Iso-CTS (Marczak et al., "No Task Left Behind: Isotropic
// Model Merging with Common and Task-Specific Subspaces", ICML 2025), as the authors' code computes
// them (AntoAndGar/task_singular_vectors src/utils/TSVM_utils.py
// compute_and_sum_svd_mem_reduction; danielm1405/iso-merging iso_c / iso_cts). Each 2-D tensor's
// task vectors tau_i = theta_i - theta_0 are matrices; r = min(rows, cols), n members:
//  - tsv_m: each tau_i's top k = int(r * (1 / n)) singular triplets, concatenated (U_cat, S_cat,
//    V_cat); U_cat and V_cat each replaced by its nearest orthogonal matrix (P Q^T of its SVD
//    P S Q^T); delta = U_orth diag(S_cat) V_orth^T. k = 0 (r < n) gives delta = 0, as the authors'
//    zero-filled factors do.
//  - iso_c: sum_i tau_i = U S V^T; delta = mean(S) U V^T (a flat spectrum).
//  - iso_cts: k_c = int(r * f) (f: common_space_fraction, MergeSpec::select_topk), then the
//    task-specific total round((r - k_c) / n) * n (Python's round, half to even) and k_c = r - that
//    total, d = (r - k_c) / n per member. The top k_c triplets of sum_i tau_i and, per member, the
//    top d of tau_i - U_c U_c^T tau_i (its part off the common subspace) fill r triplets; U and V
//    orthogonalized as tsv_m's; delta = mean(S_cat) U_orth V_orth^T. Where the rounding would give
//    more than r task-specific directions (a small r with a small f: the authors' slice would take
//    a negative index), one member's share fewer is taken (k_c >= 0).
// Other tensors (vectors, scalars, 3-D and more) are merged as the authors' code does: the running
// mean tau += (tau_i - tau) / (i + 1) (tsv_m, iso_cts) or sum_i tau_i / n (iso_c). Every tensor:
// merged = theta_0 + scaling * delta (scaling: the papers' alpha), in fp32.
//
// Precision: the SVDs run in fp32 (torch::linalg_svd, LAPACK gesdd), as the authors' code does; an
// fp64 SVD of a 4096 x 11008 matrix would double the memory held and the time for no change the
// written dtype (bf16 / f16, usually) can show. Deterministic for a given input and thread count.
//
// Streaming (merge/streaming.h): the sum is accumulated chunk by chunk in pool order (elementwise,
// the same bits as the whole tensor's); a member's task vector is read whole, one member at a
// time, for its SVD. Held per tensor: the sum (iso_c, iso_cts), one member's task vector, the SVD's
// factors and the concatenated factors (r columns of U and r rows of V at most): a few tensors'
// worth, whatever the pool size. Non-matrix tensors are elementwise over the chunks.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

#include "merge/merge_spec.h"

namespace fw {

// How a matrix of rank bound r is split among n members: `per_member` triplets from each member's
// task vector (tsv_m's k, iso_cts's d) and `common` from the summed task vector (iso_cts's k_c).
struct SvdRanks {
  int64_t per_member = 0;
  int64_t common = 0;
};
SvdRanks svd_ranks(const MergeSpec &spec, int64_t r, size_t n);

// One tensor of an SVD merge. For a matrix: add_sum() every chunk of the task vectors in order
// (needs_sum()), then add_member() each member's whole task vector in pool order
// (needs_members()), then finish(), then combine() any chunk. For any other tensor: finish(),
// then combine() with the chunk's task vectors.
class SvdMerge {
 public:
  SvdMerge(const MergeSpec &spec, const std::vector<int64_t> &shape, size_t n);

  bool is_matrix() const { return matrix_; }
  bool needs_sum() const;
  bool needs_members() const;
  // taus: the fp32 task vectors of entries [begin, begin + numel), flat, in pool order.
  void add_sum(int64_t begin, const std::vector<at::Tensor> &taus);
  // tau: member i's whole task vector, fp32, flat or [rows, cols].
  void add_member(size_t i, const at::Tensor &tau);
  void finish();
  // The merged fp32 entries [begin, begin + base.numel()): theta_0 + scaling * delta. `taus` is
  // read for non-matrix tensors only (matrices may pass none).
  at::Tensor combine(int64_t begin, const at::Tensor &base,
                     const std::vector<at::Tensor> &taus) const;

 private:
  void common_subspace();  // iso_cts: the sum's top k_c triplets, then the sum is released

  MergeSpec spec_;
  size_t n_;
  bool matrix_ = false;
  int64_t rows_ = 0, cols_ = 0;
  SvdRanks ranks_;
  at::Tensor sum_;                     // iso_c, iso_cts: sum_i tau_i, flat
  at::Tensor common_u_;                // iso_cts: U_c [rows, k_c]
  at::Tensor u_cat_, s_cat_, vh_cat_;  // the concatenated triplets
  at::Tensor delta_;                   // flat, after finish()
};

// Both phases on resident tensors (any shape; the members in pool order).
at::Tensor svd_merge(const MergeSpec &spec, const at::Tensor &base,
                     const std::vector<at::Tensor> &members);

}  // namespace fw
