#include "merge/magnitude_select.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

#include "util/error.h"

namespace fw {

namespace {
constexpr size_t kHighBins = size_t{1} << 15;  // the sign bit is clear: bits >> 16 < 2^15
constexpr size_t kLowBins = size_t{1} << 16;
}  // namespace

MagnitudeSelect::MagnitudeSelect(int64_t k, int64_t numel) : k_(k) {
  cut_.none = k <= 0;
  cut_.all = !cut_.none && k >= numel;
  if (needs_passes()) high_.assign(kHighBins, 0);
}

void MagnitudeSelect::count_high(const float *x, int64_t n) {
  int64_t *h = high_.data();
  for (int64_t e = 0; e < n; ++e) ++h[magnitude_bits(x[e]) >> 16];
}

void MagnitudeSelect::finish_high() {
  int64_t above = 0;
  for (size_t b = kHighBins; b-- > 0;) {
    if (above + high_[b] >= k_) {
      bin_ = static_cast<uint32_t>(b);
      above_bin_ = above;
      high_.clear();
      high_.shrink_to_fit();
      low_.assign(kLowBins, 0);
      return;
    }
    above += high_[b];
  }
  fail(Status::Internal, "magnitude select: fewer entries counted than k");
}

void MagnitudeSelect::count_low(const float *x, int64_t n) {
  int64_t *l = low_.data();
  for (int64_t e = 0; e < n; ++e) {
    const uint32_t bits = magnitude_bits(x[e]);
    if ((bits >> 16) == bin_) ++l[bits & 0xFFFFu];
  }
}

void MagnitudeSelect::finish_low() {
  int64_t above = above_bin_;
  for (size_t b = kLowBins; b-- > 0;) {
    if (above + low_[b] >= k_) {
      cut_.threshold = (bin_ << 16) | static_cast<uint32_t>(b);
      cut_.quota = k_ - above;
      cut_.equal = low_[b];
      low_.clear();
      low_.shrink_to_fit();
      return;
    }
    above += low_[b];
  }
  fail(Status::Internal, "magnitude select: the two passes saw different data");
}

namespace {

// Pieces of the vector read at a time while the pairs are filled.
constexpr int64_t kReadPiece = int64_t{1} << 17;

// libstdc++'s std::sort stops partitioning ranges of this many entries or fewer (_S_threshold)
// and finishes with one insertion sort over the whole vector.
constexpr ptrdiff_t kInsertionThreshold = 16;

// A magnitude's bits as the sort compares them: every NaN is one value, the largest (torch's
// comparators treat NaNs as equal to each other and above everything else); for the other
// non-negative floats the bits order like the values.
inline uint32_t sort_key(uint32_t bits) { return bits > 0x7F800000u ? 0x7FC00000u : bits; }

template <typename Index>
struct Entry {
  uint32_t bits;  // magnitude_bits of |tau|
  Index index;
};

// Replays std::sort (libstdc++'s introsort: __introsort_loop, median of three moved to the front,
// __unguarded_partition, heapsort past 2 * floor(log2 n) levels) on [first, last), but enters only
// the ranges that hold a boundary b (first < b < last, positions counted from `origin`): a range
// that holds none keeps all its entries on one side of every boundary whatever order the full sort
// would give them, which is all the tie masks need. The sort's steps on the ranges it does enter
// are the full sort's own (each step depends on its range's contents only), so the entries end on
// the same side of each boundary as under std::sort. Expected O(n) per boundary instead of
// O(n log n). Ranges of kInsertionThreshold or fewer that hold a boundary are appended to
// `leaves`: the full sort's final insertion sort is stable, so it orders them by key, keeping
// equal keys in the order they have here.
template <typename Index, typename Less>
void select_sides(Entry<Index> *first, Entry<Index> *last, ptrdiff_t depth, Less less,
                  const Entry<Index> *origin, const std::vector<int64_t> &boundaries,
                  std::vector<std::pair<Entry<Index> *, Entry<Index> *>> &leaves) {
  const auto holds_boundary = [&](const Entry<Index> *f, const Entry<Index> *l) {
    const auto b = std::upper_bound(boundaries.begin(), boundaries.end(), f - origin);
    return b != boundaries.end() && *b < l - origin;
  };
  while (last - first > kInsertionThreshold) {
    if (!holds_boundary(first, last)) return;
    if (depth == 0) {
      std::partial_sort(first, last, last, less);  // introsort's heapsort: __partial_sort
      return;
    }
    --depth;
    // __unguarded_partition_pivot: the median of first + 1, mid, last - 1 swapped to first.
    Entry<Index> *a = first + 1, *b = first + (last - first) / 2, *c = last - 1;
    if (less(*a, *b)) {
      if (less(*b, *c))
        std::swap(*first, *b);
      else if (less(*a, *c))
        std::swap(*first, *c);
      else
        std::swap(*first, *a);
    } else if (less(*a, *c)) {
      std::swap(*first, *a);
    } else if (less(*b, *c)) {
      std::swap(*first, *c);
    } else {
      std::swap(*first, *b);
    }
    // __unguarded_partition around *first.
    Entry<Index> *lo = first + 1, *hi = last;
    while (true) {
      while (less(*lo, *first)) ++lo;
      --hi;
      while (less(*first, *hi)) --hi;
      if (!(lo < hi)) break;
      std::swap(*lo, *hi);
      ++lo;
    }
    select_sides(lo, last, depth, less, origin, boundaries, leaves);
    last = lo;
  }
  if (holds_boundary(first, last)) leaves.emplace_back(first, last);
}

template <typename Index>
std::vector<std::vector<bool>> tie_masks(int64_t numel, const MagnitudeReader &read,
                                         const std::vector<MagnitudeCut> &cuts, bool descending) {
  const size_t n = static_cast<size_t>(numel);
  // Left uninitialised (every entry is written below): zeroing 8 bytes per entry first would be
  // one more pass over the largest buffer of the merge.
  const std::unique_ptr<Entry<Index>[]> entries(new Entry<Index>[n]);
  std::vector<int64_t> above(cuts.size(), 0);  // entries above each cut's threshold
  {
    std::vector<float> piece(static_cast<size_t>(std::min(kReadPiece, numel)));
    for (int64_t begin = 0; begin < numel; begin += kReadPiece) {
      const int64_t end = std::min(numel, begin + kReadPiece);
      read(begin, end, piece.data());
      for (int64_t e = begin; e < end; ++e) {
        const uint32_t bits = magnitude_bits(piece[static_cast<size_t>(e - begin)]);
        entries[static_cast<size_t>(e)] = {bits, static_cast<Index>(e)};
        for (size_t c = 0; c < cuts.size(); ++c) above[c] += bits > cuts[c].threshold;
      }
    }
  }
  // The cut between kept and dropped positions of each cut: with `descending` its first
  // above + quota positions are kept, otherwise its last above + quota.
  std::vector<int64_t> sides(cuts.size(), -1), boundaries;
  for (size_t c = 0; c < cuts.size(); ++c) {
    if (cuts[c].all || cuts[c].none || cuts[c].quota <= 0) continue;
    const int64_t kept = above[c] + cuts[c].quota;
    sides[c] = descending ? kept : numel - kept;
    boundaries.push_back(sides[c]);
  }
  std::sort(boundaries.begin(), boundaries.end());
  std::vector<std::pair<Entry<Index> *, Entry<Index> *>> leaves;
  // torch's KeyValueCompDesc / KeyValueCompAsc (NaN sorts as the largest value).
  ptrdiff_t depth = 0;  // 2 * std::__lg(n), as std::sort starts
  for (size_t m = n; m > 1; m >>= 1) depth += 2;
  Entry<Index> *first = entries.get(), *last = first + n;
  const auto by_key = [&](auto less) {
    if (n == 0) return;
    select_sides(first, last, depth, less, first, boundaries, leaves);
    for (const auto &leaf : leaves) std::stable_sort(leaf.first, leaf.second, less);
  };
  if (descending)
    by_key([](const Entry<Index> &a, const Entry<Index> &b) {
      return sort_key(a.bits) > sort_key(b.bits);
    });
  else
    by_key([](const Entry<Index> &a, const Entry<Index> &b) {
      return sort_key(a.bits) < sort_key(b.bits);
    });
  std::vector<std::vector<bool>> masks;
  for (size_t c = 0; c < cuts.size(); ++c) {
    std::vector<bool> kept(n, false);
    if (sides[c] >= 0) {
      // The kept positions hold every entry above the threshold and `quota` entries equal to it.
      const size_t from = descending ? 0 : static_cast<size_t>(sides[c]);
      const size_t to = descending ? static_cast<size_t>(sides[c]) : n;
      for (size_t p = from; p < to; ++p)
        if (entries[p].bits == cuts[c].threshold)
          kept[static_cast<size_t>(entries[p].index)] = true;
    }
    masks.push_back(std::move(kept));
  }
  return masks;
}

}  // namespace

std::vector<std::vector<bool>> argsort_tie_masks(int64_t numel, const MagnitudeReader &read,
                                                 const std::vector<MagnitudeCut> &cuts,
                                                 bool descending) {
  if (numel <= static_cast<int64_t>(UINT32_MAX))
    return tie_masks<uint32_t>(numel, read, cuts, descending);
  return tie_masks<int64_t>(numel, read, cuts, descending);
}

}  // namespace fw
