// Per-task-vector sparsification: magnitude trim (TIES), outlier + magnitude trim (breadcrumbs),
// random drop with rescale (DARE). Inputs and outputs are fp32; outputs never alias the input.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>

namespace fw {

// Entries kept for a fraction of `numel`: floor(fraction * numel + 0.5) (round half up, computed in
// double), clamped to [0, numel].
int64_t fraction_count(double fraction, int64_t numel);

// Mask (bool, same shape) of the k entries largest in magnitude under a total order: larger |x|
// first, and among equal magnitudes the lower flat index first. k is clamped to [0, numel].
at::Tensor top_magnitude_mask(const at::Tensor &x, int64_t k);

// TIES trim: keeps the max(1, fraction_count(density)) largest magnitudes, zeroes the rest.
at::Tensor magnitude_trim(const at::Tensor &x, double density);

// Breadcrumbs: drops the fraction_count(beta) largest magnitudes, keeps the next
// max(1, fraction_count(density)) and zeroes the rest; when both do not fit, fewer are dropped at
// the top (mergekit's magnitude_outliers).
at::Tensor breadcrumbs_trim(const at::Tensor &x, double density, double beta);

// DARE: entry e is dropped when unit_double(splitmix64_at(key, e)) < p, survivors are divided by
// (1 - p) (in fp32, divisor rounded to float). p in [0, 1).
at::Tensor dare_drop(const at::Tensor &x, double p, uint64_t key);

// dare_drop on elements [first, first + count) of a flattened tensor, src/dst pointing at them (a
// chunk of a streamed tensor: draws are keyed by the global index, so chunks give the same bytes).
// Single-threaded; dst may equal src.
void dare_drop_range(const float *src, float *dst, int64_t first, int64_t count, double p,
                     uint64_t key);

}  // namespace fw
