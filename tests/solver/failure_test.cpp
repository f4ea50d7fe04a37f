// A failing objective, NaN/Inf values and the abort hook end the step with a named error and
// leave the solver exactly as it was.
#include "capi/status_map.h"
#include "solver_fixture.h"

namespace {

using fwtest::default_params;
using fwtest::Quadratic;
using fwtest::values;

struct Snapshot {
  std::vector<float> theta;
  size_t steps;
};

Snapshot snapshot(const fw::Solver &solver) {
  return {values(solver.theta()[0]), solver.history().size()};
}

void expect_unchanged(const fw::Solver &solver, const Snapshot &before) {
  EXPECT_EQ(values(solver.theta()[0]), before.theta);
  EXPECT_EQ(solver.history().size(), before.steps);
}

fw_status status_of(const std::function<void()> &body, std::string *message) {
  try {
    body();
  } catch (const fw::Error &e) {
    *message = e.what();
    return fw::capi::to_public(e.code());
  }
  return FW_OK;
}

class FailureTest : public ::testing::TestWithParam<fw::Lmo> {};

TEST_P(FailureTest, FailuresLeaveTheSolverUnchanged) {
  fw::SolverConfig p = default_params();
  p.lmo = GetParam();
  p.top_k = 2;
  p.soft_iters = 5;
  fw::Solver solver(p);
  fwtest::make_unit_pool(solver, "failures");
  Quadratic good({{0.2f, 0.3f, 0.4f}});
  solver.step(good);  // not at the start point any more
  const Snapshot before = snapshot(solver);

  // Fail at each evaluation of the next step in turn (gradient, line search / inner iterations).
  for (int fail_at = 1; fail_at <= 3; ++fail_at) {
    int calls = 0;
    fwtest::Scripted failing([&](const std::vector<at::Tensor> &point, std::vector<at::Tensor> *g) {
      if (++calls == fail_at) fw::fail(fw::Status::Callback, "host says no");
      return good.evaluate(point, g);
    });
    std::string message;
    EXPECT_EQ(status_of([&] { solver.step(failing); }, &message), FW_ERR_CALLBACK);
    EXPECT_NE(message.find("host says no"), std::string::npos);
    expect_unchanged(solver, before);
  }

  fwtest::Scripted nan_loss(
      [](const std::vector<at::Tensor> &, std::vector<at::Tensor> *) { return std::nan(""); });
  std::string message;
  EXPECT_EQ(status_of([&] { solver.step(nan_loss); }, &message), FW_ERR_NON_FINITE);
  EXPECT_NE(message.find("loss"), std::string::npos);
  expect_unchanged(solver, before);

  fwtest::Scripted inf_grad([&](const std::vector<at::Tensor> &point, std::vector<at::Tensor> *g) {
    const double loss = good.evaluate(point, g);
    if (g) (*g)[0].data_ptr<float>()[1] = INFINITY;
    return loss;
  });
  EXPECT_EQ(status_of([&] { solver.step(inf_grad); }, &message), FW_ERR_NON_FINITE);
  EXPECT_NE(message.find("'w'"), std::string::npos) << message;
  expect_unchanged(solver, before);

  int polls = 0;
  solver.set_abort_hook([&] { return ++polls > 2; });
  EXPECT_EQ(status_of([&] { solver.step(good); }, &message), FW_ERR_ABORTED);
  expect_unchanged(solver, before);
  solver.set_abort_hook(nullptr);

  // After all that, the next step equals the step a never-failed solver takes.
  fw::Solver twin(p);
  fwtest::make_unit_pool(twin, "failures-twin");
  Quadratic good_twin({{0.2f, 0.3f, 0.4f}});
  twin.step(good_twin);
  const fw::StepRecord a = solver.step(good);
  const fw::StepRecord b = twin.step(good_twin);
  EXPECT_EQ(a.lambdas, b.lambdas);
  EXPECT_EQ(values(solver.theta()[0]), values(twin.theta()[0]));
}

INSTANTIATE_TEST_SUITE_P(HardAndSoft, FailureTest, ::testing::Values(fw::Lmo::Hard, fw::Lmo::Soft));

// A bad value (top_k = 0) is refused where fw_params is read: tests/capi/test_param_validation.cpp.
TEST(SolverState, RejectsWrongOrder) {
  fw::Solver solver(default_params());
  Quadratic objective({{0, 0, 0}});
  std::string message;
  EXPECT_EQ(status_of([&] { solver.step(objective); }, &message), FW_ERR_STATE);
  EXPECT_EQ(status_of([&] { solver.add_member("/nonexistent"); }, &message), FW_ERR_STATE);
  fwtest::make_unit_pool(solver, "state");
  solver.step(objective);
  EXPECT_EQ(status_of([&] { solver.add_member("/nonexistent"); }, &message), FW_ERR_STATE);
  EXPECT_EQ(status_of([&] { solver.set_start_member(0); }, &message), FW_ERR_STATE);
}

}  // namespace
