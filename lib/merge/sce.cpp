#include "merge/sce.h"

#include <algorithm>
#include <cmath>

#include "merge/sparsify.h"

namespace fw {

void sce_variance_range(const std::vector<const float *> &taus, int64_t len, float *var) {
  const double n = static_cast<double>(taus.size());
  for (int64_t e = 0; e < len; ++e) {
    double mean = 0.0;
    for (const float *t : taus) mean += t[e];
    mean /= n;
    double sq = 0.0;
    for (const float *t : taus) {
      const double d = t[e] - mean;
      sq += d * d;
    }
    var[e] = static_cast<float>(sq / n);
  }
}

int64_t sce_select_count(int64_t nonzero, double select_topk) {
  const float k = static_cast<float>(nonzero) * static_cast<float>(select_topk);
  return k > 0.0f ? static_cast<int64_t>(k) : 0;  // int() truncates
}

std::vector<float> sce_weights(const std::vector<double> &sq_sums, int64_t numel) {
  const size_t n = sq_sums.size();
  std::vector<float> w(n);
  float sum = 0.0f;  // torch.sum of the n fp32 means, then .item(): a Python float
  for (size_t i = 0; i < n; ++i) {
    w[i] = static_cast<float>(sq_sums[i]) / static_cast<float>(numel);
    sum += w[i];
  }
  if (std::fabs(static_cast<double>(sum)) < 1e-6) {
    for (float &x : w) x = 1.0f / static_cast<float>(n);  // ones_like / n
    return w;
  }
  for (float &x : w) x = x / sum;
  return w;
}

void sce_add_squares(const std::vector<const float *> &taus, int64_t len,
                     std::vector<double> &sq_sums) {
  for (size_t i = 0; i < taus.size(); ++i) {
    double s = sq_sums[i];
    for (int64_t e = 0; e < len; ++e) {
      const float sq = taus[i][e] * taus[i][e];  // tvs.square() in fp32
      s += sq;
    }
    sq_sums[i] = s;
  }
}

void sce_combine_range(const float *base, const std::vector<const float *> &taus,
                       const std::vector<float> &weights, int64_t len, float *out) {
  const size_t n = taus.size();
  for (int64_t e = 0; e < len; ++e) {
    float sum = 0.0f;
    for (size_t i = 0; i < n; ++i) sum += taus[i][e];
    const float majority = sum >= 0.0f ? 1.0f : -1.0f;
    float merged = 0.0f, divisor = 0.0f;
    for (size_t i = 0; i < n; ++i) {
      const float t = taus[i][e];
      const float sign = t > 0.0f ? 1.0f : t < 0.0f ? -1.0f : 0.0f;
      const float w = weights[i] * (sign == majority ? 1.0f : 0.0f);  // tv_weights * erase_mask
      merged += t * w;
      divisor += w;
    }
    out[e] = base[e] + merged / std::max(divisor, 1e-6f);
  }
}

at::Tensor sce_merge(const at::Tensor &base, const std::vector<at::Tensor> &members,
                     double select_topk) {
  const at::Tensor b = base.contiguous();
  const int64_t numel = b.numel();
  std::vector<at::Tensor> taus;
  std::vector<const float *> ptrs;
  for (const at::Tensor &m : members) {
    taus.push_back(m.reshape(-1).sub(b.reshape(-1)).contiguous());
    ptrs.push_back(taus.back().data_ptr<float>());
  }
  if (select_topk < 1.0) {
    at::Tensor mask;
    if (select_topk <= 0.0) {
      mask = at::zeros({numel}, at::kBool);
    } else {
      at::Tensor var = at::empty({numel}, at::kFloat);
      sce_variance_range(ptrs, numel, var.data_ptr<float>());
      const int64_t nonzero = var.ne(0).sum().item<int64_t>();
      // The k largest variances, equal ones by index (torch.topk's order among them is its own).
      mask = top_magnitude_mask(var, sce_select_count(nonzero, select_topk));
    }
    for (at::Tensor &t : taus) t.mul_(mask);  // task_vectors * mask: x * 0 = -0 for x < 0
  }
  std::vector<double> sq(taus.size(), 0.0);
  sce_add_squares(ptrs, numel, sq);
  const std::vector<float> w = sce_weights(sq, numel);
  at::Tensor out = at::empty({numel}, at::kFloat);
  sce_combine_range(b.data_ptr<float>(), ptrs, w, numel, out.data_ptr<float>());
  return out.reshape(base.sizes());
}

}  // namespace fw
