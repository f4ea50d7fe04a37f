// mergekit's order among equal magnitudes on tie-heavy task vectors (bf16 fine-tunes a few ulps
// from their base: most magnitudes are ties): argsort_tie_masks, which replays std::sort only
// where a cut's boundary lies, against two references it does not use: LibTorch's own unstable
// CPU sort (at::sort, the kernel behind torch.argsort) and the indices torch 2.15 kept in the peer
// venv (scripts/peers/tie_order_expected.py, values pasted below).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iterator>
#include <vector>

#include "merge/magnitude_select.h"

namespace {

// The trim threshold of the k largest |x| (MagnitudeSelect's two passes over the whole vector).
fw::MagnitudeCut cut_of(const std::vector<float> &x, int64_t k) {
  fw::MagnitudeSelect sel(k, static_cast<int64_t>(x.size()));
  if (sel.needs_passes()) {
    sel.count_high(x.data(), static_cast<int64_t>(x.size()));
    sel.finish_high();
    sel.count_low(x.data(), static_cast<int64_t>(x.size()));
    sel.finish_low();
  }
  return sel.cut();
}

fw::MagnitudeReader reader_of(const std::vector<float> &x) {
  return [&x](int64_t begin, int64_t end, float *out) {
    for (int64_t e = begin; e < end; ++e) out[e - begin] = std::fabs(x[static_cast<size_t>(e)]);
  };
}

// Which entries at positions [lo, hi) of at::sort(|x|) equal the threshold `bits`.
std::vector<bool> torch_tie_mask(const std::vector<float> &x, bool descending, int64_t lo,
                                 int64_t hi, uint32_t bits) {
  const at::Tensor mag =
      at::from_blob(const_cast<float *>(x.data()), {static_cast<int64_t>(x.size())}, at::kFloat)
          .abs();
  const at::Tensor idx = std::get<1>(at::sort(mag, /*stable=*/false, /*dim=*/0, descending));
  const int64_t *p = idx.data_ptr<int64_t>();
  std::vector<bool> mask(x.size(), false);
  for (int64_t pos = lo; pos < hi; ++pos) {
    const size_t e = static_cast<size_t>(p[pos]);
    if (fw::magnitude_bits(x[e]) == bits) mask[e] = true;
  }
  return mask;
}

// A bf16-like task vector: each entry is d ulps of a base value's bf16 exponent, d in -3..3 with
// zeros the most common, over a few exponents: four magnitudes per exponent, all of them ties.
std::vector<float> ulp_task_vector(size_t n, uint64_t seed) {
  std::vector<float> x(n);
  uint64_t state = seed;
  for (float &v : x) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    const int r = static_cast<int>((state >> 33) % 10);
    const int d = r < 4 ? 0 : r < 7 ? (r % 2 ? 1 : -1) : r < 9 ? (r % 2 ? 2 : -2) : 3;
    const int exponent = -13 - static_cast<int>((state >> 45) % 3);  // bf16 ulps of |base| ~ 0.02
    v = std::ldexp(static_cast<float>(d), exponent);
  }
  return x;
}

TEST(ArgsortTieMasks, KeepTheTiesLibTorchsSortKeepsOnUlpTaskVectors) {
  for (const size_t n : {size_t{17}, size_t{100}, size_t{4099}, size_t{100003}, size_t{1} << 20}) {
    const std::vector<float> x = ulp_task_vector(n, 7 + n);
    const int64_t numel = static_cast<int64_t>(n);
    for (const double density : {0.05, 0.3, 0.5, 0.9}) {
      // TIES: the first k positions of the descending sort.
      const int64_t k =
          std::max<int64_t>(1, static_cast<int64_t>(density * static_cast<double>(n)));
      const fw::MagnitudeCut keep = cut_of(x, k);
      const std::vector<std::vector<bool>> ties =
          fw::argsort_tie_masks(numel, reader_of(x), {keep}, true);
      if (keep.splits_ties()) {
        EXPECT_EQ(ties[0], torch_tie_mask(x, true, 0, k, keep.threshold))
            << "n " << n << " density " << density;
      }
      // Breadcrumbs, two cuts in one replay: ascending, the last (keep + top) and the last top
      // positions.
      const int64_t top = numel / 10, kept = static_cast<int64_t>(density * 0.8 * numel);
      const std::vector<fw::MagnitudeCut> cuts = {cut_of(x, kept + top), cut_of(x, top)};
      const std::vector<std::vector<bool>> crumbs =
          fw::argsort_tie_masks(numel, reader_of(x), cuts, false);
      const int64_t widths[2] = {kept + top, top};
      for (size_t c = 0; c < 2; ++c) {
        if (cuts[c].splits_ties()) {
          EXPECT_EQ(crumbs[c],
                    torch_tie_mask(x, false, numel - widths[c], numel, cuts[c].threshold))
              << "n " << n << " density " << density << " cut " << c;
        }
      }
    }
  }
}

