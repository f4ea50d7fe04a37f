#include "merge/magnitude_select.h"

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
  fail(FW_ERR_INTERNAL, "magnitude select: fewer entries counted than k");
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
      low_.clear();
      low_.shrink_to_fit();
      return;
    }
    above += low_[b];
  }
  fail(FW_ERR_INTERNAL, "magnitude select: the two passes saw different data");
}

}  // namespace fw
