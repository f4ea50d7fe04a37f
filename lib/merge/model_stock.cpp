#include "merge/model_stock.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>

#include "merge/consensus.h"
#include "util/error.h"

namespace fw {

double block_dot(const float *x, const float *y, int64_t n) {
  double s = 0.0;
  for (int64_t e = 0; e < n; ++e) s += static_cast<double>(x[e]) * static_cast<double>(y[e]);
  return s;
}

double deterministic_dot(const at::Tensor &a, const at::Tensor &b) {
  const at::Tensor x = a.contiguous();
  const at::Tensor y = b.contiguous();
  const int64_t n = x.numel();
  constexpr int64_t kBlock = kDotBlock;
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  std::vector<double> partial(static_cast<size_t>(blocks), 0.0);
  const float *px = x.data_ptr<float>();
  const float *py = y.data_ptr<float>();
  // Hand loop on purpose: ATen's reductions split work by thread count, which changes the rounding.
  at::parallel_for(0, blocks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t blk = begin; blk < end; ++blk) {
      const int64_t first = blk * kBlock;
      partial[static_cast<size_t>(blk)] =
          block_dot(px + first, py + first, std::min(n, first + kBlock) - first);
    }
  });
  double total = 0.0;
  for (double s : partial) total += s;
  return total;
}

double model_stock_t(const std::vector<at::Tensor> &taus) {
  const size_t n = taus.size();
  std::vector<double> gram(n * n, 0.0);
  for (size_t i = 0; i < n; ++i)
    for (size_t j = i; j < n; ++j) gram[i * n + j] = deterministic_dot(taus[i], taus[j]);
  return model_stock_t_from_gram(gram, n);
}

double model_stock_t_from_gram(const std::vector<double> &gram, size_t n) {
  if (n < 2) fail(Status::InvalidArgument, "model_stock needs at least 2 pool members");
  std::vector<double> norms(n);
  for (size_t i = 0; i < n; ++i) norms[i] = std::sqrt(gram[i * n + i]);
  double cos_sum = 0.0;
  size_t pairs = 0;
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = i + 1; j < n; ++j, ++pairs) {
      const double denom = norms[i] * norms[j];
      if (denom > 0.0) cos_sum += gram[i * n + j] / denom;
    }
  }
  const double cos = std::clamp(cos_sum / static_cast<double>(pairs), 0.0, 1.0);
  const double k = static_cast<double>(n);
  return k * cos / (1.0 + (k - 1.0) * cos);
}

at::Tensor model_stock_merge(const at::Tensor &base, const std::vector<at::Tensor> &taus) {
  return model_stock_combine(base, taus, model_stock_t(taus));
}

at::Tensor model_stock_combine(const at::Tensor &base, const std::vector<at::Tensor> &taus,
                               double t) {
  return base.add(weighted_sum(taus, {}, true), t);
}

}  // namespace fw
