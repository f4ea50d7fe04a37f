#include "merge/ram.h"

#include <algorithm>
#include <cmath>

namespace fw {

namespace {

// The members contributing to entry e: |tau| > float(epsilon).
int64_t contributors(const std::vector<const float *> &taus, int64_t e, float eps) {
  int64_t count = 0;
  for (const float *t : taus) count += std::fabs(t[e]) > eps;
  return count;
}

}  // namespace

void ram_count_range(const std::vector<const float *> &taus, int64_t len, double epsilon,
                     std::vector<int64_t> &shared, std::vector<int64_t> &unique) {
  const float eps = static_cast<float>(epsilon);
  for (int64_t e = 0; e < len; ++e) {
    const int64_t count = contributors(taus, e, eps);
    if (count == 0) continue;
    for (size_t i = 0; i < taus.size(); ++i)
      if (std::fabs(taus[i][e]) > eps) ++(count == 1 ? unique[i] : shared[i]);
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
                       const std::vector<float> &lambdas, int64_t len, float *out) {
  const float eps = static_cast<float>(epsilon);
  for (int64_t e = 0; e < len; ++e) {
    const int64_t count = contributors(taus, e, eps);
    const float unique = count == 1 ? 1.0f : 0.0f, overlap = count > 1 ? 1.0f : 0.0f;
    const float divisor = static_cast<float>(std::max<int64_t>(count, 1));
    float merged = 0.0f;
    for (size_t i = 0; i < taus.size(); ++i) {
      const float t = taus[i][e];
      const float z = t * (std::fabs(t) > eps ? 1.0f : 0.0f);  // tv_flat * nonzero_mask
      float own = z * unique;
      if (!lambdas.empty()) own = own * lambdas[i];
      const float term = own + z * overlap / divisor;
      merged = i == 0 ? term : merged + term;  // .sum(dim=0) over the members in order
    }
    out[e] = base[e] + merged;
  }
}

at::Tensor ram_merge(const at::Tensor &base, const std::vector<at::Tensor> &members, double epsilon,
                     bool plus, double r, double alpha) {
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
    ram_count_range(ptrs, numel, epsilon, shared, unique);
    lambdas = ram_lambdas(shared, unique, epsilon, r, alpha);
  }
  at::Tensor out = at::empty({numel}, at::kFloat);
  ram_combine_range(b.data_ptr<float>(), ptrs, epsilon, lambdas, numel, out.data_ptr<float>());
  return out.reshape(base.sizes());
}

}  // namespace fw
