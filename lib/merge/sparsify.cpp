#include "merge/sparsify.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>

#include "merge/counter_rng.h"

namespace fw {

int64_t fraction_count(double fraction, int64_t numel) {
  const double k = std::floor(fraction * static_cast<double>(numel) + 0.5);
  if (!(k > 0)) return 0;
  return std::min<int64_t>(numel, static_cast<int64_t>(k));
}

at::Tensor top_magnitude_mask(const at::Tensor &x, int64_t k) {
  const int64_t numel = x.numel();
  if (k <= 0) return at::zeros(x.sizes(), x.options().dtype(at::kBool));
  if (k >= numel) return at::ones(x.sizes(), x.options().dtype(at::kBool));
  const at::Tensor mag = x.reshape({-1}).abs();
  // The k-th largest magnitude is the (numel - k + 1)-th smallest: an O(numel) selection, no sort.
  const at::Tensor threshold = std::get<0>(at::kthvalue(mag, numel - k + 1));
  const at::Tensor above = mag.gt(threshold);
  const int64_t n_above = above.sum().item<int64_t>();
  // Entries equal to the threshold fill the remaining slots in index order (deterministic ties).
  const at::Tensor at_threshold = mag.eq(threshold);
  const at::Tensor rank = at::cumsum(at_threshold.to(at::kLong), 0);
  const at::Tensor keep = above.logical_or(at_threshold.logical_and(rank.le(k - n_above)));
  return keep.reshape(x.sizes());
}

at::Tensor magnitude_trim(const at::Tensor &x, double density) {
  const int64_t k = std::max<int64_t>(1, fraction_count(density, x.numel()));
  if (k >= x.numel()) return x.clone();
  return x.mul(top_magnitude_mask(x, k));
}

at::Tensor breadcrumbs_trim(const at::Tensor &x, double density, double beta) {
  const int64_t numel = x.numel();
  const int64_t keep =
      std::min<int64_t>(numel, std::max<int64_t>(1, fraction_count(density, numel)));
  const int64_t top = std::min<int64_t>(fraction_count(beta, numel), numel - keep);
  const at::Tensor mask =
      top_magnitude_mask(x, top + keep).logical_and(top_magnitude_mask(x, top).logical_not());
  return x.mul(mask);
}

void dare_drop_range(const float *src, float *dst, int64_t first, int64_t count, double p,
                     uint64_t key) {
  const float divisor = static_cast<float>(1.0 - p);
  for (int64_t e = 0; e < count; ++e) {
    const double u = rng::unit_double(rng::splitmix64_at(key, static_cast<uint64_t>(first + e)));
    dst[e] = u < p ? 0.0f : src[e] / divisor;
  }
}

at::Tensor dare_drop(const at::Tensor &x, double p, uint64_t key) {
  const at::Tensor in = x.contiguous();
  at::Tensor out = at::empty_like(in);
  const float *src = in.data_ptr<float>();
  float *dst = out.data_ptr<float>();
  // A hand loop because ATen has no counter-based generator; each element depends only on its own
  // index, so any split of the range over threads gives the same bytes.
  at::parallel_for(0, in.numel(), 1 << 14, [&](int64_t begin, int64_t end) {
    dare_drop_range(src + begin, dst + begin, begin, end - begin, p, key);
  });
  return out;
}

}  // namespace fw
