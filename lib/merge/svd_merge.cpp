#include "merge/svd_merge.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <tuple>

#include "util/error.h"

namespace fw {

namespace {

// P Q^T of a = P S Q^T: the orthogonal (semi-orthogonal) matrix nearest to a in Frobenius norm,
// the authors' "orthogonalization" (u @ vh of torch.linalg.svd(a, full_matrices=False)).
at::Tensor nearest_orthogonal(const at::Tensor &a) {
  const auto [p, s, qh] = at::linalg_svd(a, false);
  return at::matmul(p, qh);
}

// The running mean of the authors' code for non-matrix tensors: m = tau_0, then
// m += (tau_i - m) / (i + 1), each operation rounded to fp32 as torch's.
at::Tensor running_mean(const std::vector<at::Tensor> &taus) {
  at::Tensor m = taus[0].clone();
  for (size_t i = 1; i < taus.size(); ++i) m.add_(taus[i].sub(m).div(static_cast<double>(i + 1)));
  return m;
}

// Elementwise sum in pool order: the same fp32 additions for a chunk as for the whole tensor.
at::Tensor ordered_sum(const std::vector<at::Tensor> &taus) {
  at::Tensor s = taus[0].clone();
  for (size_t i = 1; i < taus.size(); ++i) s.add_(taus[i]);
  return s;
}

}  // namespace

SvdRanks svd_ranks(const MergeSpec &spec, int64_t r, size_t n) {
  SvdRanks k;
  const auto tasks = static_cast<int64_t>(n);
  if (spec.method == MergeMethod::TsvM) {
    // int(s.shape[0] * (1 / T)) of the authors' code, in double as Python's floats: usually
    // floor(r / n), and the same where the product rounds up to a whole number.
    k.per_member =
        static_cast<int64_t>(static_cast<double>(r) * (1.0 / static_cast<double>(tasks)));
  } else if (spec.method == MergeMethod::IsoCts) {
    int64_t common = static_cast<int64_t>(static_cast<double>(r) * spec.select_topk);
    // round((r - k_c) / T) * T with Python's round (half to even: nearbyint's default mode).
    int64_t specific = static_cast<int64_t>(std::nearbyint(static_cast<double>(r - common) /
                                                           static_cast<double>(tasks))) *
                       tasks;
    if (specific > r) specific -= tasks;  // see svd_merge.h: k_c stays >= 0
    common = r - specific;
    k.common = common;
    k.per_member = specific / tasks;
  } else {
    k.common = r;  // iso_c: the whole spectrum of the sum
  }
  return k;
}

SvdMerge::SvdMerge(const MergeSpec &spec, const std::vector<int64_t> &shape, size_t n)
    : spec_(spec), n_(n), matrix_(shape.size() == 2) {
  spec_.overrides.clear();
  if (n == 0)
    fail(Status::InvalidArgument,
         std::string(merge_method_name(spec.method)) + " needs at least 1 pool member, got 0");
  if (!matrix_) return;
  rows_ = shape[0];
  cols_ = shape[1];
  ranks_ = svd_ranks(spec_, std::min(rows_, cols_), n);
  const int64_t width = ranks_.per_member * static_cast<int64_t>(n) +
                        (spec.method == MergeMethod::IsoCts ? ranks_.common : 0);
  if (spec.method != MergeMethod::IsoC) {
    u_cat_ = at::zeros({rows_, width}, at::kFloat);
    s_cat_ = at::zeros({width}, at::kFloat);
    vh_cat_ = at::zeros({width, cols_}, at::kFloat);
  }
}

bool SvdMerge::needs_sum() const { return matrix_ && spec_.method != MergeMethod::TsvM; }

bool SvdMerge::needs_members() const {
  return matrix_ && spec_.method != MergeMethod::IsoC && ranks_.per_member > 0;
}

void SvdMerge::add_sum(int64_t begin, const std::vector<at::Tensor> &taus) {
  if (!sum_.defined()) sum_ = at::empty({rows_ * cols_}, at::kFloat);
  const at::Tensor part = ordered_sum(taus);
  sum_.narrow(0, begin, part.numel()).copy_(part);
}

void SvdMerge::common_subspace() {
  if (common_u_.defined() || spec_.method != MergeMethod::IsoCts) return;
  const auto [u, s, vh] = at::linalg_svd(sum_.view({rows_, cols_}), false);
  sum_ = at::Tensor();  // only the common triplets are needed from here on
  const int64_t k = ranks_.common, first = ranks_.per_member * static_cast<int64_t>(n_);
  common_u_ = u.narrow(1, 0, k).contiguous();
  // The authors' layout: the members' blocks first, the common subspace after them.
  u_cat_.narrow(1, first, k).copy_(common_u_);
  s_cat_.narrow(0, first, k).copy_(s.narrow(0, 0, k));
  vh_cat_.narrow(0, first, k).copy_(vh.narrow(0, 0, k));
}

void SvdMerge::add_member(size_t i, const at::Tensor &tau) {
  common_subspace();
  at::Tensor w = tau.reshape({rows_, cols_});
  // iso_cts: the part of tau_i outside the common subspace, w - U_c U_c^T w.
  if (spec_.method == MergeMethod::IsoCts)
    w = w.sub(at::matmul(common_u_, at::matmul(common_u_.t(), w)));
  const auto [u, s, vh] = at::linalg_svd(w, false);
  const int64_t k = ranks_.per_member, first = k * static_cast<int64_t>(i);
  u_cat_.narrow(1, first, k).copy_(u.narrow(1, 0, k));
  s_cat_.narrow(0, first, k).copy_(s.narrow(0, 0, k));
  vh_cat_.narrow(0, first, k).copy_(vh.narrow(0, 0, k));
}

void SvdMerge::finish() {
  if (!matrix_) return;
  if (spec_.method == MergeMethod::IsoC) {
    const auto [u, s, vh] = at::linalg_svd(sum_.view({rows_, cols_}), false);
    sum_ = at::Tensor();
    delta_ = at::matmul(u.mul(s.mean()), vh).reshape(-1);
    return;
  }
  common_subspace();
  if (s_cat_.numel() == 0) {  // tsv_m with r < n: no triplet per member
    delta_ = at::zeros({rows_ * cols_}, at::kFloat);
    return;
  }
  const at::Tensor u = nearest_orthogonal(u_cat_), vh = nearest_orthogonal(vh_cat_);
  u_cat_ = vh_cat_ = at::Tensor();
  // tsv_m keeps the singular values; iso_cts flattens them to their mean.
  const at::Tensor s = spec_.method == MergeMethod::TsvM ? s_cat_ : s_cat_.mean();
  delta_ = at::matmul(u.mul(s), vh).reshape(-1);
}

at::Tensor SvdMerge::combine(int64_t begin, const at::Tensor &base,
                             const std::vector<at::Tensor> &taus) const {
  at::Tensor delta;
  if (matrix_)
    delta = delta_.narrow(0, begin, base.numel());
  else if (spec_.method == MergeMethod::IsoC)
    delta = ordered_sum(taus).div(static_cast<double>(n_));  // sum(tvs) / len(tvs)
  else
    delta = running_mean(taus);
  // pretrained + alpha * vector, as the authors' apply_to: the product rounded, then the sum.
  return base.add(delta.mul(spec_.scaling));
}

at::Tensor svd_merge(const MergeSpec &spec, const at::Tensor &base,
                     const std::vector<at::Tensor> &members) {
  check_method_params(spec, members.size());
  const at::Tensor b = base.to(at::kFloat).contiguous().reshape(-1);
  if (b.numel() == 0) return base.to(at::kFloat).clone();
  std::vector<at::Tensor> taus;
  for (const at::Tensor &m : members) taus.push_back(m.to(at::kFloat).reshape(-1).sub(b));
  SvdMerge merge(spec, base.sizes().vec(), members.size());
  if (merge.needs_sum()) merge.add_sum(0, taus);
  if (merge.needs_members())
    for (size_t i = 0; i < taus.size(); ++i) merge.add_member(i, taus[i]);
  merge.finish();
  return merge.combine(0, b, taus).reshape(base.sizes());
}

}  // namespace fw
