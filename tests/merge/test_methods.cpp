// Golden numbers for the data-free methods on small tensors (expected values worked out by hand
// in the comments, never by calling the code under test).
#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <cmath>

#include "capi/read_merge_params.h"
#include "merge/merge_spec.h"
#include "merge/methods.h"
#include "merge/model_stock.h"
#include "merge/sparsify.h"
#include "merge_test_util.h"
#include "util/error.h"

namespace {

using mt::expect_near;
using mt::vec;

fw::MergeSpec spec_of(fw::MergeMethod method) {
  fw::MergeSpec s;
  s.method = method;
  return s;
}

TEST(MergeMethods, LinearAverageAndWeights) {
  const at::Tensor base = vec({9, 9, 9, 9});  // not used by linear
  const at::Tensor a = vec({1, 2, 3, 4}), b = vec({3, 2, 1, 0});
  fw::MergeSpec s = spec_of(fw::MergeMethod::Linear);
  s.normalize = true;
  expect_near(fw::merge_tensor(s, base, {a, b}, 0), {2, 2, 2, 2});
  // (1 a + 3 b) / 4 = [10, 8, 6, 4] / 4
  s.weights = {1, 3};
  expect_near(fw::merge_tensor(s, base, {a, b}, 0), {2.5f, 2, 1.5f, 1});
  s.normalize = false;
  expect_near(fw::merge_tensor(s, base, {a, b}, 0), {10, 8, 6, 4});
}

TEST(MergeMethods, TaskArithmetic) {
  const at::Tensor base = vec({1, 1, 1, 1});
  const at::Tensor m1 = vec({2, 0, 1, 3});  // tau1 = [1, -1, 0, 2]
  const at::Tensor m2 = vec({0, 1, 3, 1});  // tau2 = [-1, 0, 2, 0]
  fw::MergeSpec s = spec_of(fw::MergeMethod::TaskArithmetic);
  s.scaling = 0.5;
  s.normalize = false;
  // 1 + 0.5 * [0, -1, 2, 2]
  expect_near(fw::merge_tensor(s, base, {m1, m2}, 0), {1, 0.5f, 2, 2});
  // (1 tau1 + 3 tau2) / 4 = [-0.5, -0.25, 1.5, 0.5]; 1 + 0.5 * that
  s.weights = {1, 3};
  s.normalize = true;
  expect_near(fw::merge_tensor(s, base, {m1, m2}, 0), {0.75f, 0.875f, 1.75f, 1.25f});
}

TEST(MergeMethods, DensityRoundsHalfUp) {
  EXPECT_EQ(fw::fraction_count(0.25, 10), 3);  // 2.5 -> 3
  EXPECT_EQ(fw::fraction_count(0.24, 10), 2);  // 2.4 -> 2
  EXPECT_EQ(fw::fraction_count(0.15, 10), 2);  // 1.5 -> 2
  EXPECT_EQ(fw::fraction_count(0.04, 10), 0);
  EXPECT_EQ(fw::fraction_count(1.0, 7), 7);
  // TIES keeps at least one entry: 0.04 * 10 rounds to 0, the largest survives.
  expect_near(fw::magnitude_trim(vec({1, -7, 3, 2, 0, 0, 0, 0, 0, 0}), 0.04),
              {0, -7, 0, 0, 0, 0, 0, 0, 0, 0});
  // 0.25 * 10 = 2.5 -> 3 kept: 10, -9, 8.
  expect_near(fw::magnitude_trim(vec({1, -2, 3, -4, 5, -6, 7, 8, -9, 10}), 0.25),
              {0, 0, 0, 0, 0, 0, 0, 8, -9, 10});
}

TEST(MergeMethods, TrimTiesAtThresholdKeepLowerIndex) {
  // k = 3 of 6: 3 (i0) and -3 (i3), then 2 at i2 and i4 tie: i2 is kept.
  expect_near(fw::magnitude_trim(vec({3, -1, 2, -3, 2, 0.5f}), 0.5), {3, 0, 2, -3, 0, 0});
  // Four equal magnitudes, k = 2: the first two by index.
  expect_near(fw::magnitude_trim(vec({-1, 1, -1, 1}), 0.5), {-1, 1, 0, 0});
  // Shape is kept for matrices (flat, row-major index order).
  const at::Tensor m = fw::magnitude_trim(vec({1, 5, 5, 2}, {2, 2}), 0.25);
  EXPECT_EQ(m.sizes(), (std::vector<int64_t>{2, 2}));
  expect_near(m, {0, 5, 0, 0});
}

TEST(MergeMethods, TiesGolden) {
  const at::Tensor base = vec({0.5f, 0.5f, 0.5f, 0.5f, 0.5f});
  // Task vectors (member = base + tau):
  //   tau1 = [ 3, -2, 1,  0.5, -1  ]  trim k=3 -> [ 3, -2, 1, 0, 0]  (1 at i2 beats 1 at i4)
  //   tau2 = [-1, -4, 2, -0.5,  1  ]  trim      -> [-1, -4, 2, 0, 0]  (1 at i0 beats 1 at i4)
  //   tau3 = [-1,  1, 0,  2,    0.4]  trim      -> [-1,  1, 0, 2, 0]
  // sums [1, -5, 3, 2, 0] -> signs [+, -, +, +, none]
  // disjoint means [3, (-2-4)/2, (1+2)/2, 2, 0] = [3, -3, 1.5, 2, 0]; scaling 0.5.
  const std::vector<at::Tensor> members = {base + vec({3, -2, 1, 0.5f, -1}),
                                           base + vec({-1, -4, 2, -0.5f, 1}),
                                           base + vec({-1, 1, 0, 2, 0.4f})};
  fw::MergeSpec s = spec_of(fw::MergeMethod::Ties);
  s.density = 0.6;
  s.scaling = 0.5;
  s.normalize = true;
  expect_near(fw::merge_tensor(s, base, members, 0), {2, -1, 1.25f, 1.5f, 0.5f});
  // Disjoint sum instead of mean: [3, -6, 3, 2, 0] * 0.5.
  s.normalize = false;
  expect_near(fw::merge_tensor(s, base, members, 0), {2, -2.5f, 2, 1.5f, 0.5f});
}

TEST(MergeMethods, TiesZeroSumElectsNoSign) {
  const at::Tensor base = vec({1, 1});
  // e0: 2 + (-2) = 0 -> no member agrees, stays at the base; e1: both +1 -> mean 1.
  fw::MergeSpec s = spec_of(fw::MergeMethod::Ties);
  s.density = 1.0;
  s.normalize = true;
  expect_near(fw::merge_tensor(s, base, {base + vec({2, 1}), base + vec({-2, 1})}, 0), {1, 2});
}

TEST(MergeMethods, TiesWeightedElection) {
  const at::Tensor base = vec({0, 0});
  // weighted: 2*[1, -1] = [2, -2], 1*[-1, 3] = [-1, 3]; sums [1, 1] -> [+, +].
  // e0: only member 0 agrees: 2 / 2 = 1; e1: only member 1: 3 / 1 = 3. Sum form: [2, 3].
  fw::MergeSpec s = spec_of(fw::MergeMethod::Ties);
  s.density = 1.0;
  s.weights = {2, 1};
  s.normalize = true;
  expect_near(fw::merge_tensor(s, base, {vec({1, -1}), vec({-1, 3})}, 0), {1, 3});
  s.normalize = false;
  expect_near(fw::merge_tensor(s, base, {vec({1, -1}), vec({-1, 3})}, 0), {2, 3});
}

TEST(MergeMethods, BreadcrumbsKeepsTheMiddleBand) {
  const at::Tensor x = vec({0.1f, -5, 3, -2, 1, 0.5f, -4, 2.5f, 0.2f, 1.5f});
  // beta 0.2: drop the top 2 (-5, -4); density 0.5: keep the next 5 (3, 2.5, -2, 1.5, 1).
  expect_near(fw::breadcrumbs_trim(x, 0.5, 0.2), {0, 0, 3, -2, 1, 0, 0, 2.5f, 0, 1.5f});
  // density 0.9 keeps 9, so only 1 can go at the top (-5).
  expect_near(fw::breadcrumbs_trim(x, 0.9, 0.2), {0.1f, 0, 3, -2, 1, 0.5f, -4, 2.5f, 0.2f, 1.5f});
  // Through the method: base 1, two members with the same tau -> 1 + scaling * 2 * trimmed.
  fw::MergeSpec s = spec_of(fw::MergeMethod::Breadcrumbs);
  s.density = 0.5;
  s.beta = 0.2;
  s.scaling = 0.5;
  s.normalize = false;
  const at::Tensor base = at::ones({10});
  expect_near(fw::merge_tensor(s, base, {base + x, base + x}, 0),
              {1, 1, 4, -1, 2, 1, 1, 3.5f, 1, 2.5f});
}

TEST(MergeMethods, PerMemberDensitiesAndBetas) {
  // TIES, base 0, scaling 1, normalize off (disjoint sum of agreeing entries).
  // tau1 = [4, -3, 2, 1] with density 0.5 keeps its top 2: [4, -3, 0, 0].
  // tau2 = [1, 2, 3, -4] with density 0.25 keeps its top 1: [0, 0, 0, -4].
  // Signs of the sums: [+, -, 0 -> no sign, -]; disjoint sum: [4, -3, 0, -4].
  const at::Tensor base = vec({0, 0, 0, 0});
  fw::MergeSpec s = spec_of(fw::MergeMethod::Ties);
  s.normalize = false;
  s.densities = {0.5, 0.25};
  expect_near(fw::merge_tensor(s, base, {vec({4, -3, 2, 1}), vec({1, 2, 3, -4})}, 0),
              {4, -3, 0, -4});
  // Breadcrumbs, one member of 10 entries with beta_1 0.2 and density_1 0.5 (the middle band of
  // BreadcrumbsKeepsTheMiddleBand: [0, 0, 3, -2, 1, 0, 0, 2.5, 0, 1.5]); the second member has
  // beta 0 and density 0.1: its single largest entry, 6 at index 0. Sum with scaling 1.
  const at::Tensor x = vec({0.1f, -5, 3, -2, 1, 0.5f, -4, 2.5f, 0.2f, 1.5f});
  const at::Tensor y = vec({6, 0, 0, 0, 0, 0, 0, 0, 0, 1});
  fw::MergeSpec b = spec_of(fw::MergeMethod::Breadcrumbs);
  b.normalize = false;
  b.densities = {0.5, 0.1};
  b.betas = {0.2, 0.0};
  expect_near(fw::merge_tensor(b, at::zeros({10}), {x, y}, 0),
              {6, 0, 3, -2, 1, 0, 0, 2.5f, 0, 1.5f});
  // DARE: a per-member density is the keep probability; density 1 keeps every entry unscaled, so
  // member 1 passes through whatever the seed while the scalar drop_rate 0.9 is overridden.
  fw::MergeSpec d = spec_of(fw::MergeMethod::DareLinear);
  d.drop_rate = 0.9;
  d.densities = {1.0};
  d.normalize = false;
  expect_near(fw::merge_tensor(d, base, {vec({1, -2, 3, -4})}, 0), {1, -2, 3, -4});
  EXPECT_DOUBLE_EQ(d.drop_rate_of(0), 0.0);
}

TEST(MergeMethods, ModelStockTwoAndThreeMembers) {
  // tau1 = [1, 0], tau2 = [1, 1]: cos = 1/sqrt(2), t = 2c / (1 + c) = 2 (sqrt(2) - 1) = 0.828427;
  // merged = base + t * mean tau = [1, 2] + 0.828427 * [1, 0.5].
  const at::Tensor base = vec({1, 2});
  fw::MergeSpec s = spec_of(fw::MergeMethod::ModelStock);
  expect_near(fw::merge_tensor(s, base, {base + vec({1, 0}), base + vec({1, 1})}, 0),
              {1.8284271f, 2.4142136f}, 1e-5);
  // Three: pairwise cos 0, 1/sqrt2, 1/sqrt2 -> c = sqrt(2)/3 = 0.4714045,
  // t = 3c / (1 + 2c) = 0.7279221; mean tau = [2/3, 2/3, 0].
  const at::Tensor zero = at::zeros({3});
  expect_near(fw::merge_tensor(s, zero, {vec({1, 0, 0}), vec({0, 1, 0}), vec({1, 1, 0})}, 0),
              {0.4852814f, 0.4852814f, 0}, 1e-5);
  // Opposed task vectors: cos < 0 is clamped to 0, t = 0, the base is returned.
  expect_near(fw::merge_tensor(s, base, {base + vec({1, 0}), base + vec({-1, 0.1f})}, 0), {1, 2});
  // A zero task vector counts as cos 0.
  expect_near(fw::merge_tensor(s, base, {base, base + vec({1, 1})}, 0), {1, 2});
}

TEST(MergeMethods, SplitMix64MatchesPublishedOutputs) {
  // Reference outputs of SplitMix64 seeded with 0 (Vigna's splitmix64.c).
  EXPECT_EQ(mt::SplitMix64::nth(0, 0), 0xE220A8397B1DCDAFULL);
  EXPECT_EQ(mt::SplitMix64::nth(0, 1), 0x6E789E6AA1B965F4ULL);
  EXPECT_EQ(mt::SplitMix64::nth(0, 2), 0x06C45D188009454FULL);
}

TEST(MergeMethods, DareMatchesIndependentGenerator) {
  const int64_t n = 2000;
  const at::Tensor tau = at::linspace(-3, 5, n);
  const double p = 0.3;
  const uint64_t seed = 42, tensor = 5, member = 2;
  const std::vector<float> expected = mt::dare_reference(mt::values(tau), p, seed, tensor, member);
  fw::MergeSpec s = spec_of(fw::MergeMethod::DareLinear);
  s.drop_rate = p;
  s.seed = seed;
  const at::Tensor got = fw::prepare_member(s, at::zeros({n}), tau, tensor, member);
  const std::vector<float> g = mt::values(got), t = mt::values(tau);
  int64_t dropped = 0;
  for (int64_t e = 0; e < n; ++e) {
    ASSERT_EQ(g[e], expected[e]) << "entry " << e;
    dropped += expected[e] == 0.0f && t[e] != 0.0f;
  }
  // ~30 % dropped (binomial sd ~1 %).
  EXPECT_GT(dropped, n * 0.25);
  EXPECT_LT(dropped, n * 0.35);
  // Another member draws another stream.
  EXPECT_FALSE(mt::same_bytes(got, fw::prepare_member(s, at::zeros({n}), tau, tensor, member + 1)));
}

TEST(MergeMethods, DareLinearAndTiesGolden) {
  // Two members, drop 0.5 with seed 7 on tensor 3; the expected drops come from the test's own
  // generator, then task arithmetic / TIES by hand on the result.
  const at::Tensor base = vec({1, 1, 1, 1, 1, 1, 1, 1});
  const std::vector<float> t1 = {1, -2, 3, -4, 5, -6, 7, -8}, t2 = {-1, -1, 2, 2, -3, 3, 4, 4};
  const std::vector<float> d1 = mt::dare_reference(t1, 0.5, 7, 3, 0);
  const std::vector<float> d2 = mt::dare_reference(t2, 0.5, 7, 3, 1);
  fw::MergeSpec s = spec_of(fw::MergeMethod::DareLinear);
  s.drop_rate = 0.5;
  s.seed = 7;
  s.scaling = 0.25;
  s.normalize = false;
  std::vector<float> lin(8), ties(8);
  for (size_t e = 0; e < 8; ++e) {
    lin[e] = 1 + 0.25f * (d1[e] + d2[e]);
    const float sum = d1[e] + d2[e];
    const float sign = sum > 0 ? 1.f : (sum < 0 ? -1.f : 0.f);
    float acc = 0;
    for (float d : {d1[e], d2[e]})
      if (d != 0 && (d > 0 ? 1.f : -1.f) == sign) acc += d;
    ties[e] = 1 + 0.25f * acc;
  }
  const std::vector<at::Tensor> members = {base + vec(t1), base + vec(t2)};
  expect_near(fw::merge_tensor(s, base, members, 3), lin, 1e-5);
  s.method = fw::MergeMethod::DareTies;
  expect_near(fw::merge_tensor(s, base, members, 3), ties, 1e-5);
  // p = 0 is plain task arithmetic: 1 + 0.25 * (t1 + t2).
  s.method = fw::MergeMethod::DareLinear;
  s.drop_rate = 0.0;
  expect_near(fw::merge_tensor(s, base, members, 3),
              {1, 0.25f, 2.25f, 0.5f, 1.5f, 0.25f, 3.75f, 0});
}

TEST(MergeMethods, ThreadCountDoesNotChangeAnyByte) {
  const int saved = at::get_num_threads();
  at::manual_seed(3);
  const at::Tensor base = at::randn({700, 300});
  std::vector<at::Tensor> members;
  for (int i = 0; i < 3; ++i) members.push_back(base + at::randn({700, 300}));
  for (fw::MergeMethod m :
       {fw::MergeMethod::Linear, fw::MergeMethod::TaskArithmetic, fw::MergeMethod::Ties,
        fw::MergeMethod::DareLinear, fw::MergeMethod::DareTies, fw::MergeMethod::Breadcrumbs,
        fw::MergeMethod::ModelStock, fw::MergeMethod::BreadcrumbsTies}) {
    const fw_merge_params p = fw::capi::public_merge_params(m);
    const fw::MergeSpec s = fw::capi::read_merge_params(&p, members.size());
    at::set_num_threads(1);
    const at::Tensor one = fw::merge_tensor(s, base, members, 4);
    at::set_num_threads(2);
    const at::Tensor two = fw::merge_tensor(s, base, members, 4);
    EXPECT_TRUE(mt::same_bytes(one, two)) << fw::merge_method_name(m);
  }
  at::set_num_threads(saved);
}

}  // namespace
