// Soft FW: top-k vertices and simplex-optimized lambdas against closed-form optima.
#include "solver_fixture.h"

namespace {

using fwtest::default_params;
using fwtest::Quadratic;
using fwtest::values;

fw_params soft_params(fw_soft_solver solver, int k, int iters) {
  fw_params p = default_params();
  p.lmo = FW_LMO_SOFT;
  p.top_k = k;
  p.soft_solver = solver;
  p.soft_iters = iters;
  return p;
}

TEST(SoftFW, FindsTheOptimalLambdasOnTheSimplex) {
  // From 0 with vertices e1,e2,e3 and target (0.2,0.3,0.5): ranking by <g, e_i> = -target_i is
  // e3, e2, e1; the optimal simplex coefficients are the target's coordinates (0.5, 0.3, 0.2).
  fw::Solver solver(soft_params(FW_SOFT_SOLVER_SIMPLEX, 3, 60));
  fwtest::make_unit_pool(solver, "soft-simplex");
  Quadratic objective({{0.2f, 0.3f, 0.5f}});
  const fw::StepRecord r = solver.step(objective);
  EXPECT_EQ(r.k, 3);
  EXPECT_EQ(r.chosen, (std::vector<int32_t>{2, 1, 0}));
  EXPECT_DOUBLE_EQ(r.gap, 0.5);
  ASSERT_EQ(r.lambdas.size(), 3u);
  EXPECT_NEAR(r.lambdas[0], 0.5, 1e-4);
  EXPECT_NEAR(r.lambdas[1], 0.3, 1e-4);
  EXPECT_NEAR(r.lambdas[2], 0.2, 1e-4);
  EXPECT_NEAR(r.lambdas[0] + r.lambdas[1] + r.lambdas[2], 1.0, 1e-12);
  EXPECT_EQ(r.evaluations, 61);
  const std::vector<float> theta = values(solver.theta()[0]);
  EXPECT_NEAR(theta[0], 0.2, 1e-4);
  EXPECT_NEAR(theta[1], 0.3, 1e-4);
  EXPECT_NEAR(theta[2], 0.5, 1e-4);
}

TEST(SoftFW, SimplexAndCappedSimplexDifferAsTheoryPredicts) {
  // Target (0.1,0.2,0.3) has sum 0.6. Capped simplex (sum <= 1) reaches it: lambdas (0.3,0.2,0.1).
  // The probability simplex forces sum 1: the projection of the target onto the face adds
  // 0.4/3 to each coordinate -> lambdas (13/30, 10/30, 7/30).
  Quadratic objective({{0.1f, 0.2f, 0.3f}});
  fw::Solver capped(soft_params(FW_SOFT_SOLVER_CAPPED, 3, 60));
  fwtest::make_unit_pool(capped, "soft-capped");
  const fw::StepRecord c = capped.step(objective);
  EXPECT_NEAR(c.lambdas[0], 0.3, 1e-4);
  EXPECT_NEAR(c.lambdas[1], 0.2, 1e-4);
  EXPECT_NEAR(c.lambdas[2], 0.1, 1e-4);
  EXPECT_NEAR(c.loss_after, 0.0, 1e-8);

  fw::Solver simplex(soft_params(FW_SOFT_SOLVER_SIMPLEX, 3, 60));
  fwtest::make_unit_pool(simplex, "soft-simplex-face");
  const fw::StepRecord s = simplex.step(objective);
  EXPECT_NEAR(s.lambdas[0], 13.0 / 30, 1e-4);
  EXPECT_NEAR(s.lambdas[1], 10.0 / 30, 1e-4);
  EXPECT_NEAR(s.lambdas[2], 7.0 / 30, 1e-4);
  // loss = 1/2 * 3 * (0.4/3)^2
  EXPECT_NEAR(s.loss_after, 0.5 * 3 * (0.4 / 3) * (0.4 / 3), 1e-7);
}

TEST(SoftFW, ASimplexStepThatCannotImproveKeepsThetaAndTheCappedSimplexDescends) {
  // Target (0.05, 0.05, 0.05) near the start 0: l(0) = 1/2 * 3 * 0.05^2 = 0.00375. On the simplex
  // the best point of the face is (1/3, 1/3, 1/3), l = 1/2 * 3 * (1/3 - 0.05)^2 = 0.1204: the
  // paper-literal step would raise the loss 32-fold, so the guard keeps theta_t (lambda = 0). The
  // capped simplex reaches the target exactly (lambda_j = 0.05).
  Quadratic objective({{0.05f, 0.05f, 0.05f}});
  fw::Solver simplex(soft_params(FW_SOFT_SOLVER_SIMPLEX, 3, 60));
  fwtest::make_unit_pool(simplex, "soft-simplex-guard");
  const fw::StepRecord s = simplex.step(objective);
  EXPECT_NEAR(s.loss, 0.00375, 1e-9);
  EXPECT_DOUBLE_EQ(s.loss_after, s.loss);
  EXPECT_EQ(s.lambdas, (std::vector<double>{0.0, 0.0, 0.0}));
  EXPECT_DOUBLE_EQ(s.gamma, 0.0);
  EXPECT_EQ(values(simplex.theta()[0]), (std::vector<float>{0.0f, 0.0f, 0.0f}));

  fw::Solver capped(soft_params(FW_SOFT_SOLVER_CAPPED, 3, 60));
  fwtest::make_unit_pool(capped, "soft-capped-guard");
  const fw::StepRecord c = capped.step(objective);
  for (double l : c.lambdas) EXPECT_NEAR(l, 0.05, 1e-4);
  EXPECT_NEAR(c.loss_after, 0.0, 1e-8);
}

// The box (each lambda in [0, 1]): target (1, 1, 0) is e1 + e2, outside the hull, reached exactly
// with lambdas (1, 1); the capped simplex stops at its projection onto the hull, (1/2, 1/2, 0).
TEST(SoftFW, TheBoxTakesNonInterferingTaskVectorsWholeAndIsFlaggedAsLeavingTheHull) {
  Quadratic objective({{1.0f, 1.0f, 0.0f}});
  fw::Solver box(soft_params(FW_SOFT_SOLVER_BOX, 2, 40));
  fwtest::make_unit_pool(box, "soft-box");
  const fw::StepRecord b = box.step(objective);
  EXPECT_EQ(b.chosen, (std::vector<int32_t>{0, 1}));
  ASSERT_EQ(b.lambdas.size(), 2u);
  EXPECT_NEAR(b.lambdas[0], 1.0, 1e-6);
  EXPECT_NEAR(b.lambdas[1], 1.0, 1e-6);
  EXPECT_NEAR(b.loss_after, 0.0, 1e-10);
  EXPECT_TRUE(b.leaves_hull);
  const std::vector<float> theta = values(box.theta()[0]);
  EXPECT_NEAR(theta[0], 1.0, 1e-6);
  EXPECT_NEAR(theta[1], 1.0, 1e-6);
  EXPECT_NEAR(theta[2], 0.0, 1e-6);

  fw::Solver capped(soft_params(FW_SOFT_SOLVER_CAPPED, 2, 40));
  fwtest::make_unit_pool(capped, "soft-box-capped");
  const fw::StepRecord c = capped.step(objective);
  EXPECT_NEAR(c.lambdas[0], 0.5, 1e-4);
  EXPECT_NEAR(c.lambdas[1], 0.5, 1e-4);
  EXPECT_NEAR(c.loss_after, 0.25, 1e-6);  // 1/2 (0.5^2 + 0.5^2)
  EXPECT_FALSE(c.leaves_hull);
}

TEST(SoftFW, TheDefaultSoftSolverIsTheBox) {
  EXPECT_EQ(fw::default_params().soft_solver, FW_SOFT_SOLVER_BOX);
}

TEST(SoftFW, TopKLimitsTheVerticesAndLayerwiseKeepsLambdasPerBlock) {
  // Two blocks, each wanting a different pair of members.
  const std::string dir = fwtest::temp_dir("soft-layer");
  fw_params p = soft_params(FW_SOFT_SOLVER_SIMPLEX, 2, 60);
  p.granularity = FW_GRANULARITY_LAYERWISE;
  fw::Solver solver(p);
  solver.set_base(fwtest::write_model(dir, "base.safetensors", {{"a", {0, 0}}, {"b", {0, 0}}}));
  solver.add_member(fwtest::write_model(dir, "m0.safetensors", {{"a", {1, 0}}, {"b", {0, 0}}}));
  solver.add_member(fwtest::write_model(dir, "m1.safetensors", {{"a", {0, 1}}, {"b", {0, 0}}}));
  solver.add_member(fwtest::write_model(dir, "m2.safetensors", {{"a", {0, 0}}, {"b", {1, 0}}}));
  solver.add_member(fwtest::write_model(dir, "m3.safetensors", {{"a", {0, 0}}, {"b", {0, 1}}}));
  // Block a wants 0.25 m0 + 0.75 m1, block b 0.6 m2 + 0.4 m3.
  Quadratic objective({{0.25f, 0.75f}, {0.6f, 0.4f}});
  const fw::StepRecord r = solver.step(objective);
  EXPECT_EQ(r.k, 2);
  EXPECT_EQ(r.chosen, (std::vector<int32_t>{1, 0, 2, 3}));
  EXPECT_NEAR(r.lambdas[0], 0.75, 1e-4);
  EXPECT_NEAR(r.lambdas[1], 0.25, 1e-4);
  EXPECT_NEAR(r.lambdas[2], 0.6, 1e-4);
  EXPECT_NEAR(r.lambdas[3], 0.4, 1e-4);
  EXPECT_NEAR(r.loss_after, 0.0, 1e-8);
}

TEST(SoftFW, ResidentCandidatesGiveTheSameResultAsStreaming) {
  Quadratic objective({{0.2f, 0.3f, 0.5f}});
  fw_params p = soft_params(FW_SOFT_SOLVER_SIMPLEX, 2, 15);
  fw::Solver streamed(p);
  fwtest::make_unit_pool(streamed, "soft-stream");
  p.soft_memory_budget = 1 << 20;
  fw::Solver resident(p);
  fwtest::make_unit_pool(resident, "soft-resident");
  for (int t = 0; t < 3; ++t) {
    const fw::StepRecord a = streamed.step(objective);
    const fw::StepRecord b = resident.step(objective);
    EXPECT_EQ(a.chosen, b.chosen);
    EXPECT_EQ(a.lambdas, b.lambdas);
  }
  EXPECT_EQ(values(streamed.theta()[0]), values(resident.theta()[0]));
}

TEST(SoftFW, AdamFollowsTheAuthorsCodeAndIsFlaggedAsLeavingTheHull) {
  fw_params p = soft_params(FW_SOFT_SOLVER_ADAM, 3, 30);
  p.soft_lr = 0.01;
  fw::Solver solver(p);
  fwtest::make_unit_pool(solver, "soft-adam");
  Quadratic objective({{0.2f, 0.3f, 0.5f}});
  const fw::StepRecord r = solver.step(objective);
  EXPECT_TRUE(r.leaves_hull);
  // Starts at 0.3 each (loss 1/2 (0.01 + 0 + 0.04) = 0.025) and must improve on it.
  EXPECT_LT(r.loss_after, 0.025);
}

}  // namespace
