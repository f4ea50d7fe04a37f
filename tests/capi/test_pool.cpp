// fw_solver_pool_add / fw_solver_set_start_file / fw_solver_set_base validate checkpoints against
// the base: each kind of mismatch has its own status, the message names the tensor, and a rejected
// file changes nothing.
#include <gtest/gtest.h>

#include <string>

#include "capi_fixture.h"

namespace {

using T = fwtest::TestTensor;

struct MismatchCase {
  const char *label;
  std::vector<T> member;
  fw_status expected;
  const char *named;  // text the message must contain
};

std::vector<MismatchCase> mismatch_cases() {
  return {
      {"longer_vector",
       {T{"w", {4}, {1, 2, 3, 4}}, T{"v", {2}, {1, 2}}},
       FW_ERR_SHAPE_MISMATCH,
       "w"},
      {"same_numel_other_shape",
       {T{"w", {3}, {1, 2, 3}}, T{"v", {2, 1}, {1, 2}}},
       FW_ERR_SHAPE_MISMATCH,
       "v"},
      {"f16_member",
       {T{"w", {3}, {1, 2, 3}, "F16"}, T{"v", {2}, {1, 2}}},
       FW_ERR_DTYPE_MISMATCH,
       "w"},
      {"bf16_member",
       {T{"w", {3}, {1, 2, 3}}, T{"v", {2}, {1, 2}, "BF16"}},
       FW_ERR_DTYPE_MISMATCH,
       "v"},
      {"missing_tensor", {T{"w", {3}, {1, 2, 3}}}, FW_ERR_NAME_MISMATCH, "v"},
      {"extra_tensor",
       {T{"w", {3}, {1, 2, 3}}, T{"v", {2}, {1, 2}}, T{"x", {1}, {0}}},
       FW_ERR_NAME_MISMATCH,
       "x"},
      {"renamed_tensor", {T{"w", {3}, {1, 2, 3}}, T{"v2", {2}, {1, 2}}}, FW_ERR_NAME_MISMATCH, "v"},
  };
}

class PoolMismatch : public ::testing::TestWithParam<MismatchCase> {};

TEST_P(PoolMismatch, IsRejectedWithItsStatus) {
  const MismatchCase &c = GetParam();
  const capi::PoolFiles pool =
      capi::write_pool("mismatch", {T{"w", {3}, {0, 0, 0}}, T{"v", {2}, {0, 0}}},
                       {{T{"w", {3}, {1, 0, 0}}, T{"v", {2}, {0, 1}}}, c.member});
  capi::SolverPtr solver = capi::new_solver();
  ASSERT_EQ(fw_solver_set_base(solver.get(), pool.base.c_str()), FW_OK) << fw_last_error();
  int32_t index = -1;
  ASSERT_EQ(fw_solver_pool_add(solver.get(), pool.members[0].c_str(), &index), FW_OK)
      << fw_last_error();
  EXPECT_EQ(index, 0);

  EXPECT_EQ(fw_solver_pool_add(solver.get(), pool.members[1].c_str(), &index), c.expected)
      << fw_last_error();
  const std::string message = fw_last_error();
  EXPECT_NE(message.find(std::string("\"") + c.named + "\""), std::string::npos) << message;
  EXPECT_EQ(fw_solver_pool_size(solver.get()), 1u);
  // The same file as a start point is rejected the same way.
  EXPECT_EQ(fw_solver_set_start_file(solver.get(), pool.members[1].c_str()), c.expected);
  // The pool goes on normally.
  ASSERT_EQ(fw_solver_pool_add(solver.get(), pool.members[0].c_str(), &index), FW_OK)
      << fw_last_error();
  EXPECT_EQ(index, 1);
}

INSTANTIATE_TEST_SUITE_P(CApi, PoolMismatch, ::testing::ValuesIn(mismatch_cases()),
                         [](const ::testing::TestParamInfo<MismatchCase> &info) {
                           return info.param.label;
                         });

TEST(CApiPool, UnreadableAndMalformedFiles) {
  const capi::PoolFiles pool = capi::write_unit_pool("pool_bad");
  capi::SolverPtr solver = capi::new_solver();
  capi::load_pool(solver.get(), pool);
  const std::string missing = pool.dir + "/does_not_exist.safetensors";
  EXPECT_EQ(fw_solver_pool_add(solver.get(), missing.c_str(), nullptr), FW_ERR_IO);
  EXPECT_NE(std::string(fw_last_error()).find("does_not_exist"), std::string::npos)
      << fw_last_error();
  const std::string garbage = pool.dir + "/garbage.safetensors";
  fwtest::write_bytes(garbage, {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, '{', '}'});
  EXPECT_EQ(fw_solver_pool_add(solver.get(), garbage.c_str(), nullptr), FW_ERR_FORMAT);
  EXPECT_EQ(fw_solver_pool_size(solver.get()), 3u);

  // A bad base leaves the solver's earlier base and pool in place.
  EXPECT_EQ(fw_solver_set_base(solver.get(), missing.c_str()), FW_ERR_IO);
  EXPECT_EQ(fw_solver_set_base(solver.get(), garbage.c_str()), FW_ERR_FORMAT);
  EXPECT_EQ(fw_solver_pool_size(solver.get()), 3u);
  EXPECT_EQ(capi::current_values(solver.get()), (std::vector<float>{0, 0, 0}));
}

// The start point: a member (theta_0 = that member) or a file (an extra vertex, index -1).
TEST(CApiPool, StartPoints) {
  const capi::PoolFiles pool = capi::write_unit_pool("start");
  capi::SolverPtr solver = capi::new_solver();
  capi::load_pool(solver.get(), pool);
  ASSERT_EQ(fw_solver_set_start_member(solver.get(), 2), FW_OK) << fw_last_error();
  EXPECT_EQ(capi::current_values(solver.get()), (std::vector<float>{0, 0, 1}));
  const std::string start = pool.dir + "/start.safetensors";
  fwtest::write_safetensors(start, {T{"w", {3}, {0.25f, 0.25f, 0.25f}}});
  ASSERT_EQ(fw_solver_set_start_file(solver.get(), start.c_str()), FW_OK) << fw_last_error();
  EXPECT_EQ(capi::current_values(solver.get()), (std::vector<float>{0.25f, 0.25f, 0.25f}));

  // Target (0.25, 0.25, 0.25) is the start itself: gradient 0, gap 0, converged at once; the
  // best vertex of the tie (all scores 0) is the first, e1.
  capi::Quadratic q;
  q.target["w"] = {0.25, 0.25, 0.25};
  ASSERT_EQ(fw_solver_set_objective_callback(solver.get(), capi::quadratic_callback, &q), FW_OK);
  fw_step_info info = capi::blank_info();
  ASSERT_EQ(fw_solver_step(solver.get(), &info), FW_OK) << fw_last_error();
  EXPECT_EQ(info.converged, 1);
  EXPECT_EQ(info.gap, 0.0);
  EXPECT_EQ(info.loss, 0.0);
}

// A start file outside the pool joins the hull as vertex -1 (and replaces the base as a vertex).
TEST(CApiPool, StartFileIsAVertexOfTheHull) {
  const capi::PoolFiles pool = capi::write_pool("start_vertex", {T{"w", {2}, {0, 0}}},
                                                {{T{"w", {2}, {1, 0}}}, {T{"w", {2}, {0, 1}}}});
  const std::string start = pool.dir + "/start.safetensors";
  fwtest::write_safetensors(start, {T{"w", {2}, {-1, -1}}});
  capi::SolverPtr solver = capi::new_solver();
  capi::load_pool(solver.get(), pool);
  ASSERT_EQ(fw_solver_set_start_member(solver.get(), 0), FW_OK);
  ASSERT_EQ(fw_solver_set_start_file(solver.get(), start.c_str()), FW_OK) << fw_last_error();
  // theta_0 = (-1,-1), target (-2,-2): grad = (1,1); scores: m0 1, m1 1, start -2 -> vertex -1,
  // which is theta_0 itself: gap = <grad,theta> - (-2) = -2 + 2 = 0 -> converged at the start.
  capi::Quadratic q;
  q.target["w"] = {-2, -2};
  ASSERT_EQ(fw_solver_set_objective_callback(solver.get(), capi::quadratic_callback, &q), FW_OK);
  fw_step_info info = capi::blank_info();
  ASSERT_EQ(fw_solver_step(solver.get(), &info), FW_OK) << fw_last_error();
  EXPECT_EQ(info.converged, 1);
  EXPECT_EQ(info.chosen[0], -1);
  EXPECT_EQ(info.gap, 0.0);
  EXPECT_EQ(info.loss, 1.0);
}

}  // namespace
