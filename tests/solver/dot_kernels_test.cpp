// The LMO's fused kernels against sums in double of the same values (decoded by LibTorch, not by
// the kernels' own conversion).
#include "solver/dot_kernels.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>

namespace {

struct Case {
  fw::DType dtype;
  at::ScalarType type;
};

TEST(DotKernels, MatchADoubleReferenceForEveryDtypeAndLength) {
  at::manual_seed(7);
  for (const Case c : {Case{fw::DType::F32, at::kFloat}, Case{fw::DType::BF16, at::kBFloat16},
                       Case{fw::DType::F16, at::kHalf}}) {
    // 0, shorter than a block, a block, and ragged lengths over several blocks.
    for (int64_t n : {int64_t{0}, int64_t{1}, int64_t{7}, fw::kDotBlock, int64_t{3 * 1024 + 5},
                      int64_t{65536}}) {
      const at::Tensor g = at::randn({n});
      const at::Tensor x = at::randn({n}).to(c.type);  // the stored values
      const at::Tensor xd = x.to(at::kDouble);
      const double want = at::dot(g.to(at::kDouble), xd).item<double>();
      const double want_sq = at::dot(xd, xd).item<double>();
      const double scale = at::dot(g.abs().to(at::kDouble), xd.abs()).item<double>();
      const double got = fw::dot_raw(g.data_ptr<float>(), x.data_ptr(), c.dtype, n);
      const double got_sq = fw::sq_norm_raw(x.data_ptr(), c.dtype, n);
      // fp32 partial sums over 1024-element blocks: a few fp32 roundings of the block's magnitude.
      EXPECT_NEAR(got, want, 1e-6 * scale + 1e-12) << "n " << n;
      EXPECT_NEAR(got_sq, want_sq, 1e-6 * want_sq + 1e-12) << "n " << n;
    }
  }
}

TEST(DotKernels, BF16IsTheTopHalfOfAnFp32) {
  // 1.0f is 0x3F800000 and -2.5f is 0xC0200000: their top halves, 0x3F80 and 0xC020.
  const uint16_t x[] = {0x3F80, 0xC020};
  const float g[] = {3.0f, 2.0f};
  EXPECT_EQ(fw::dot_raw(g, x, fw::DType::BF16, 2), 3.0 - 5.0);
  EXPECT_EQ(fw::sq_norm_raw(x, fw::DType::BF16, 2), 1.0 + 6.25);
  EXPECT_TRUE(fw::dot_raw_supported(fw::DType::F16));
  EXPECT_FALSE(fw::dot_raw_supported(fw::DType::I32));
}

}  // namespace
