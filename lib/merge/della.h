// DELLA's MagPrune (mergekit 0.1.5's sparsify.della_magprune): each entry of a task vector is kept
// with a probability that grows with the rank of its magnitude within its group, from density -
// epsilon (smallest) to density + epsilon (largest), and the survivors are rescaled so that the
// tensor keeps its L1 norm. The draws are this library's counter-based ones (counter_rng.h: entry
// e of member i of tensor t is kept when unit_double(splitmix64_at(stream_key(seed, t, i), e)) <
// p_e), so the result depends on neither the thread count nor the chunking.
//
// Groups: mergekit ranks along dim 1 of the tensor (1-D tensors are first unsqueezed to one row):
// for a 2-D weight that is each row; for a tensor of shape [d0, d1, rest...] it is, for each index
// of dim 0 and of the trailing dims, the d1 entries along dim 1. Every group lies inside one "slab"
// of d1 * prod(rest) contiguous elements (one index of dim 0), so slab-aligned ranges can be
// pruned independently: that is what lets StreamingMerge stream DELLA chunk by chunk.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>

namespace fw {

struct DellaLayout {
  int64_t group_len = 1;  // d1: entries ranked together
  int64_t inner = 1;      // prod(rest): stride between a group's entries, and groups per slab
  int64_t slab() const { return group_len * inner; }
};

// The layout of a tensor of this shape (0-D and 1-D: one group of numel entries).
DellaLayout della_layout(at::IntArrayRef shape);

// mergekit's keep probability of the entry of rank r (0 = smallest magnitude) in a group of m,
// computed as it does in fp32: (density - epsilon) + ((r / (m - 1)) * 2) * epsilon, each operation
// rounded to float and the Python-side scalars (density - epsilon, epsilon) rounded to float
// first. For m == 1 mergekit divides 0 by 0 and torch.bernoulli raises; here such an entry is kept
// with probability `density` (the middle of the range).
float della_keep_probability(int64_t r, int64_t m, double density, double epsilon);

// Keep flags (1 kept, 0 dropped) of elements [first, first + len) of a flattened tensor with this
// layout; first and len are multiples of layout.slab() (len may end at numel). x points at element
// `first`. Magnitudes are ranked smallest first; equal magnitudes by index (the lower first), a
// stable order where mergekit's torch.argsort is unstable. 0 < density < 1. Single-threaded.
void della_keep_range(const float *x, int64_t first, int64_t len, const DellaLayout &layout,
                      double density, double epsilon, uint64_t key, uint8_t *keep);

// x[e] = x[e] * keep[e] (x * 0: a dropped negative entry becomes -0, as mergekit's tensor * mask),
// then times `ratio` when `rescale` (masked * (before / after), as mergekit's
// rescaled_masked_tensor).
void della_apply_range(float *x, const uint8_t *keep, int64_t len, bool rescale, float ratio);

// L1 norms for the rescale: sum |x| over all entries and over the kept ones, accumulated in double
// in index order (chunked sums over consecutive ranges add up to the same doubles).
struct DellaNorms {
  double before = 0.0, after = 0.0;
  void add(const float *x, const uint8_t *keep, int64_t len);
  // Whether mergekit rescales (both norms, rounded to fp32, at least its eps 1e-7) and by what:
  // float(before) / float(after) in fp32.
  bool rescales() const;
  float ratio() const;
};

// MagPrune on a whole fp32 task vector: density >= 1 returns it unchanged (mergekit prunes nothing
// and does not rescale), density <= 0 returns zeros; otherwise the draws above, and the L1 rescale
// when `rescale`. Never aliases tau.
at::Tensor della_prune(const at::Tensor &tau, double density, double epsilon, bool rescale,
                       uint64_t key);

}  // namespace fw