// scripts/peers/tie_order_expected.py's task vector: (d - 3) * 2^-9, d from the same LCG.
std::vector<float> peer_task_vector(size_t n, uint64_t seed) {
  std::vector<float> x(n);
  uint64_t state = seed;
  for (float &v : x) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    v = std::ldexp(static_cast<float>(static_cast<int>((state >> 33) % 7) - 3), -9);
  }
  return x;
}

// The kept entries: those above the threshold and the ties the mask flags.
std::vector<int64_t> kept_indices(const std::vector<float> &x, const fw::MagnitudeCut &cut,
                                  const std::vector<bool> &ties) {
  std::vector<int64_t> kept;
  for (size_t e = 0; e < x.size(); ++e) {
    const uint32_t bits = fw::magnitude_bits(x[e]);
    if (bits > cut.threshold || (bits == cut.threshold && ties[e]))
      kept.push_back(static_cast<int64_t>(e));
  }
  return kept;
}

TEST(ArgsortTieMasks, KeepWhatTorch215KeptInThePeerVenv) {
  const std::vector<float> x = peer_task_vector(300, 2026);
  // torch 2.15.0: sorted(torch.argsort(|tau|, descending=True)[:90]).
  const std::vector<int64_t> torch_ties = {
      1,   3,   4,   8,   11,  15,  19,  22,  25,  26,  35,  37,  41,  43,  53,  54,  55,  66,
      67,  69,  73,  74,  77,  81,  83,  85,  90,  104, 106, 108, 112, 113, 115, 126, 127, 128,
      131, 132, 133, 135, 146, 147, 149, 151, 152, 154, 159, 165, 172, 173, 174, 175, 181, 182,
      184, 187, 189, 192, 193, 198, 199, 207, 209, 210, 211, 214, 217, 220, 222, 224, 232, 234,
      236, 240, 242, 244, 246, 251, 252, 256, 258, 268, 269, 270, 275, 284, 287, 288, 297, 299};
  // torch 2.15.0: sorted(torch.sort(|tau|).indices[150:270]) (density 0.4, gamma 0.1).
  const std::vector<int64_t> torch_crumbs = {
      0,   1,   2,   3,   4,   5,   6,   8,   11,  13,  14,  15,  19,  22,  23,  25,  26,  29,
      35,  36,  37,  38,  41,  43,  45,  46,  47,  48,  50,  53,  54,  55,  59,  63,  66,  67,
      69,  71,  73,  74,  76,  77,  78,  81,  83,  84,  85,  86,  88,  90,  91,  92,  93,  99,
      102, 104, 106, 107, 108, 112, 113, 115, 116, 117, 118, 119, 120, 124, 126, 127, 130, 134,
      141, 164, 180, 181, 182, 184, 187, 199, 232, 234, 236, 240, 242, 243, 244, 245, 246, 247,
      250, 251, 252, 256, 257, 258, 265, 266, 268, 269, 270, 272, 273, 275, 277, 278, 283, 284,
      286, 287, 288, 290, 291, 292, 293, 294, 295, 297, 298, 299};

  const fw::MagnitudeCut keep = cut_of(x, 90);
  ASSERT_TRUE(keep.splits_ties());
  const std::vector<bool> ties = fw::argsort_tie_masks(300, reader_of(x), {keep}, true)[0];
  EXPECT_EQ(kept_indices(x, keep, ties), torch_ties);
  // Lower index first (fwmerge's own order) keeps another set: the order is what is tested.
  std::vector<bool> first_ties(300, false);
  int64_t left = keep.quota;
  for (size_t e = 0; e < 300 && left > 0; ++e)
    if (fw::magnitude_bits(x[e]) == keep.threshold) first_ties[e] = true, --left;
  EXPECT_NE(kept_indices(x, keep, first_ties), torch_ties);

  // Breadcrumbs: the 150 largest minus the 30 largest, both cuts in the ascending order.
  const std::vector<fw::MagnitudeCut> cuts = {cut_of(x, 150), cut_of(x, 30)};
  const std::vector<std::vector<bool>> masks =
      fw::argsort_tie_masks(300, reader_of(x), cuts, false);
  std::vector<int64_t> crumbs;
  const std::vector<int64_t> upper = kept_indices(x, cuts[0], masks[0]),
                             top = kept_indices(x, cuts[1], masks[1]);
  std::set_difference(upper.begin(), upper.end(), top.begin(), top.end(),
                      std::back_inserter(crumbs));
  EXPECT_EQ(crumbs, torch_crumbs);
}

}  // namespace
