#include "merge/mergekit_compat.h"

#include <ATen/Parallel.h>
#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include <algorithm>
#include <cmath>

namespace fw {
namespace mergekit {

namespace {

// Python's int(x) of a non-negative double: truncation.
int64_t truncated(double x, int64_t numel) {
  return std::clamp<int64_t>(static_cast<int64_t>(std::floor(x)), 0, numel);
}

bool uses_consensus(MergeMethod m) {
  return m == MergeMethod::Ties || m == MergeMethod::DareTies ||
         m == MergeMethod::BreadcrumbsTies || m == MergeMethod::Della;
}

}  // namespace

TrimRanks ties_ranks(double density, int64_t numel) {
  TrimRanks r;
  if (density >= 1.0) {
    r.all = true;
    return r;
  }
  r.keep = std::max<int64_t>(1, truncated(density * static_cast<double>(numel), numel));
  return r;
}

TrimRanks breadcrumbs_ranks(double density, double gamma, int64_t numel) {
  TrimRanks r;
  if (density >= 1.0) {
    r.all = true;
    return r;
  }
  const int64_t target = truncated(density * static_cast<double>(numel), numel);
  const int64_t top = truncated(gamma * static_cast<double>(numel), numel);
  const int64_t bottom = std::max<int64_t>(0, numel - target - top);
  r.keep = numel - bottom;
  r.drop = numel - bottom - target;
  return r;
}

namespace {

// One element of merge_group with every operation rounded to the working dtype by `round`
// (torch's bf16 / f16 ops compute in fp32 and round to nearest even). The sums over the members
// accumulate in fp32 like torch's reductions; n bf16 terms rarely lose bits there, so the order
// of the terms does not show.
template <typename Round>
void combine_range(const MergeSpec &spec, const float *base, const std::vector<const float *> &taus,
                   const std::vector<float> &w, float *out, int64_t begin, int64_t end,
                   const Round &round) {
  const size_t n = taus.size();
  const bool consensus = uses_consensus(spec.method);
  // `mixed *= lambda`: a Python float scalar, which torch applies in fp32 (not rounded first).
  const float lambda = static_cast<float>(spec.scaling);
  std::vector<float> d(n);
  float weight_sum = 0.0f;  // the plain divisor: weights.sum(0), the same for every element
  for (size_t i = 0; i < n; ++i) weight_sum += w[i];
  weight_sum = round(weight_sum);
  if (std::fabs(weight_sum) < 1e-8f) weight_sum = 1.0f;
  for (int64_t e = begin; e < end; ++e) {
    float sum = 0.0f;
    for (size_t i = 0; i < n; ++i) {
      d[i] = round(taus[i][e] * w[i]);
      sum += d[i];
    }
    float mixed, divisor;
    if (consensus) {
      const float majority = round(sum) >= 0.0f ? 1.0f : -1.0f;
      float masked = 0.0f, weights = 0.0f;
      for (size_t i = 0; i < n; ++i) {
        const float sign = d[i] > 0.0f ? 1.0f : d[i] < 0.0f ? -1.0f : 0.0f;
        if (sign == majority) {
          masked += d[i];
          weights += w[i];
        }
      }
      mixed = round(masked);
      divisor = round(weights);
      if (divisor == 0.0f) divisor = 1.0f;
    } else {
      mixed = round(sum);
      divisor = weight_sum;
    }
    if (spec.normalize) mixed = round(mixed / divisor);
    if (spec.scaling != 1.0) mixed = round(mixed * lambda);
    out[e] = round(base[e] + mixed);
  }
}

}  // namespace

at::Tensor combine(const MergeSpec &spec, const at::Tensor &base,
                   const std::vector<at::Tensor> &taus, at::ScalarType type) {
  const int64_t len = base.numel();
  // torch.tensor(weights, dtype=deltas.dtype): each weight rounded to the working dtype.
  std::vector<float> w(taus.size());
  for (size_t i = 0; i < taus.size(); ++i)
    w[i] = at::scalar_tensor(spec.weight(i), at::kDouble).to(type).item<float>();
  std::vector<const float *> t;
  for (const at::Tensor &x : taus) t.push_back(x.data_ptr<float>());
  const at::Tensor b = base.contiguous();
  at::Tensor out = at::empty({len}, at::kFloat);
  const float *pb = b.data_ptr<float>();
  float *po = out.data_ptr<float>();
  at::parallel_for(0, len, 1 << 14, [&](int64_t begin, int64_t end) {
    if (type == at::kBFloat16)
      combine_range(spec, pb, t, w, po, begin, end,
                    [](float x) { return static_cast<float>(c10::BFloat16(x)); });
    else if (type == at::kHalf)
      combine_range(spec, pb, t, w, po, begin, end,
                    [](float x) { return static_cast<float>(c10::Half(x)); });
    else
      combine_range(spec, pb, t, w, po, begin, end, [](float x) { return x; });
  });
  return out;
}

}  // namespace mergekit
}  // namespace fw
