// Parameter validation and the FW step merge functions.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "capi/read_merge_params.h"
#include "capi/status_map.h"
#include "merge/merge_fns.h"
#include "merge/merge_spec.h"
#include "merge_test_util.h"
#include "util/error.h"

namespace {

using mt::expect_near;
using mt::vec;

fw_status spec_status(const fw_merge_params &p, size_t n) {
  try {
    fw::capi::read_merge_params(&p, n);
    return FW_OK;
  } catch (const fw::Error &e) {
    return fw::capi::to_public(e.code());
  }
}

fw::MergeSpec read_spec(const fw_merge_params &p, size_t n) {
  return fw::capi::read_merge_params(&p, n);
}

TEST(MergeSpec, DefaultsPerMethod) {
  fw_merge_params p = fw_default_merge_params(FW_MERGE_METHOD_TIES);
  EXPECT_EQ(p.struct_size, sizeof(fw_merge_params));
  EXPECT_DOUBLE_EQ(p.density, 0.2);
  EXPECT_DOUBLE_EQ(p.scaling, 1.0);
  EXPECT_EQ(p.normalize, 1);
  p = fw_default_merge_params(FW_MERGE_METHOD_TASK_ARITHMETIC);
  EXPECT_DOUBLE_EQ(p.scaling, 0.3);
  EXPECT_EQ(p.normalize, 0);
  p = fw_default_merge_params(FW_MERGE_METHOD_DARE_TIES);
  EXPECT_DOUBLE_EQ(p.drop_rate, 0.9);
  p = fw_default_merge_params(FW_MERGE_METHOD_BREADCRUMBS);
  EXPECT_DOUBLE_EQ(p.density, 0.9);
  EXPECT_DOUBLE_EQ(p.beta, 0.01);
  for (int m = FW_MERGE_METHOD_LINEAR; m <= FW_MERGE_METHOD_BREADCRUMBS_TIES; ++m)
    EXPECT_EQ(spec_status(fw_default_merge_params(static_cast<fw_merge_method>(m)), 3), FW_OK);
}

TEST(MergeSpec, RejectsOutOfRangeValues) {
  fw_merge_params p = fw_default_merge_params(FW_MERGE_METHOD_TIES);
  for (double d : {0.0, -0.1, 1.0000001, std::nan("")}) {
    p.density = d;
    EXPECT_EQ(spec_status(p, 2), FW_ERR_INVALID_ARGUMENT) << d;
  }
  p.density = 1.0;
  EXPECT_EQ(spec_status(p, 2), FW_OK);
  p = fw_default_merge_params(FW_MERGE_METHOD_DARE_LINEAR);
  for (double d : {1.0, -0.01, 2.0}) {
    p.drop_rate = d;
    EXPECT_EQ(spec_status(p, 2), FW_ERR_INVALID_ARGUMENT) << d;
  }
  p.drop_rate = 0.0;
  EXPECT_EQ(spec_status(p, 2), FW_OK);
  p = fw_default_merge_params(FW_MERGE_METHOD_BREADCRUMBS);
  p.beta = 1.0;
  EXPECT_EQ(spec_status(p, 2), FW_ERR_INVALID_ARGUMENT);
  p = fw_default_merge_params(FW_MERGE_METHOD_TASK_ARITHMETIC);
  p.scaling = std::numeric_limits<double>::infinity();
  EXPECT_EQ(spec_status(p, 2), FW_ERR_INVALID_ARGUMENT);
  p = fw_default_merge_params(FW_MERGE_METHOD_LINEAR);
  // Stored as a C caller would: static_cast to an enum of a value outside it is undefined.
  const int32_t unknown_method = 99;
  std::memcpy(static_cast<void *>(&p.method), &unknown_method, sizeof unknown_method);
  EXPECT_EQ(spec_status(p, 2), FW_ERR_INVALID_ARGUMENT);
  p = fw_default_merge_params(FW_MERGE_METHOD_LINEAR);
  p.struct_size = 0;
  EXPECT_EQ(spec_status(p, 2), FW_ERR_INVALID_ARGUMENT);
}

TEST(MergeSpec, WeightsAreChecked) {
  const double nan_weights[] = {1.0, std::nan("")};
  const double zero_sum[] = {1.0, -1.0};
  fw_merge_params p = fw_default_merge_params(FW_MERGE_METHOD_LINEAR);
  p.weights = nan_weights;
  EXPECT_EQ(spec_status(p, 2), FW_ERR_INVALID_ARGUMENT);
  p.weights = zero_sum;
  EXPECT_EQ(spec_status(p, 2), FW_ERR_INVALID_ARGUMENT);  // normalize by 0
  p.normalize = 0;
  EXPECT_EQ(spec_status(p, 2), FW_OK);
  p = fw_default_merge_params(FW_MERGE_METHOD_MODEL_STOCK);
  p.weights = zero_sum;
  EXPECT_EQ(spec_status(p, 2), FW_ERR_INVALID_ARGUMENT);
  p.weights = nullptr;
  EXPECT_EQ(spec_status(p, 1), FW_ERR_INVALID_ARGUMENT);  // model stock needs 2
}

TEST(MergeSpec, PerMemberDensitiesAndBetasAreChecked) {
  const double good[] = {0.5, 1.0}, zero[] = {0.5, 0.0}, beta_one[] = {0.1, 1.0};
  fw_merge_params p = fw_default_merge_params(FW_MERGE_METHOD_TIES);
  p.densities = good;
  const fw::MergeSpec s = fw::capi::read_merge_params(&p, 2);
  EXPECT_EQ(s.densities, (std::vector<double>{0.5, 1.0}));
  EXPECT_EQ(spec_json(s)["densities"], nlohmann::json({0.5, 1.0}));
  p.densities = zero;
  EXPECT_EQ(spec_status(p, 2), FW_ERR_INVALID_ARGUMENT);  // density outside (0, 1]
  p.densities = good;
  EXPECT_EQ(spec_status(p, 0), FW_ERR_INVALID_ARGUMENT);  // not for FW merge functions
  p.betas = good;
  EXPECT_EQ(spec_status(p, 2), FW_ERR_INVALID_ARGUMENT);  // TIES takes no betas
  p = fw_default_merge_params(FW_MERGE_METHOD_BREADCRUMBS);
  p.betas = beta_one;
  EXPECT_EQ(spec_status(p, 2), FW_ERR_INVALID_ARGUMENT);  // beta outside [0, 1)
  p.betas = zero;                                         // beta 0 is allowed
  EXPECT_EQ(spec_status(p, 2), FW_OK);
  p = fw_default_merge_params(FW_MERGE_METHOD_LINEAR);
  p.densities = good;
  EXPECT_EQ(spec_status(p, 2), FW_ERR_INVALID_ARGUMENT);  // linear takes no densities
  // Without them, the recipe JSON has no such keys (older exports keep their bytes).
  EXPECT_FALSE(
      spec_json(read_spec(fw_default_merge_params(FW_MERGE_METHOD_TIES), 2)).contains("densities"));
}

TEST(MergeSpec, OlderStructSizeKeepsDefaults) {
  // A caller compiled against 0.2.0, whose struct ended after `threads` (v1): the fields of later
  // versions take their defaults whatever lies past its size.
  fw_merge_params p = fw_default_merge_params(FW_MERGE_METHOD_TIES);
  p.seed = 99;
  p.mergekit_compat = FW_MERGEKIT_COMPAT_ARITHMETIC;
  p.allow_outside_links = 1;
  p.fill_missing_from_base = 1;
  p.struct_size = offsetof(fw_merge_params, abort);
  const fw::MergeSpec s = fw::capi::read_merge_params(&p, 2);
  EXPECT_EQ(s.seed, 99u);  // v1's own field is read
  EXPECT_FALSE(s.mergekit);
  EXPECT_FALSE(s.allow_outside_links);
  EXPECT_FALSE(s.fill_missing_from_base);
}

TEST(MergeFns, TiesSingleDirectionIsScaledTrim) {
  fw_merge_params p = fw_default_merge_params(FW_MERGE_METHOD_TIES);
  p.density = 0.5;
  p.scaling = 0.9;
  const auto fn = fw::make_method_merge_fn(fw::capi::read_merge_params(&p, 0));
  EXPECT_TRUE(fn->leaves_hull());
  EXPECT_EQ(fn->name(), "ties");
  // k = 2 of 4: 0.4 and -0.3 survive; theta + 0.9 * [0.4, 0, 0, -0.3].
  expect_near(fn->apply(vec({1, 1, 1, 1}), {vec({0.4f, -0.1f, 0.2f, -0.3f})}, 0),
              {1.36f, 1, 1, 0.73f});
  // Two directions, density 1: signs of [0.2 - 0.1, -0.2 + 0.1] = [+, -]; disjoint means 0.2, -0.2.
  p.density = 1.0;
  p.scaling = 1.0;
  const auto fn2 = fw::make_method_merge_fn(fw::capi::read_merge_params(&p, 0));
  expect_near(fn2->apply(vec({0, 0}), {vec({0.2f, 0.1f}), vec({-0.1f, -0.2f})}, 0), {0.2f, -0.2f});
  EXPECT_NE(fn2->recipe_json().find("\"ties\""), std::string::npos);
}

TEST(MergeFns, DareIsSeededPerDirection) {
  fw_merge_params p = fw_default_merge_params(FW_MERGE_METHOD_DARE_LINEAR);
  p.drop_rate = 0.4;
  p.scaling = 1.0;
  const auto fn = fw::make_method_merge_fn(fw::capi::read_merge_params(&p, 0));
  const std::vector<float> d0 = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10},
                           d1 = {-1, 1, -1, 1, -1, 1, -1, 1, -1, 1};
  const uint64_t seed = 1234;
  // Direction j draws stream_key(seed, 0, j).
  const std::vector<float> r0 = mt::dare_reference(d0, 0.4, seed, 0, 0);
  const std::vector<float> r1 = mt::dare_reference(d1, 0.4, seed, 0, 1);
  std::vector<float> expected(10);
  for (size_t e = 0; e < 10; ++e) expected[e] = 2 + r0[e] + r1[e];
  const at::Tensor theta = at::full({10}, 2.0f);
  const at::Tensor got = fn->apply(theta, {vec(d0), vec(d1)}, seed);
  expect_near(got, expected, 1e-5);
  EXPECT_TRUE(mt::same_bytes(got, fn->apply(theta, {vec(d0), vec(d1)}, seed)));
}

