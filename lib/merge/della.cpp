#include "merge/della.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "merge/counter_rng.h"
#include "merge/magnitude_select.h"

namespace fw {

DellaLayout della_layout(at::IntArrayRef shape) {
  DellaLayout layout;
  if (shape.size() < 2) {
    int64_t numel = 1;
    for (int64_t d : shape) numel *= d;
    layout.group_len = numel;
    return layout;
  }
  layout.group_len = shape[1];
  for (size_t d = 2; d < shape.size(); ++d) layout.inner *= shape[d];
  return layout;
}

float della_keep_probability(int64_t r, int64_t m, double density, double epsilon) {
  if (m <= 1) return static_cast<float>(density);
  // ranks = argsort(argsort) + 1 in fp32, min 1, max m: (ranks - min) / (max - min).
  const float rank_norm =
      std::clamp((static_cast<float>(r + 1) - 1.0f) / (static_cast<float>(m) - 1.0f), 0.0f, 1.0f);
  const float scaled = (rank_norm * 2.0f) * static_cast<float>(epsilon);
  return scaled + static_cast<float>(density - epsilon);
}

void della_keep_range(const float *x, int64_t first, int64_t len, const DellaLayout &layout,
                      double density, double epsilon, uint64_t key, uint8_t *keep) {
  const int64_t m = layout.group_len, inner = layout.inner, slab = layout.slab();
  std::vector<int64_t> order(static_cast<size_t>(m));
  std::vector<uint32_t> bits(static_cast<size_t>(m));
  for (int64_t s = 0; s < len; s += slab) {
    for (int64_t j = 0; j < inner; ++j) {
      // The group's entries are s + j + k * inner, k in [0, m).
      for (int64_t k = 0; k < m; ++k)
        bits[static_cast<size_t>(k)] = magnitude_bits(x[s + j + k * inner]);
      std::iota(order.begin(), order.end(), int64_t{0});
      // Magnitude bits order like the magnitudes; equal ones by index: a total order, so the
      // ranks do not depend on the sort's algorithm.
      std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
        const uint32_t ba = bits[static_cast<size_t>(a)], bb = bits[static_cast<size_t>(b)];
        return ba != bb ? ba < bb : a < b;
      });
      for (int64_t r = 0; r < m; ++r) {
        const int64_t e = s + j + order[static_cast<size_t>(r)] * inner;
        const double p = della_keep_probability(r, m, density, epsilon);
        // torch.bernoulli(p) is 1 with probability p.
        keep[e] = rng::unit_double(rng::splitmix64_at(key, static_cast<uint64_t>(first + e))) < p;
      }
    }
  }
}

void della_apply_range(float *x, const uint8_t *keep, int64_t len, bool rescale, float ratio) {
  for (int64_t e = 0; e < len; ++e) {
    x[e] = x[e] * (keep[e] ? 1.0f : 0.0f);
    if (rescale) x[e] = x[e] * ratio;
  }
}

void DellaNorms::add(const float *x, const uint8_t *keep, int64_t len) {
  for (int64_t e = 0; e < len; ++e) {
    const double a = std::fabs(static_cast<double>(x[e]));
    before += a;
    if (keep[e]) after += a;
  }
}

bool DellaNorms::rescales() const {
  // `before_scale < eps or after_scale < eps`: fp32 sums against eps rounded to fp32.
  return !(static_cast<float>(before) < 1e-7f) && !(static_cast<float>(after) < 1e-7f);
}

float DellaNorms::ratio() const { return static_cast<float>(before) / static_cast<float>(after); }

at::Tensor della_prune(const at::Tensor &tau, double density, double epsilon, bool rescale,
                       uint64_t key) {
  if (density >= 1.0) return tau.clone();
  if (density <= 0.0) return at::zeros_like(tau);
  at::Tensor out = tau.contiguous().clone();
  const DellaLayout layout = della_layout(tau.sizes());
  const int64_t numel = out.numel(), slab = std::max<int64_t>(1, layout.slab());
  if (numel == 0) return out;
  float *x = out.data_ptr<float>();
  std::vector<uint8_t> keep(static_cast<size_t>(numel));
  // Slabs are independent, so any split over threads gives the same flags.
  const int64_t slabs = numel / slab;
  at::parallel_for(0, slabs, std::max<int64_t>(1, (int64_t{1} << 16) / slab),
                   [&](int64_t b, int64_t e) {
                     della_keep_range(x + b * slab, b * slab, (e - b) * slab, layout, density,
                                      epsilon, key, keep.data() + b * slab);
                   });
  DellaNorms norms;
  if (rescale) norms.add(x, keep.data(), numel);
  const bool scaled = rescale && norms.rescales();
  della_apply_range(x, keep.data(), numel, scaled, scaled ? norms.ratio() : 1.0f);
  return out;
}

}  // namespace fw
