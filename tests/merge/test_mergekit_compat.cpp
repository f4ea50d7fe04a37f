// mergekit_compat (fw_merge_params.mergekit_compat): each convention that differs from fwmerge's,
// on a case worked out by hand from mergekit 0.1.5's code (generalized_task_arithmetic.py,
// sparsify.py), next to fwmerge's own result for the same inputs.
#include <gtest/gtest.h>

#include <cmath>

#include "io/checkpoint.h"
#include "merge/mergekit_compat.h"
#include "merge/streaming.h"
#include "merge_test_util.h"
#include "test_support.h"

namespace {

// Merges one tensor "w" of base + members (F32 files) and returns the merged values.
std::vector<float> merged(const fw::MergeSpec &spec, const std::vector<float> &base,
                          const std::vector<std::vector<float>> &members) {
  const std::string dir = fwtest::temp_dir("mergekit_compat");
  const int64_t n = static_cast<int64_t>(base.size());
  fwtest::write_safetensors(dir + "/base.safetensors", {{"w", {n}, base}});
  auto b = fw::open_checkpoint(dir + "/base.safetensors", nullptr);
  std::vector<std::unique_ptr<fw::Checkpoint>> owned;
  std::vector<const fw::Checkpoint *> pool;
  for (size_t i = 0; i < members.size(); ++i) {
    const std::string path = dir + "/m" + std::to_string(i) + ".safetensors";
    fwtest::write_safetensors(path, {{"w", {n}, members[i]}});
    owned.push_back(fw::open_checkpoint(path, b.get()));
    pool.push_back(owned.back().get());
  }
  std::vector<float> out;
  fw::merge_streaming(spec, *b, pool,
                      [&](size_t, const fw::TensorMeta &, at::Tensor t) { out = mt::values(t); });
  return out;
}

fw::MergeSpec spec(fw::MergeMethod method, bool mergekit) {
  fw::MergeSpec s;
  s.method = method;
  s.scaling = 1.0;
  s.normalize = true;
  s.mergekit = mergekit;
  s.compute_dtype = fw::DType::F32;
  return s;
}

TEST(MergekitCompat, AZeroSignSumElectsPlus) {
  // tau = [+1, -1] at one entry: the sum 0 elects + in mergekit, so only +1 agrees: 0 + 1 / 1.
  // fwmerge elects no sign there and keeps the base.
  const std::vector<float> base = {0, 0}, a = {1, 2}, b = {-1, 2};
  EXPECT_EQ(merged(spec(fw::MergeMethod::Ties, true), base, {a, b}), (std::vector<float>{1, 2}));
  EXPECT_EQ(merged(spec(fw::MergeMethod::Ties, false), base, {a, b}), (std::vector<float>{0, 2}));
}

TEST(MergekitCompat, DensityIsTruncatedNotRounded) {
  // density 0.5 of 3 entries: mergekit keeps max(1, int(1.5)) = 1, fwmerge round(1.5) = 2.
  fw::MergeSpec s = spec(fw::MergeMethod::Ties, true);
  s.density = 0.5;
  const std::vector<float> base = {0, 0, 0}, a = {3, -2, 1};
  EXPECT_EQ(merged(s, base, {a}), (std::vector<float>{3, 0, 0}));
  s.mergekit = false;
  EXPECT_EQ(merged(s, base, {a}), (std::vector<float>{3, -2, 0}));
  // Breadcrumbs: density 0.5, gamma 0.25 of 4 entries: target 2, top 1, bottom 1: the sorted
  // positions [1, 3) from the smallest, i.e. the 2nd and 3rd largest magnitudes.
  const fw::mergekit::TrimRanks r = fw::mergekit::breadcrumbs_ranks(0.5, 0.25, 4);
  EXPECT_EQ(r.keep, 3);
  EXPECT_EQ(r.drop, 1);
  EXPECT_TRUE(fw::mergekit::ties_ranks(1.0, 4).all);
  fw::MergeSpec bc = spec(fw::MergeMethod::Breadcrumbs, true);
  bc.density = 0.5;
  bc.beta = 0.25;
  bc.normalize = false;
  EXPECT_EQ(merged(bc, {0, 0, 0, 0}, {{4, -3, 2, 1}}), (std::vector<float>{0, -3, 2, 0}));
}

TEST(MergekitCompat, EveryStepRoundsToTheComputeDtype) {
  // In bf16: tau = bf16(1.1) = 1.1015625 (8 significant bits), weight 1, no normalize, lambda 1:
  // the F32 output holds 0 + 1.1015625. fwmerge (fp32) gives 1.1.
  fw::MergeSpec s = spec(fw::MergeMethod::TaskArithmetic, true);
  s.normalize = false;
  s.compute_dtype = fw::DType::BF16;
  EXPECT_EQ(merged(s, {0}, {{1.1f}}), (std::vector<float>{1.1015625f}));
  s.mergekit = false;
  s.compute_dtype = std::nullopt;
  EXPECT_EQ(merged(s, {0}, {{1.1f}}), (std::vector<float>{1.1f}));
  // Weights are rounded too: 0.3 in bf16 is 0.30078125; 2 * that = 0.6015625.
  s.mergekit = true;
  s.compute_dtype = fw::DType::BF16;
  s.weights = {0.3};
  EXPECT_EQ(merged(s, {0}, {{2.0f}}), (std::vector<float>{0.6015625f}));
}

TEST(MergekitCompat, DareRescalesToTheL1NormOfTheTaskVector) {
  // mergekit's rescale: the survivors times ||tau||_1 / ||kept||_1, so the merged task vector keeps
  // the L1 norm of tau (fwmerge divides by the keep probability instead).
  std::vector<float> base(4096, 0.0f), a(4096);
  double l1 = 0;
  for (size_t e = 0; e < a.size(); ++e) {
    a[e] = 0.25f + 0.001f * static_cast<float>(e % 97);
    l1 += a[e];
  }
  fw::MergeSpec s = spec(fw::MergeMethod::DareLinear, true);
  s.drop_rate = 0.6;
  s.normalize = false;
  s.seed = 7;
  const std::vector<float> out = merged(s, base, {a});
  double got = 0;
  size_t kept = 0;
  for (float v : out) {
    got += std::fabs(v);
    kept += v != 0.0f;
  }
  EXPECT_NEAR(got / l1, 1.0, 1e-5);
  EXPECT_NEAR(static_cast<double>(kept) / 4096.0, 0.4, 0.03);  // keep probability 1 - 0.6
}

}  // namespace

