#include "merge/magnitude_select.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

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

template <typename Index>
std::vector<std::vector<bool>> tie_masks(int64_t numel, const MagnitudeReader &read,
                                         const std::vector<MagnitudeCut> &cuts, bool descending) {
  struct Entry {
    float key;
    Index index;
  };
  const size_t n = static_cast<size_t>(numel);
  std::vector<Entry> entries(n);
  {
    std::vector<float> piece(static_cast<size_t>(std::min(kReadPiece, numel)));
    for (int64_t begin = 0; begin < numel; begin += kReadPiece) {
      const int64_t end = std::min(numel, begin + kReadPiece);
      read(begin, end, piece.data());
      for (int64_t e = begin; e < end; ++e)
        entries[static_cast<size_t>(e)] = {piece[static_cast<size_t>(e - begin)],
                                           static_cast<Index>(e)};
    }
  }
  // torch's KeyValueCompDesc / KeyValueCompAsc (NaN sorts as the largest value).
  if (descending)
    std::sort(entries.begin(), entries.end(), [](const Entry &a, const Entry &b) {
      return (std::isnan(a.key) && !std::isnan(b.key)) || a.key > b.key;
    });
  else
    std::sort(entries.begin(), entries.end(), [](const Entry &a, const Entry &b) {
      return (!std::isnan(a.key) && std::isnan(b.key)) || a.key < b.key;
    });
  std::vector<std::vector<bool>> masks;
  for (const MagnitudeCut &cut : cuts) {
    std::vector<bool> kept(n, false);
    // The kept positions hold every entry above the threshold and `quota` entries equal to it,
    // the ties nearest the kept end.
    int64_t left = cut.quota;
    for (size_t p = 0; p < n && left > 0; ++p) {
      const Entry &entry = entries[descending ? p : n - 1 - p];
      if (magnitude_bits(entry.key) == cut.threshold) {
        kept[static_cast<size_t>(entry.index)] = true;
        --left;
      }
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
