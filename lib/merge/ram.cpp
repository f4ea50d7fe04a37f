#include "merge/ram.h"

#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include <algorithm>
#include <cmath>

namespace fw {

namespace {

// x rounded to `type` (kept as fp32): torch's ops on bf16 / f16 compute in fp32 and round.
float rounded(float x, at::ScalarType type) {
  if (type == at::kBFloat16) return static_cast<float>(c10::BFloat16(x));
  if (type == at::kHalf) return static_cast<float>(c10::Half(x));
  return x;
}

// The members contributing to entry e: |tau| > eps (tau and eps in `type`).
int64_t contributors(const std::vector<const float *> &taus, int64_t e, float eps,
                     at::ScalarType type) {
  int64_t count = 0;
  for (const float *t : taus) count += std::fabs(rounded(t[e], type)) > eps;
  return count;
}

}  // namespace

void ram_count_range(const std::vector<const float *> &taus, int64_t len, double epsilon,
                     std::vector<int64_t> &shared, std::vector<int64_t> &unique,
                     at::ScalarType type) {
  const float eps = rounded(static_cast<float>(epsilon), type);
  for (int64_t e = 0; e < len; ++e) {
    const int64_t count = contributors(taus, e, eps, type);
    if (count == 0) continue;
    for (size_t i = 0; i < taus.size(); ++i)
      if (std::fabs(rounded(taus[i][e], type)) > eps) ++(count == 1 ? unique[i] : shared[i]);
  }
}

std::vector<float> ram_lambdas(const std::vector<int64_t> &shared,
                               const std::vector<int64_t> &unique, double epsilon, double r,
                               double alpha) {
  std::vector<float> lambdas(shared.size());
  for (size_t i = 0; i < shared.size(); ++i) {
    // unique_counts.clamp(min=epsilon): an int64 tensor and a float bound give fp32.
    const float divisor = std::max(static_cast<float>(unique[i]), static_cast<float>(epsilon));
    const float rho = static_cast<float>(shared[i]) / divisor;
    const float clamped = std::min(std::max(rho, 0.0f), static_cast<float>(alpha));
    lambdas[i] = 1.0f + static_cast<float>(r) * clamped;
  }
  return lambdas;
}

void ram_combine_range(const float *base, const std::vector<const float *> &taus, double epsilon,
                       const std::vector<float> &lambdas, int64_t len, float *out,
                       at::ScalarType type) {
  const float eps = rounded(static_cast<float>(epsilon), type);
  // ramplus_tl: `* lambda_.unsqueeze(-1)` (fp32) promotes its terms, their sum and base + sum to
  // fp32 (ram.py: ramplus_tl_merge); plain RAM stays in `type` throughout (ram_merge).
  const at::ScalarType after = lambdas.empty() ? type : at::kFloat;
  for (int64_t e = 0; e < len; ++e) {
    const int64_t count = contributors(taus, e, eps, type);
    const float unique = count == 1 ? 1.0f : 0.0f, overlap = count > 1 ? 1.0f : 0.0f;
    const float divisor = static_cast<float>(std::max<int64_t>(count, 1));
    float merged = 0.0f;
    for (size_t i = 0; i < taus.size(); ++i) {
      const float t = rounded(taus[i][e], type);
      const float z = t * (std::fabs(t) > eps ? 1.0f : 0.0f);  // tv_flat * nonzero_mask
      float own = z * unique;
      if (!lambdas.empty()) own = own * lambdas[i];
      // tv_flat_z * overlap_mask / counts: in `type` (an int64 divisor does not promote)
      const float term = rounded(own + rounded(z * overlap / divisor, type), after);
      merged = i == 0 ? term : merged + term;  // .sum(dim=0) over the members in order
    }
    out[e] = rounded(base[e] + rounded(merged, after), after);
  }
}

at::Tensor ram_merge(const at::Tensor &base, const std::vector<at::Tensor> &members, double epsilon,
                     bool plus, double r, double alpha, at::ScalarType type) {
  const at::Tensor b = base.contiguous();
  const int64_t numel = b.numel();
  std::vector<at::Tensor> taus;
  std::vector<const float *> ptrs;
  for (const at::Tensor &m : members) {
    taus.push_back(m.reshape(-1).sub(b.reshape(-1)).contiguous());
    ptrs.push_back(taus.back().data_ptr<float>());
  }
  std::vector<float> lambdas;
  if (plus) {
    std::vector<int64_t> shared(members.size(), 0), unique(members.size(), 0);
    ram_count_range(ptrs, numel, epsilon, shared, unique, type);
    lambdas = ram_lambdas(shared, unique, epsilon, r, alpha);
  }
  at::Tensor out = at::empty({numel}, at::kFloat);
  ram_combine_range(b.data_ptr<float>(), ptrs, epsilon, lambdas, numel, out.data_ptr<float>(),
                    type);
  return out.reshape(base.sizes());
}

}  // namespace fw
