// A step that fails (host error status, NaN/Inf loss or gradient, abort hook) returns the named
// status and leaves the solver exactly as before the step: theta bytes, history, step infos.
//
// Problem (hand-derived, see tests/c/closed_form_merge.c): base 0, pool {e1,e2,e3}, target (1,1,0).
// Step 0 calls the objective twice (gradient at 0, phi(1)) and moves to e1 = (1,0,0). Step 1 calls
// it three times: gradient at e1, phi(1) at e2, phi(1/2) at (0.5,0.5,0), and ends there (gamma
// 1/2).
#include <gtest/gtest.h>

#include <string>

#include "capi_fixture.h"

namespace {

using capi::Quadratic;
using Fault = Quadratic::Fault;

struct FailureCase {
  const char *label;
  Fault fault;
  int call_in_step;  // 1: the gradient evaluation, 2 and 3: the line search's loss-only ones
  fw_status expected;
  const char *message_part;
};

class StepFailure : public ::testing::TestWithParam<FailureCase> {};

TEST_P(StepFailure, LeavesTheSolverUnchanged) {
  const FailureCase &c = GetParam();
  const capi::PoolFiles pool = capi::write_unit_pool("failure");
  capi::SolverPtr solver = capi::new_solver();
  capi::load_pool(solver.get(), pool);
  Quadratic q;
  q.target["w"] = {1, 1, 0};
  q.fault_tensor = "w";
  ASSERT_EQ(fw_solver_set_objective_callback(solver.get(), capi::quadratic_callback, &q), FW_OK);
  ASSERT_EQ(fw_solver_step(solver.get(), nullptr), FW_OK) << fw_last_error();
  ASSERT_EQ(q.calls, 2);
  ASSERT_EQ(capi::current_values(solver.get()), (std::vector<float>{1, 0, 0}));

  const capi::Snapshot before = capi::snapshot(solver.get());
  q.fault = c.fault;
  q.fail_at = q.calls + c.call_in_step;
  fw_set_callback_error("stale text from an earlier callback");  // must not leak into this step
  fw_step_info info = capi::blank_info();
  info.iteration = -7;
  EXPECT_EQ(fw_solver_step(solver.get(), &info), c.expected) << fw_last_error();
  const std::string message = fw_last_error();
  EXPECT_NE(message.find(c.message_part), std::string::npos) << message;
  EXPECT_EQ(message.find("stale text"), std::string::npos) << message;
  EXPECT_EQ(info.iteration, -7) << "a failed step must not fill the info";
  EXPECT_EQ(q.calls, q.fail_at) << "the step must stop at the failing evaluation";
  EXPECT_EQ(capi::diff(before, capi::snapshot(solver.get())), "");

  // The failed step left nothing behind: the retry is step 1 of the hand computation.
  q.fail_at = 0;
  info = capi::blank_info();
  ASSERT_EQ(fw_solver_step(solver.get(), &info), FW_OK) << fw_last_error();
  EXPECT_EQ(info.iteration, 1);
  EXPECT_EQ(info.loss, 0.5);
  EXPECT_EQ(info.gap, 1.0);
  EXPECT_EQ(info.gamma, 0.5);
  EXPECT_EQ(info.chosen[0], 1);
  EXPECT_EQ(capi::current_values(solver.get()), (std::vector<float>{0.5f, 0.5f, 0}));
  EXPECT_EQ(fw_solver_history_size(solver.get()), 2);
}

INSTANTIATE_TEST_SUITE_P(
    CApi, StepFailure,
    ::testing::Values(
        FailureCase{"status_on_gradient", Fault::kStatus, 1, FW_ERR_CALLBACK,
                    "host objective exploded"},
        FailureCase{"status_in_line_search", Fault::kStatus, 2, FW_ERR_CALLBACK,
                    "host objective exploded"},
        FailureCase{"status_late_in_line_search", Fault::kStatus, 3, FW_ERR_CALLBACK,
                    "host objective exploded"},
        FailureCase{"status_without_message", Fault::kStatusNoMessage, 2, FW_ERR_CALLBACK,
                    "FW_ERR_IO"},
        FailureCase{"nan_loss_on_gradient", Fault::kNanLoss, 1, FW_ERR_NON_FINITE, "loss"},
        FailureCase{"nan_loss_in_line_search", Fault::kNanLoss, 3, FW_ERR_NON_FINITE, "loss"},
        FailureCase{"inf_loss", Fault::kInfLoss, 2, FW_ERR_NON_FINITE, "loss"},
        FailureCase{"nan_gradient", Fault::kNanGrad, 1, FW_ERR_NON_FINITE, "'w'"},
        FailureCase{"inf_gradient", Fault::kInfGrad, 1, FW_ERR_NON_FINITE, "'w'"}),
    [](const ::testing::TestParamInfo<FailureCase> &info) { return info.param.label; });

// With several tensors the message names the one whose gradient is not finite.
TEST(CApiStepFailure, NonFiniteGradientNamesTheTensor) {
  using T = fwtest::TestTensor;
  const capi::PoolFiles pool = capi::write_pool(
      "nan_name", {T{"encoder.weight", {2}, {0, 0}}, T{"decoder.bias", {2}, {0, 0}}},
      {{T{"encoder.weight", {2}, {1, 0}}, T{"decoder.bias", {2}, {0, 1}}},
       {T{"encoder.weight", {2}, {0, 1}}, T{"decoder.bias", {2}, {1, 0}}}});
  for (Fault fault : {Fault::kNanGrad, Fault::kInfGrad}) {
    capi::SolverPtr solver = capi::new_solver();
    capi::load_pool(solver.get(), pool);
    Quadratic q;
    q.target["encoder.weight"] = {1, 0};
    q.fault = fault;
    q.fault_tensor = "decoder.bias";
    q.fail_at = 1;
    ASSERT_EQ(fw_solver_set_objective_callback(solver.get(), capi::quadratic_callback, &q), FW_OK);
    const capi::Snapshot before = capi::snapshot(solver.get());
    EXPECT_EQ(fw_solver_step(solver.get(), nullptr), FW_ERR_NON_FINITE);
    const std::string message = fw_last_error();
    EXPECT_NE(message.find("decoder.bias"), std::string::npos) << message;
    EXPECT_EQ(message.find("encoder.weight"), std::string::npos) << message;
    EXPECT_EQ(capi::diff(before, capi::snapshot(solver.get())), "");
    EXPECT_EQ(fw_solver_history_size(solver.get()), 0);
  }
}

struct AbortState {
  const Quadratic *q = nullptr;
  int abort_after_calls = 0;  // abort once the objective has been called this many times
  int polls = 0;
};

int abort_hook(void *user_data) {
  auto *state = static_cast<AbortState *>(user_data);
  ++state->polls;
  return state->q->calls >= state->abort_after_calls ? 1 : 0;
}

TEST(CApiStepFailure, AbortHookStopsTheStepAndChangesNothing) {
  const capi::PoolFiles pool = capi::write_unit_pool("abort");
  capi::SolverPtr solver = capi::new_solver();
  capi::load_pool(solver.get(), pool);
  Quadratic q;
  q.target["w"] = {1, 1, 0};
  ASSERT_EQ(fw_solver_set_objective_callback(solver.get(), capi::quadratic_callback, &q), FW_OK);
  ASSERT_EQ(fw_solver_step(solver.get(), nullptr), FW_OK) << fw_last_error();

  AbortState state;
  state.q = &q;
  ASSERT_EQ(fw_solver_set_abort_callback(solver.get(), abort_hook, &state), FW_OK);
  // Abort at once, then in the middle of the step (after its gradient evaluation).
  for (int after : {0, q.calls + 1}) {
    state.abort_after_calls = after;
    state.polls = 0;
    const int calls_before = q.calls;
    const capi::Snapshot before = capi::snapshot(solver.get());
    EXPECT_EQ(fw_solver_step(solver.get(), nullptr), FW_ERR_ABORTED);
    EXPECT_NE(std::string(fw_last_error()).find("abort"), std::string::npos) << fw_last_error();
    EXPECT_GT(state.polls, 0);
    EXPECT_EQ(q.calls, after == 0 ? calls_before : after);
    EXPECT_EQ(capi::diff(before, capi::snapshot(solver.get())), "");
  }

  // A hook that never fires: the step is step 1 of the hand computation.
  ASSERT_EQ(fw_solver_set_abort_callback(solver.get(), nullptr, nullptr), FW_OK);
  fw_step_info info = capi::blank_info();
  ASSERT_EQ(fw_solver_step(solver.get(), &info), FW_OK) << fw_last_error();
  EXPECT_EQ(info.iteration, 1);
  EXPECT_EQ(info.gamma, 0.5);
  EXPECT_EQ(capi::current_values(solver.get()), (std::vector<float>{0.5f, 0.5f, 0}));
}

}  // namespace
