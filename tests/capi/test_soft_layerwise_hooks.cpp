// Soft FW and layer-wise FW through the C API on problems solved by hand, and the progress / log
// hooks (called once per step, on the caller's thread).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include "capi_fixture.h"

namespace {

using capi::Quadratic;
using T = fwtest::TestTensor;

void expect_on_simplex(const fw_step_info &info) {
  for (int32_t b = 0; b < info.n_blocks; ++b) {
    double sum = 0;
    for (int32_t j = 0; j < info.k; ++j) {
      EXPECT_GE(info.lambdas[b * info.k + j], 0.0) << "block " << b << " j " << j;
      sum += info.lambdas[b * info.k + j];
    }
    EXPECT_NEAR(sum, 1.0, 1e-12) << "block " << b;
  }
}

// Unit pool, target (1, 1/2, 0). At theta_0 = 0: grad = (-1, -1/2, 0), scores e1 -1, e2 -1/2,
// e3 0, base 0 -> top-2 {e1, e2}, gap 1. On the simplex, min over lambda1 + lambda2 = 1 of
// 1/2((lambda1 - 1)^2 + (lambda2 - 1/2)^2) is lambda = (3/4, 1/4): theta_1 = (3/4, 1/4, 0), which
// is also the projection of the target onto the hull, loss 1/16. Step 2: gap 0, converged.
TEST(CApiSoft, TopTwoLambdasAreTheClosedFormOptimum) {
  const capi::PoolFiles pool = capi::write_unit_pool("soft");
  fw_params p = fw_default_params();
  p.lmo = FW_LMO_SOFT;
  p.soft_solver = FW_SOFT_SOLVER_SIMPLEX;  // the closed forms below are on the simplex
  p.top_k = 2;
  p.soft_iters = 5;
  capi::SolverPtr solver = capi::new_solver(&p);
  capi::load_pool(solver.get(), pool);
  Quadratic q;
  q.target["w"] = {1, 0.5, 0};
  ASSERT_EQ(fw_solver_set_objective_callback(solver.get(), capi::quadratic_callback, &q), FW_OK);

  fw_step_info info = capi::blank_info();
  ASSERT_EQ(fw_solver_step(solver.get(), &info), FW_OK) << fw_last_error();
  EXPECT_EQ(info.k, 2);
  EXPECT_EQ(info.n_blocks, 1);
  EXPECT_EQ(info.loss, 0.625);
  EXPECT_EQ(info.gap, 1.0);
  EXPECT_EQ(info.chosen[0], 0);
  EXPECT_EQ(info.chosen[1], 1);
  EXPECT_NEAR(info.lambdas[0], 0.75, 1e-6);
  EXPECT_NEAR(info.lambdas[1], 0.25, 1e-6);
  expect_on_simplex(info);
  EXPECT_NEAR(info.gamma, 1.0, 1e-12);  // mean over blocks of sum_j lambda_j
  EXPECT_NEAR(info.loss_after, 1.0 / 16, 1e-9);
  EXPECT_EQ(info.evaluations, 1 + p.soft_iters);  // gradient at theta_t + one per inner iteration
  EXPECT_EQ(info.evaluations, q.calls);
  EXPECT_EQ(info.leaves_hull, 0);
  const std::vector<float> theta = capi::current_values(solver.get());
  EXPECT_NEAR(theta[0], 0.75, 1e-6);
  EXPECT_NEAR(theta[1], 0.25, 1e-6);
  EXPECT_EQ(theta[2], 0.0f);

  ASSERT_EQ(fw_solver_step(solver.get(), &info), FW_OK) << fw_last_error();
  EXPECT_EQ(info.converged, 1);
  EXPECT_NEAR(info.gap, 0.0, 1e-6);
}

// top_k larger than the hull: k is capped at the number of vertices (3 members + base).
TEST(CApiSoft, TopKIsCappedByTheVertexCount) {
  const capi::PoolFiles pool = capi::write_unit_pool("soft_cap");
  fw_params p = fw_default_params();
  p.lmo = FW_LMO_SOFT;
  p.soft_solver = FW_SOFT_SOLVER_SIMPLEX;  // the closed forms below are on the simplex
  p.top_k = 10;
  p.soft_iters = 8;
  capi::SolverPtr solver = capi::new_solver(&p);
  capi::load_pool(solver.get(), pool);
  Quadratic q;
  q.target["w"] = {0.2, 0.3, 0.1};  // inside the hull
  ASSERT_EQ(fw_solver_set_objective_callback(solver.get(), capi::quadratic_callback, &q), FW_OK);
  fw_step_info info = capi::blank_info();
  ASSERT_EQ(fw_solver_step(solver.get(), &info), FW_OK) << fw_last_error();
  EXPECT_EQ(info.k, 4);
  std::vector<int32_t> chosen(info.chosen, info.chosen + 4);
  std::sort(chosen.begin(), chosen.end());
  EXPECT_EQ(chosen, (std::vector<int32_t>{-1, 0, 1, 2}));
  expect_on_simplex(info);
  EXPECT_LT(info.loss_after, info.loss);
}

// Two tensors, two members: m0 = {layer0: (2,0), layer1: (0,0)}, m1 = {layer0: (0,0), layer1:
// (0,2)}, target {(2,0), (0,2)}. At 0: grad = {(-2,0), (0,-2)}.
//  Layer-wise: block layer0 scores m0 -4, m1 0, base 0 -> m0; block layer1 -> m1. gap = 4 + 4 = 8,
//   d = target, phi(g) = 4 (1-g)^2: gamma 1, theta_1 = target, loss 4 -> 0.
//  Task-wise: m0 -4, m1 -4 (tie -> m0), gap 4, phi(g) = 2(1-g)^2 + 2: gamma 1, theta_1 = m0.
capi::PoolFiles two_layer_pool(const std::string &label) {
  auto model = [](std::vector<float> a, std::vector<float> b) {
    return std::vector<T>{T{"layer0.weight", {2}, a}, T{"layer1.weight", {2}, b}};
  };
  return capi::write_pool(label, model({0, 0}, {0, 0}),
                          {model({2, 0}, {0, 0}), model({0, 0}, {0, 2})});
}

Quadratic two_layer_target() {
  Quadratic q;
  q.target["layer0.weight"] = {2, 0};
  q.target["layer1.weight"] = {0, 2};
  return q;
}

TEST(CApiLayerwise, PicksTheRightVertexPerBlock) {
  for (int depth : {0, 1}) {
    SCOPED_TRACE(depth);
    const capi::PoolFiles pool = two_layer_pool("layerwise");
    fw_params p = fw_default_params();
    p.granularity = FW_GRANULARITY_LAYERWISE;
    p.block_depth = depth;
    capi::SolverPtr solver = capi::new_solver(&p);
    capi::load_pool(solver.get(), pool);
    Quadratic q = two_layer_target();
    ASSERT_EQ(fw_solver_set_objective_callback(solver.get(), capi::quadratic_callback, &q), FW_OK);
    EXPECT_STREQ(fw_solver_block_name(solver.get(), 0), depth == 0 ? "layer0.weight" : "layer0");
    EXPECT_STREQ(fw_solver_block_name(solver.get(), 1), depth == 0 ? "layer1.weight" : "layer1");
    EXPECT_EQ(fw_solver_block_name(solver.get(), 2), nullptr);

    fw_step_info info = capi::blank_info();
    ASSERT_EQ(fw_solver_step(solver.get(), &info), FW_OK) << fw_last_error();
    EXPECT_EQ(info.n_blocks, 2);
    EXPECT_EQ(info.k, 1);
    EXPECT_EQ(info.chosen[0], 0);
    EXPECT_EQ(info.chosen[1], 1);
    EXPECT_EQ(info.loss, 4.0);
    EXPECT_EQ(info.gap, 8.0);
    EXPECT_EQ(info.gamma, 1.0);
    EXPECT_EQ(info.lambdas[0], 1.0);
    EXPECT_EQ(info.lambdas[1], 1.0);
    EXPECT_EQ(info.loss_after, 0.0);
    EXPECT_EQ(capi::current_values(solver.get(), 0), (std::vector<float>{2, 0}));
    EXPECT_EQ(capi::current_values(solver.get(), 1), (std::vector<float>{0, 2}));
    ASSERT_EQ(fw_solver_step(solver.get(), &info), FW_OK) << fw_last_error();
    EXPECT_EQ(info.converged, 1);
  }
}

TEST(CApiLayerwise, TaskwiseOnTheSameProblemTakesOneCheckpoint) {
  const capi::PoolFiles pool = two_layer_pool("taskwise");
  capi::SolverPtr solver = capi::new_solver();
  capi::load_pool(solver.get(), pool);
  Quadratic q = two_layer_target();
  ASSERT_EQ(fw_solver_set_objective_callback(solver.get(), capi::quadratic_callback, &q), FW_OK);
  EXPECT_STREQ(fw_solver_block_name(solver.get(), 0), "");
  EXPECT_EQ(fw_solver_block_name(solver.get(), 1), nullptr);
  fw_step_info info = capi::blank_info();
  ASSERT_EQ(fw_solver_step(solver.get(), &info), FW_OK) << fw_last_error();
  EXPECT_EQ(info.n_blocks, 1);
  EXPECT_EQ(info.chosen[0], 0);
  EXPECT_EQ(info.gap, 4.0);
  EXPECT_EQ(info.gamma, 1.0);
  EXPECT_EQ(info.loss_after, 2.0);
  EXPECT_EQ(capi::current_values(solver.get(), 0), (std::vector<float>{2, 0}));
  EXPECT_EQ(capi::current_values(solver.get(), 1), (std::vector<float>{0, 0}));
}

// Soft layer-wise, top 2 per block: block layer0 ranks m0 then m1 (m1 and base tie at 0, the
// lower position first), block layer1 ranks m1 then m0. Each block's optimum on the simplex is
// lambda = (1, 0): theta_1 = target.
TEST(CApiLayerwise, SoftLambdasPerBlockOnTheSimplex) {
  const capi::PoolFiles pool = two_layer_pool("soft_layerwise");
  fw_params p = fw_default_params();
  p.lmo = FW_LMO_SOFT;
  p.soft_solver = FW_SOFT_SOLVER_SIMPLEX;  // the closed forms below are on the simplex
  p.granularity = FW_GRANULARITY_LAYERWISE;
  p.top_k = 2;
  p.soft_iters = 6;
  capi::SolverPtr solver = capi::new_solver(&p);
  capi::load_pool(solver.get(), pool);
  Quadratic q = two_layer_target();
  ASSERT_EQ(fw_solver_set_objective_callback(solver.get(), capi::quadratic_callback, &q), FW_OK);
  fw_step_info info = capi::blank_info();
  ASSERT_EQ(fw_solver_step(solver.get(), &info), FW_OK) << fw_last_error();
  ASSERT_EQ(info.n_blocks, 2);
  ASSERT_EQ(info.k, 2);
  EXPECT_EQ(std::vector<int32_t>(info.chosen, info.chosen + 4), (std::vector<int32_t>{0, 1, 1, 0}));
  expect_on_simplex(info);
  EXPECT_NEAR(info.lambdas[0], 1.0, 1e-6);
  EXPECT_NEAR(info.lambdas[2], 1.0, 1e-6);
  EXPECT_NEAR(info.loss_after, 0.0, 1e-9);
  const std::vector<float> a = capi::current_values(solver.get(), 0),
                           b = capi::current_values(solver.get(), 1);
  EXPECT_NEAR(a[0], 2.0, 1e-5);
  EXPECT_NEAR(a[1], 0.0, 1e-5);
  EXPECT_NEAR(b[0], 0.0, 1e-5);
  EXPECT_NEAR(b[1], 2.0, 1e-5);
}

struct HookLog {
  std::thread::id caller;
  std::vector<int32_t> progress_iterations;
  std::vector<double> progress_gammas;
  int log_lines = 0;
  int info_lines = 0;
  bool wrong_thread = false;
};

void on_progress(const fw_step_info *info, void *user_data) {
  auto *log = static_cast<HookLog *>(user_data);
  log->wrong_thread |= std::this_thread::get_id() != log->caller;
  log->progress_iterations.push_back(info->iteration);
  log->progress_gammas.push_back(info->gamma);
}

void on_log(fw_log_level level, const char *message, void *user_data) {
  auto *log = static_cast<HookLog *>(user_data);
  log->wrong_thread |= std::this_thread::get_id() != log->caller;
  ++log->log_lines;
  if (level == FW_LOG_LEVEL_INFO) ++log->info_lines;
  EXPECT_NE(message, nullptr);
}

// Closed-form run (gammas 1, 1/2, then converged): one progress call per step, in order, with the
// step's info; log lines on the caller's thread, for callback and ask/tell steps alike.
TEST(CApiHooks, ProgressAndLogAreCalledPerStepOnTheCallersThread) {
  const capi::PoolFiles pool = capi::write_unit_pool("hooks");
  capi::SolverPtr solver = capi::new_solver();
  capi::load_pool(solver.get(), pool);
  Quadratic q;
  q.target["w"] = {1, 1, 0};
  HookLog log;
  log.caller = std::this_thread::get_id();
  ASSERT_EQ(fw_solver_set_progress_callback(solver.get(), on_progress, &log), FW_OK);
  ASSERT_EQ(fw_solver_set_log_callback(solver.get(), on_log, &log), FW_OK);
  ASSERT_EQ(fw_solver_set_objective_callback(solver.get(), capi::quadratic_callback, &q), FW_OK);

  ASSERT_EQ(fw_solver_step(solver.get(), nullptr), FW_OK) << fw_last_error();
  EXPECT_EQ(log.progress_iterations, std::vector<int32_t>{0});
  EXPECT_GE(log.info_lines, 1);
  const int lines_after_one = log.log_lines;

  ASSERT_EQ(capi::ask_tell_step(solver.get(), &q, nullptr), FW_OK) << fw_last_error();
  EXPECT_EQ(log.progress_iterations, (std::vector<int32_t>{0, 1}));
  EXPECT_GT(log.log_lines, lines_after_one);

  fw_step_info last = capi::blank_info();
  ASSERT_EQ(fw_solver_run(solver.get(), &last), FW_OK) << fw_last_error();
  EXPECT_EQ(last.converged, 1);
  EXPECT_EQ(log.progress_iterations, (std::vector<int32_t>{0, 1, 2}));
  ASSERT_EQ(log.progress_gammas.size(), 3u);
  EXPECT_EQ(log.progress_gammas[0], 1.0);
  EXPECT_EQ(log.progress_gammas[1], 0.5);
  EXPECT_FALSE(log.wrong_thread);

  // Removing the hooks stops the calls; a failed step reports no progress.
  ASSERT_EQ(fw_solver_set_progress_callback(solver.get(), nullptr, nullptr), FW_OK);
  ASSERT_EQ(fw_solver_set_log_callback(solver.get(), nullptr, nullptr), FW_OK);
  const int lines = log.log_lines;
  ASSERT_EQ(fw_solver_step(solver.get(), nullptr), FW_OK) << fw_last_error();
  EXPECT_EQ(log.progress_iterations.size(), 3u);
  EXPECT_EQ(log.log_lines, lines);
}

TEST(CApiHooks, FailedStepReportsNoProgress) {
  const capi::PoolFiles pool = capi::write_unit_pool("hooks_fail");
  capi::SolverPtr solver = capi::new_solver();
  capi::load_pool(solver.get(), pool);
  Quadratic q;
  q.target["w"] = {1, 1, 0};
  q.fail_at = 2;
  HookLog log;
  log.caller = std::this_thread::get_id();
  ASSERT_EQ(fw_solver_set_progress_callback(solver.get(), on_progress, &log), FW_OK);
  ASSERT_EQ(fw_solver_set_objective_callback(solver.get(), capi::quadratic_callback, &q), FW_OK);
  EXPECT_EQ(fw_solver_step(solver.get(), nullptr), FW_ERR_CALLBACK);
  EXPECT_TRUE(log.progress_iterations.empty());
}

}  // namespace