TEST(MergeFns, FactoryRejectsWhatIsNotAStepFunction) {
  auto code = [](fw_merge_method m, const double *weights) {
    fw_merge_params p = fw_default_merge_params(m);
    fw::MergeSpec s = fw::capi::read_merge_params(&p, 0);
    if (weights) s.weights = {weights[0]};
    try {
      fw::make_method_merge_fn(s);
      return FW_OK;
    } catch (const fw::Error &e) {
      return fw::capi::to_public(e.code());
    }
  };
  const double w = 1.0;
  EXPECT_EQ(code(FW_MERGE_METHOD_MODEL_STOCK, nullptr), FW_ERR_UNSUPPORTED);
  EXPECT_EQ(code(FW_MERGE_METHOD_LINEAR, nullptr), FW_ERR_UNSUPPORTED);
  EXPECT_EQ(code(FW_MERGE_METHOD_TIES, &w), FW_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(code(FW_MERGE_METHOD_TASK_ARITHMETIC, nullptr), FW_OK);
  // Weights through the public struct with n == 0 (step functions) are refused too.
  fw_merge_params p = fw_default_merge_params(FW_MERGE_METHOD_TIES);
  p.weights = &w;
  EXPECT_EQ(spec_status(p, 0), FW_ERR_INVALID_ARGUMENT);
}

}  // namespace
