// Hard FW on quadratics whose optima and steps are computed by hand.
#include "solver_fixture.h"

namespace {

using fwtest::default_params;
using fwtest::Quadratic;
using fwtest::values;

TEST(HardFW, ReachesTheProjectionOfAnOutsideTargetInTwoSteps) {
  // Hull {x >= 0, sum <= 1}; target (1,1,0) projects to (0.5,0.5,0).
  // Step 0 at 0: g = (-1,-1,0), argmin picks e1 (tie with e2 -> lower index), gap 1, gamma 1.
  // Step 1 at e1: g = (0,-1,0) picks e2, gap 1, phi(g) = (g^2 + (g-1)^2)/2 -> gamma 0.5.
  // Step 2: gap 0 -> converged.
  fw::Solver solver(default_params());
  fwtest::make_unit_pool(solver, "outside");
  Quadratic objective({{1, 1, 0}});
  const fw::StepRecord s0 = solver.step(objective);
  EXPECT_EQ(s0.chosen, std::vector<int32_t>{0});
  EXPECT_DOUBLE_EQ(s0.gap, 1.0);
  EXPECT_DOUBLE_EQ(s0.gamma, 1.0);
  EXPECT_DOUBLE_EQ(s0.loss, 1.0);
  EXPECT_DOUBLE_EQ(s0.loss_after, 0.5);
  EXPECT_EQ(s0.evaluations, 2);  // gradient + phi(1)
  const fw::StepRecord s1 = solver.step(objective);
  EXPECT_EQ(s1.chosen, std::vector<int32_t>{1});
  EXPECT_DOUBLE_EQ(s1.gap, 1.0);
  EXPECT_DOUBLE_EQ(s1.gamma, 0.5);
  EXPECT_DOUBLE_EQ(s1.loss_after, 0.25);
  EXPECT_EQ(s1.evaluations, 3);  // gradient + phi(1) + phi(0.5)
  EXPECT_EQ(values(solver.theta()[0]), (std::vector<float>{0.5f, 0.5f, 0.0f}));
  const fw::StepRecord s2 = solver.step(objective);
  EXPECT_TRUE(s2.converged);
  EXPECT_EQ(s2.gap, 0.0);
  EXPECT_EQ(values(solver.theta()[0]), (std::vector<float>{0.5f, 0.5f, 0.0f}));
}

TEST(HardFW, InsideTargetFollowsTheTheoreticalRateAndGapsShrink) {
  // Jaggi (2013): with line search, l(theta_t) - l* <= 2 L D^2 / (t + 2); here L = 1, D^2 = 2
  // (distance^2 between two unit vertices) and l* = 0 since the target is inside the hull.
  fw::Solver solver(default_params());
  fwtest::make_unit_pool(solver, "inside");
  Quadratic objective({{0.2f, 0.3f, 0.4f}});
  double previous = 1e9, min_gap = 1e9;
  for (int t = 0; t < 60; ++t) {
    const fw::StepRecord r = solver.step(objective);
    if (r.converged) break;
    if (t >= 1) {
      EXPECT_LE(r.loss, 4.0 / (t + 2)) << "t = " << t;
    }
    EXPECT_LE(r.loss, previous + 1e-12) << "line search must not increase the loss";
    previous = r.loss;
    min_gap = std::min(min_gap, r.gap);
    // Jaggi's gap bound: min_s<=t gap_s <= 27/4 * 2 C / (t + 2) with C <= L D^2 = 2.
    if (t >= 1) {
      EXPECT_LE(min_gap, 27.0 / (t + 2)) << "t = " << t;
    }
  }
  EXPECT_LT(previous, 4.0 / 61);
}

TEST(HardFW, LineSearchMatchesTheClosedFormGamma) {
  // base (0,0), one member (2,0), target (0.5,0.7): d = (2,0), gamma* = <target, d>/|d|^2 = 0.25.
  const std::string dir = fwtest::temp_dir("closed-form");
  fw::Solver solver(default_params());
  solver.set_base(fwtest::write_model(dir, "base.safetensors", {{"w", {0, 0}}}));
  solver.add_member(fwtest::write_model(dir, "m.safetensors", {{"w", {2, 0}}}));
  Quadratic objective({{0.5f, 0.7f}});
  const fw::StepRecord r = solver.step(objective);
  EXPECT_EQ(r.chosen, std::vector<int32_t>{0});
  EXPECT_NEAR(r.gamma, 0.25, 1e-7);
  EXPECT_NEAR(r.loss_after, 0.5 * 0.49, 1e-7);
  EXPECT_EQ(r.evaluations, 3);
  EXPECT_EQ(objective.gradient_calls, 1);  // the line search evaluates the loss only
}

TEST(HardFW, ScheduleAndConstantSteps) {
  // gamma_t = c * 2/(t+2) with c = 0.5: 0.5 then 1/3. Target (1,1,0).
  // t=0: s = e1 -> theta = (0.5,0,0). t=1: g = (-0.5,-1,0) -> s = e2 -> (1/3, 1/3, 0).
  fw_params p = default_params();
  p.step_rule = FW_STEP_RULE_SCHEDULE;
  p.step_scale = 0.5;
  fw::Solver solver(p);
  fwtest::make_unit_pool(solver, "schedule");
  Quadratic objective({{1, 1, 0}});
  EXPECT_DOUBLE_EQ(solver.step(objective).gamma, 0.5);
  const fw::StepRecord r = solver.step(objective);
  EXPECT_DOUBLE_EQ(r.gamma, 1.0 / 3.0);
  EXPECT_EQ(r.chosen, std::vector<int32_t>{1});
  EXPECT_EQ(r.evaluations, 1);
  const std::vector<float> theta = values(solver.theta()[0]);
  EXPECT_NEAR(theta[0], 1.0 / 3, 1e-7);
  EXPECT_NEAR(theta[1], 1.0 / 3, 1e-7);
  EXPECT_EQ(theta[2], 0.0f);

  p.step_rule = FW_STEP_RULE_CONSTANT;
  p.step_scale = 0.25;
  fw::Solver constant(p);
  fwtest::make_unit_pool(constant, "constant");
  EXPECT_DOUBLE_EQ(constant.step(objective).gamma, 0.25);
  EXPECT_DOUBLE_EQ(constant.step(objective).gamma, 0.25);
}

TEST(HardFW, LayerwisePicksTheRightVertexPerBlock) {
  // Blocks a and b; m0 is right for a, m1 for b. Layer-wise: s = (a of m0, b of m1) = target,
  // gap 2, gamma 1, loss 0. Task-wise can only reach (m0 + m1)/2 with loss 0.25.
  const std::string dir = fwtest::temp_dir("layerwise");
  const std::vector<std::vector<float>> target = {{1, 0}, {1, 0}};
  auto build = [&](fw::Solver &solver) {
    solver.set_base(fwtest::write_model(dir, "base.safetensors", {{"a", {0, 0}}, {"b", {0, 0}}}));
    solver.add_member(fwtest::write_model(dir, "m0.safetensors", {{"a", {1, 0}}, {"b", {0, 0}}}));
    solver.add_member(fwtest::write_model(dir, "m1.safetensors", {{"a", {0, 0}}, {"b", {1, 0}}}));
  };
  fw_params p = default_params();
  p.granularity = FW_GRANULARITY_LAYERWISE;
  fw::Solver layer(p);
  build(layer);
  Quadratic objective(target);
  const fw::StepRecord r = layer.step(objective);
  EXPECT_EQ(layer.block_names(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(r.chosen, (std::vector<int32_t>{0, 1}));
  EXPECT_DOUBLE_EQ(r.gap, 2.0);
  EXPECT_DOUBLE_EQ(r.gamma, 1.0);
  EXPECT_DOUBLE_EQ(r.loss_after, 0.0);
  EXPECT_TRUE(layer.step(objective).converged);

  fw::Solver task(default_params());
  build(task);
  for (int t = 0; t < 5; ++t) task.step(objective);
  EXPECT_DOUBLE_EQ(task.history()[1].loss_after, 0.25);
  EXPECT_TRUE(task.history().back().converged);
}

TEST(HardFW, BlockDepthGroupsTensorsByNamePrefix) {
  const std::string dir = fwtest::temp_dir("blocks");
  const std::string base =
      fwtest::write_model(dir, "base.safetensors",
                          {{"enc.0.w", {0}}, {"enc.0.b", {0}}, {"enc.1.w", {0}}, {"head", {0}}});
  fw_params p = default_params();
  p.granularity = FW_GRANULARITY_LAYERWISE;
  p.block_depth = 2;
  fw::Solver solver(p);
  solver.set_base(base);
  EXPECT_EQ(solver.block_names(), (std::vector<std::string>{"enc.0", "enc.1", "head"}));
  p.block_depth = 1;
  solver.set_params(p);
  EXPECT_EQ(solver.block_names(), (std::vector<std::string>{"enc", "head"}));
}

TEST(HardFW, StartPointOutsideThePoolJoinsTheHull) {
  // Starting at the base (0): target (-1,-1,-1) is closest to the base itself, a vertex (-1).
  fw::Solver solver(default_params());
  fwtest::make_unit_pool(solver, "start-base");
  Quadratic objective({{-1, -1, -1}});
  const fw::StepRecord r = solver.step(objective);
  EXPECT_TRUE(r.converged);
  EXPECT_EQ(r.chosen, std::vector<int32_t>{-1});
}

TEST(HardFW, StartingAtAMemberKeepsTheBaseOutOfTheHull) {
  // From e2 with the base not a vertex, target (-1,0,0): the best point of conv{e1,e2,e3}
  // minimizes (x+1)^2 + y^2 + z^2 on the simplex: (0, 0.5, 0.5) with loss 0.75, reached in one
  // step (s = e3, gamma 0.5) — never below, although the base (loss 0.5) would be nearer.
  fw::Solver solver(default_params());
  fwtest::make_unit_pool(solver, "start-member");
  solver.set_start_member(1);
  EXPECT_EQ(values(solver.theta()[0]), (std::vector<float>{0, 1, 0}));
  Quadratic objective({{-1, 0, 0}});
  double last = 0;
  for (int t = 0; t < 40; ++t) {
    const fw::StepRecord r = solver.step(objective);
    for (int32_t id : r.chosen) EXPECT_GE(id, 0);
    last = r.converged ? r.loss : r.loss_after;
    if (r.converged) break;
  }
  EXPECT_GE(last, 0.75 - 1e-9);
  EXPECT_LE(last, 0.75 + 1e-3);
}

}  // namespace