// mergekit_compat 2: the equal magnitudes at the threshold that are kept are those torch's CPU
// argsort keeps (mergekit's sparsify: argsort(|tau|.float(), descending)[:k] for TIES,
// sort(|tau|).indices[n_bot:-n_top] for breadcrumbs). The oracle is LibTorch's own unstable CPU
// sort (at::sort, the kernel torch.argsort runs), not this library's code. One member, so the
// merge is the masked task vector itself. The task vector takes 7 values: thresholds always split
// ties, across chunk borders (3 chunks).
TEST(MergekitCompat, TieOrderTwoKeepsTheTiesTorchsArgsortKeeps) {
  const int64_t n = 2 * fw::kMergeChunk + 1000;
  std::vector<float> base(static_cast<size_t>(n), 0.0f), tau(static_cast<size_t>(n));
  uint64_t state = 12345;
  for (float &v : tau) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    v = 0.25f * static_cast<float>(static_cast<int>((state >> 33) % 7) - 3);
  }
  const at::Tensor magnitudes = mt::vec(tau).abs();
  const auto torch_mask = [&](bool descending, int64_t lo, int64_t hi) {
    const at::Tensor idx =
        std::get<1>(at::sort(magnitudes, /*stable=*/false, /*dim=*/0, descending));
    std::vector<float> mask(static_cast<size_t>(n), 0.0f);
    const int64_t *p = idx.data_ptr<int64_t>();
    for (int64_t pos = lo; pos < hi; ++pos) mask[static_cast<size_t>(p[pos])] = 1.0f;
    return mask;
  };
  const auto masked = [&](const std::vector<float> &mask) {
    std::vector<float> out(tau.size());
    for (size_t e = 0; e < tau.size(); ++e) out[e] = tau[e] * mask[e];
    return out;
  };
  fw::MergeSpec ties = spec(fw::MergeMethod::Ties, true);
  ties.density = 0.3;
  ties.normalize = false;
  ties.mergekit_tie_order = true;
  const int64_t k = static_cast<int64_t>(0.3 * static_cast<double>(n));
  const std::vector<float> expected_ties = masked(torch_mask(true, 0, k));
  EXPECT_EQ(merged(ties, base, {tau}), expected_ties);
  // Without it the ties are kept lower index first: another set of the same size.
  ties.mergekit_tie_order = false;
  EXPECT_NE(merged(ties, base, {tau}), expected_ties);

  fw::MergeSpec crumbs = spec(fw::MergeMethod::Breadcrumbs, true);
  crumbs.density = 0.4;
  crumbs.beta = 0.1;
  crumbs.normalize = false;
  crumbs.mergekit_tie_order = true;
  const int64_t target = static_cast<int64_t>(0.4 * static_cast<double>(n)),
                top = static_cast<int64_t>(0.1 * static_cast<double>(n)), bottom = n - target - top;
  EXPECT_EQ(merged(crumbs, base, {tau}), masked(torch_mask(false, bottom, n - top)));
}

// mergekit_compat 2 spreads the members' tie orders over the threads (streaming.cpp:
// argsort_ties): the merge of a tie-heavy pool must not depend on how many run at once.
TEST(MergekitCompat, TieOrderTwoGivesTheSameMergeOnOneAndTwoThreads) {
  const int64_t n = fw::kMergeChunk + 4097;
  std::vector<float> base(static_cast<size_t>(n), 0.0f);
  std::vector<std::vector<float>> taus(4, std::vector<float>(static_cast<size_t>(n)));
  uint64_t state = 99;
  for (std::vector<float> &tau : taus)
    for (float &v : tau) {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      v = std::ldexp(static_cast<float>(static_cast<int>((state >> 33) % 7) - 3), -9);
    }
  for (const fw::MergeMethod method : {fw::MergeMethod::Ties, fw::MergeMethod::BreadcrumbsTies}) {
    fw::MergeSpec s = spec(method, true);
    s.density = 0.3;
    s.beta = 0.1;
    s.mergekit_tie_order = true;
    s.threads = 1;
    const std::vector<float> one = merged(s, base, taus);
    s.threads = 2;
    EXPECT_EQ(merged(s, base, taus), one);
    // And the order is mergekit's, not lower index first: the merge differs from that one.
    s.mergekit_tie_order = false;
    EXPECT_NE(merged(s, base, taus), one);
  }
}
