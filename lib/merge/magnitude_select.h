// The k largest magnitudes of a task vector that is only ever seen chunk by chunk, so that TIES
// and breadcrumbs can trim a tensor without holding it: an exact two-pass radix select on the bits
// of |x| (for non-negative IEEE floats the bit pattern orders like the value). Pass 1 counts the
// top 16 bits of every |x|; pass 2 counts the low 16 bits of the entries in the bin that holds the
// k-th largest. That gives the threshold T (the k-th largest |x|) and how many entries lie above
// it. KeepCursor then reproduces top_magnitude_mask (sparsify.h) bit for bit: every entry above T,
// and of the entries equal to T the first k - above in flat index order.
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <vector>

namespace fw {

// The bits of |x|: the sign cleared.
inline uint32_t magnitude_bits(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  return bits & 0x7FFFFFFFu;
}

// Which entries of a numel-element vector the k largest magnitudes are, once both passes ran.
struct MagnitudeCut {
  bool all = false, none = false;  // k >= numel / k <= 0: no pass needed
  uint32_t threshold = 0;          // bits of the k-th largest |x|
  int64_t quota = 0;               // entries equal to the threshold that are kept, first ones first
  int64_t equal = 0;               // entries equal to the threshold
  // Whether some but not all entries equal to the threshold are kept: only then does the order in
  // which ties are kept matter.
  bool splits_ties() const { return !all && !none && quota > 0 && quota < equal; }
};

class MagnitudeSelect {
 public:
  MagnitudeSelect(int64_t k, int64_t numel);
  // Whether the passes are needed at all (0 < k < numel).
  bool needs_passes() const { return !cut_.all && !cut_.none; }
  // Pass 1 over every chunk in any order, then finish_high(); pass 2 likewise, then finish_low().
  void count_high(const float *x, int64_t n);
  void finish_high();
  void count_low(const float *x, int64_t n);
  void finish_low();
  const MagnitudeCut &cut() const { return cut_; }

 private:
  int64_t k_;
  MagnitudeCut cut_;
  std::vector<int64_t> high_, low_;
  uint32_t bin_ = 0;       // top 16 bits of the threshold, after pass 1
  int64_t above_bin_ = 0;  // entries in higher bins
};

// Applies a cut along the vector in flat index order (the equal-to-threshold quota is spent in
// that order, so chunks must be visited first to last). With `tie_kept` (one flag per entry of the
// vector), the entries equal to the threshold that are kept are those it flags instead.
class KeepCursor {
 public:
  explicit KeepCursor(const MagnitudeCut &cut, const std::vector<bool> *tie_kept = nullptr)
      : cut_(cut), tie_kept_(tie_kept) {}
  bool keep(uint32_t bits, int64_t index) {
    if (cut_.all) return true;
    if (cut_.none) return false;
    if (bits > cut_.threshold) return true;
    if (bits != cut_.threshold) return false;
    if (tie_kept_) return (*tie_kept_)[static_cast<size_t>(index)];
    if (seen_ < cut_.quota) {
      ++seen_;
      return true;
    }
    return false;
  }

 private:
  MagnitudeCut cut_;
  const std::vector<bool> *tie_kept_;
  int64_t seen_ = 0;
};

// mergekit's order among equal magnitudes: its trims take torch.argsort(|tau|.float()) on the CPU
// (descending for TIES, ascending for breadcrumbs), an unstable sort that is libstdc++'s
// std::sort (introsort) over (value, index) pairs compared by value, as torch's CPU sort kernel
// calls it (measured: the same order as torch 2.15's on every tensor of a LLaMA-shaped pool, AVX2,
// AVX-512 and the default kernels alike; scripts/peers/mergekit_agreement.md). Given the whole
// vector |tau| (read in pieces by `read(begin, end, out)`, which writes |tau[begin, end)| to
// out), flags for each cut which entries equal to its threshold it keeps when the vector is sorted
// that way: with `descending`, the first k positions (k = entries above + quota); otherwise the
// last k. The sort is replayed step for step, but only on the ranges that straddle a cut's
// kept / dropped boundary (a range on one side of every boundary needs no order): expected
// O(numel) time per cut instead of a full sort's O(numel log numel), which matters where bf16
// task vectors of a few ulps make most magnitudes ties. While it runs, 8 bytes per entry (the
// (bits, index) pairs; the magnitudes are never held apart) plus a bit per entry and cut.
using MagnitudeReader = std::function<void(int64_t begin, int64_t end, float *out)>;
std::vector<std::vector<bool>> argsort_tie_masks(int64_t numel, const MagnitudeReader &read,
                                                 const std::vector<MagnitudeCut> &cuts,
                                                 bool descending);

}  // namespace fw
