// fw_solver_set_merge_function and fw_solver_set_start_merge on a real solver: a quadratic
// objective whose minimum is pool member 0, constant step gamma = 1, so one hard step moves theta
// by exactly the merge function's reshaping of (s - theta).
#include <gtest/gtest.h>

#include <cstring>

#include "fwmerge.h"
#include "merge_test_util.h"
#include "test_support.h"

namespace {

const std::vector<float> kM0 = {1, 2, -1, 0.5f}, kM1 = {-1, 0, 3, 1};

// l = 0.5 ||x - m0||^2, grad = x - m0.
fw_status quadratic(const fw_tensor *params, size_t n, fw_tensor *grads, double *loss, void *) {
  double l = 0;
  for (size_t t = 0; t < n; ++t) {
    const float *x = static_cast<const float *>(params[t].data);
    for (int64_t e = 0; e < params[t].numel; ++e) {
      const double d = double(x[e]) - kM0[e];
      l += 0.5 * d * d;
      if (grads) static_cast<float *>(grads[t].data)[e] = static_cast<float>(d);
    }
  }
  *loss = l;
  return FW_OK;
}

struct HookTest : ::testing::Test {
  void SetUp() override {
    const std::string dir = fwtest::temp_dir("hooks");
    const std::string base = dir + "/base.safetensors", m0 = dir + "/m0.safetensors",
                      m1 = dir + "/m1.safetensors";
    fwtest::write_safetensors(base, {{"x", {4}, {0, 0, 0, 0}}});
    fwtest::write_safetensors(m0, {{"x", {4}, kM0}});
    fwtest::write_safetensors(m1, {{"x", {4}, kM1}});
    fw_params p = fw_default_params();
    p.step_rule = FW_STEP_RULE_CONSTANT;
    p.step_scale = 1.0;
    ASSERT_EQ(fw_solver_new(&p, &solver), FW_OK);
    ASSERT_EQ(fw_solver_set_base(solver, base.c_str()), FW_OK) << fw_last_error();
    ASSERT_EQ(fw_solver_pool_add(solver, m0.c_str(), nullptr), FW_OK) << fw_last_error();
    ASSERT_EQ(fw_solver_pool_add(solver, m1.c_str(), nullptr), FW_OK) << fw_last_error();
    ASSERT_EQ(fw_solver_set_objective_callback(solver, quadratic, nullptr), FW_OK);
  }
  void TearDown() override { fw_solver_free(solver); }
  std::vector<float> current() {
    const fw_tensor *views = nullptr;
    size_t n = 0;
    EXPECT_EQ(fw_solver_current(solver, &views, &n), FW_OK);
    EXPECT_EQ(n, 1u);
    const float *d = static_cast<const float *>(views[0].data);
    return std::vector<float>(d, d + views[0].numel);
  }
  fw_solver *solver = nullptr;
};

TEST_F(HookTest, TiesStepTrimsTheDirection) {
  fw_merge_params mp = fw_default_merge_params(FW_MERGE_METHOD_TIES);
  mp.density = 0.5;
  mp.scaling = 1.0;
  ASSERT_EQ(fw_solver_set_merge_function(solver, &mp), FW_OK) << fw_last_error();
  fw_step_info info;
  std::memset(&info, 0, sizeof info);
  info.struct_size = sizeof info;
  ASSERT_EQ(fw_solver_step(solver, &info), FW_OK) << fw_last_error();
  // s = m0, gamma = 1: delta = [1, 2, -1, 0.5]; k = 2 keeps 2 and the first 1 (index 0).
  mt::expect_near(mt::vec(current()), {1, 2, 0, 0});
  EXPECT_EQ(info.leaves_hull, 1);
  // Too late to change the merge function or the start.
  EXPECT_EQ(fw_solver_set_merge_function(solver, &mp), FW_ERR_STATE);
  EXPECT_EQ(fw_solver_set_start_merge(solver, &mp), FW_ERR_STATE);
}

TEST_F(HookTest, StartMergeAndValidation) {
  fw_merge_params mp = fw_default_merge_params(FW_MERGE_METHOD_TASK_ARITHMETIC);
  mp.scaling = 0.5;
  ASSERT_EQ(fw_solver_set_start_merge(solver, &mp), FW_OK) << fw_last_error();
  // 0.5 * (m0 + m1) = [0, 1, 1, 0.75]
  mt::expect_near(mt::vec(current()), {0, 1, 1, 0.75f});
  mp = fw_default_merge_params(FW_MERGE_METHOD_TIES);
  mp.density = 2.0;
  EXPECT_EQ(fw_solver_set_start_merge(solver, &mp), FW_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(fw_solver_set_merge_function(solver, &mp), FW_ERR_INVALID_ARGUMENT);
  mp = fw_default_merge_params(FW_MERGE_METHOD_MODEL_STOCK);
  EXPECT_EQ(fw_solver_set_merge_function(solver, &mp), FW_ERR_UNSUPPORTED);
  EXPECT_EQ(fw_solver_set_merge_function(solver, nullptr), FW_OK);  // back to the convex default
  EXPECT_EQ(fw_solver_set_merge_function(nullptr, nullptr), FW_ERR_INVALID_ARGUMENT);
}

}  // namespace
