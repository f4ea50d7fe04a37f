// Ask/tell (fw_solver_step_begin / ask / tell / finish) is the callback step without callbacks:
// same iterates and step infos byte for byte; a failing tell fails the step; cancel changes
// nothing.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>

#include "capi_fixture.h"

namespace {

using capi::Quadratic;

// A pool with two tensors and four members, so hard and soft steps visit several vertices.
capi::PoolFiles mixed_pool(const std::string &label) {
  using T = fwtest::TestTensor;
  auto model = [](std::vector<float> a, std::vector<float> b) {
    return std::vector<T>{T{"layer0.weight", {2, 2}, a}, T{"layer1.bias", {3}, b}};
  };
  return capi::write_pool(label, model({0, 0, 0, 0}, {0, 0, 0}),
                          {model({1, 0, 0, 0}, {0.5f, 0, 0}), model({0, 1, 0, 0}, {0, 2, 0}),
                           model({0, 0, 1, 1}, {0, 0, -1}), model({2, 1, 0, -1}, {1, 1, 1})});
}

Quadratic mixed_target() {
  Quadratic q;
  q.target["layer0.weight"] = {0.3, 0.9, 0.4, -0.2};
  q.target["layer1.bias"] = {0.1, 0.7, -0.3};
  return q;
}

struct Variant {
  const char *label;
  fw_lmo lmo;
  fw_granularity granularity;
};

class AskTellEquivalence : public ::testing::TestWithParam<Variant> {};

TEST_P(AskTellEquivalence, SameIteratesAndInfosAsTheCallbackPath) {
  const capi::PoolFiles pool = mixed_pool("ask_tell_eq");
  fw_params params = fw_default_params();
  params.lmo = GetParam().lmo;
  params.granularity = GetParam().granularity;
  params.soft_iters = 6;
  params.threads = 1;
  capi::SolverPtr by_callback = capi::new_solver(&params), by_ask_tell = capi::new_solver(&params);
  capi::load_pool(by_callback.get(), pool);
  capi::load_pool(by_ask_tell.get(), pool);
  Quadratic q1 = mixed_target(), q2 = mixed_target();
  ASSERT_EQ(fw_solver_set_objective_callback(by_callback.get(), capi::quadratic_callback, &q1),
            FW_OK);

  for (int t = 0; t < 4; ++t) {
    fw_step_info a = capi::blank_info(), b = capi::blank_info();
    const int calls_before = q2.calls;
    ASSERT_EQ(fw_solver_step(by_callback.get(), &a), FW_OK) << fw_last_error();
    ASSERT_EQ(capi::ask_tell_step(by_ask_tell.get(), &q2, &b), FW_OK) << fw_last_error();
    EXPECT_TRUE(capi::same_bits(capi::copy_step(a), capi::copy_step(b))) << "step " << t;
    EXPECT_EQ(capi::diff(capi::snapshot(by_callback.get()), capi::snapshot(by_ask_tell.get())), "")
        << "after step " << t;
    EXPECT_EQ(q1.calls, q2.calls);
    EXPECT_EQ(q1.gradient_calls, q2.gradient_calls);
    EXPECT_EQ(b.evaluations, q2.calls - calls_before);
  }
}

INSTANTIATE_TEST_SUITE_P(
    CApi, AskTellEquivalence,
    ::testing::Values(Variant{"hard_taskwise", FW_LMO_HARD, FW_GRANULARITY_TASKWISE},
                      Variant{"hard_layerwise", FW_LMO_HARD, FW_GRANULARITY_LAYERWISE},
                      Variant{"soft_taskwise", FW_LMO_SOFT, FW_GRANULARITY_TASKWISE},
                      Variant{"soft_layerwise", FW_LMO_SOFT, FW_GRANULARITY_LAYERWISE}),
    [](const ::testing::TestParamInfo<Variant> &info) { return info.param.label; });

class CApiAskTell : public capi::UnitPoolTest {
 protected:
  CApiAskTell() : UnitPoolTest("ask_tell") {}
};

// The closed-form steps (tests/c/closed_form_merge.c) through ask/tell: the requests are exactly
// the evaluations the hand computation needs.
TEST_F(CApiAskTell, RequestsFollowTheHandComputation) {
  ASSERT_EQ(fw_solver_step_begin(solver_.get()), FW_OK) << fw_last_error();
  fw_request r = {};
  r.struct_size = sizeof r;
  ASSERT_EQ(fw_solver_step_ask(solver_.get(), &r), FW_OK);
  ASSERT_EQ(r.done, 0);
  ASSERT_EQ(r.need_gradient, 1);
  ASSERT_EQ(r.n, 1u);
  EXPECT_STREQ(r.params[0].name, "w");
  EXPECT_EQ(r.params[0].ndim, 1);
  EXPECT_EQ(r.params[0].shape[0], 3);
  const float *x = static_cast<const float *>(r.params[0].data);
  EXPECT_EQ(std::vector<float>(x, x + 3), (std::vector<float>{0, 0, 0}));
  // Asking again without telling repeats the same request (same tensors; the array of views
  // handed out by the second ask is the one used from here on).
  ASSERT_EQ(fw_solver_step_ask(solver_.get(), &r), FW_OK);
  ASSERT_EQ(r.done, 0);
  ASSERT_EQ(r.need_gradient, 1);
  ASSERT_EQ(r.n, 1u);
  EXPECT_EQ(r.params[0].data, x);
  float *g = static_cast<float *>(r.grads[0].data);
  g[0] = -1;
  g[1] = -1;
  g[2] = 0;
  ASSERT_EQ(fw_solver_step_tell(solver_.get(), FW_OK, 1.0), FW_OK) << fw_last_error();
  // Line search: phi(1) at e1, loss only.
  ASSERT_EQ(fw_solver_step_ask(solver_.get(), &r), FW_OK);
  ASSERT_EQ(r.done, 0);
  EXPECT_EQ(r.need_gradient, 0);
  EXPECT_EQ(r.grads, nullptr);
  x = static_cast<const float *>(r.params[0].data);
  EXPECT_EQ(std::vector<float>(x, x + 3), (std::vector<float>{1, 0, 0}));
  ASSERT_EQ(fw_solver_step_tell(solver_.get(), FW_OK, 0.5), FW_OK) << fw_last_error();
  ASSERT_EQ(fw_solver_step_ask(solver_.get(), &r), FW_OK);
  EXPECT_EQ(r.done, 1);
  fw_step_info info = capi::blank_info();
  ASSERT_EQ(fw_solver_step_finish(solver_.get(), &info), FW_OK) << fw_last_error();
  EXPECT_EQ(info.gap, 1.0);
  EXPECT_EQ(info.gamma, 1.0);
  EXPECT_EQ(info.evaluations, 2);
  EXPECT_EQ(info.loss_after, 0.5);
  EXPECT_EQ(capi::current_values(solver_.get()), (std::vector<float>{1, 0, 0}));
  // The step is over: no request, no tell.
  EXPECT_EQ(fw_solver_step_ask(solver_.get(), &r), FW_ERR_STATE);
  EXPECT_EQ(fw_solver_step_tell(solver_.get(), FW_OK, 0.0), FW_ERR_STATE);
  EXPECT_EQ(fw_solver_step_finish(solver_.get(), &info), FW_ERR_STATE);
}

TEST_F(CApiAskTell, TellWithAnErrorFailsTheStepWithTheHostsMessage) {
  ASSERT_EQ(fw_solver_step(solver_.get(), nullptr), FW_ERR_STATE);  // no objective: ask/tell only
  ASSERT_EQ(capi::ask_tell_step(solver_.get(), &q_, nullptr), FW_OK) << fw_last_error();
  const capi::Snapshot before = capi::snapshot(solver_.get());

  ASSERT_EQ(fw_solver_step_begin(solver_.get()), FW_OK);
  fw_request r = {};
  r.struct_size = sizeof r;
  ASSERT_EQ(fw_solver_step_ask(solver_.get(), &r), FW_OK);
  double loss = 0;
  ASSERT_EQ(q_.evaluate(r.params, r.n, r.grads, &loss), FW_OK);
  ASSERT_EQ(fw_solver_step_tell(solver_.get(), FW_OK, loss), FW_OK);
  ASSERT_EQ(fw_solver_step_ask(solver_.get(), &r), FW_OK);
  ASSERT_EQ(r.done, 0);  // the line search's first evaluation
  fw_set_callback_error("evaluation cluster is down");
  EXPECT_EQ(fw_solver_step_tell(solver_.get(), FW_ERR_IO, 0.0), FW_ERR_CALLBACK);
  EXPECT_NE(std::string(fw_last_error()).find("evaluation cluster is down"), std::string::npos)
      << fw_last_error();
  ASSERT_EQ(fw_solver_step_ask(solver_.get(), &r), FW_OK);
  EXPECT_EQ(r.done, 1);
  fw_step_info info = capi::blank_info();
  info.iteration = -3;
  EXPECT_EQ(fw_solver_step_finish(solver_.get(), &info), FW_ERR_CALLBACK);
  EXPECT_NE(std::string(fw_last_error()).find("evaluation cluster is down"), std::string::npos)
      << fw_last_error();
  EXPECT_EQ(info.iteration, -3);
  EXPECT_EQ(capi::diff(before, capi::snapshot(solver_.get())), "");

  // The handle is usable: the next step is step 1 of the hand computation.
  ASSERT_EQ(capi::ask_tell_step(solver_.get(), &q_, &info), FW_OK) << fw_last_error();
  EXPECT_EQ(info.iteration, 1);
  EXPECT_EQ(info.gamma, 0.5);
  EXPECT_EQ(capi::current_values(solver_.get()), (std::vector<float>{0.5f, 0.5f, 0}));
}

TEST_F(CApiAskTell, NonFiniteToldLossFailsTheStep) {
  const capi::Snapshot before = capi::snapshot(solver_.get());
  ASSERT_EQ(fw_solver_step_begin(solver_.get()), FW_OK);
  fw_request r = {};
  r.struct_size = sizeof r;
  ASSERT_EQ(fw_solver_step_ask(solver_.get(), &r), FW_OK);
  EXPECT_EQ(fw_solver_step_tell(solver_.get(), FW_OK, std::nan("")), FW_ERR_NON_FINITE);
  EXPECT_EQ(fw_solver_step_finish(solver_.get(), nullptr), FW_ERR_NON_FINITE);
  EXPECT_EQ(capi::diff(before, capi::snapshot(solver_.get())), "");
}

TEST_F(CApiAskTell, CancelLeavesTheSolverUnchangedAndUsable) {
  ASSERT_EQ(capi::ask_tell_step(solver_.get(), &q_, nullptr), FW_OK) << fw_last_error();
  const capi::Snapshot before = capi::snapshot(solver_.get());
  const int calls = q_.calls;

  // Cancel right after begin, and after a told evaluation (mid line search).
  for (int told = 0; told < 2; ++told) {
    ASSERT_EQ(fw_solver_step_begin(solver_.get()), FW_OK);
    fw_request r = {};
    r.struct_size = sizeof r;
    for (int i = 0; i < told; ++i) {
      ASSERT_EQ(fw_solver_step_ask(solver_.get(), &r), FW_OK);
      double loss = 0;
      ASSERT_EQ(q_.evaluate(r.params, r.n, r.grads, &loss), FW_OK);
      ASSERT_EQ(fw_solver_step_tell(solver_.get(), FW_OK, loss), FW_OK);
    }
    ASSERT_EQ(fw_solver_step_cancel(solver_.get()), FW_OK) << fw_last_error();
    EXPECT_EQ(fw_solver_step_ask(solver_.get(), &r), FW_ERR_STATE);
    EXPECT_EQ(fw_solver_step_cancel(solver_.get()), FW_ERR_STATE);
    EXPECT_EQ(capi::diff(before, capi::snapshot(solver_.get())), "");
  }
  EXPECT_EQ(q_.calls, calls + 1);

  // Both paths work afterwards and give step 1 of the hand computation.
  fw_step_info info = capi::blank_info();
  ASSERT_EQ(capi::ask_tell_step(solver_.get(), &q_, &info), FW_OK) << fw_last_error();
  EXPECT_EQ(info.iteration, 1);
  EXPECT_EQ(info.gamma, 0.5);
  EXPECT_EQ(info.chosen[0], 1);
  ASSERT_EQ(fw_solver_set_objective_callback(solver_.get(), capi::quadratic_callback, &q_), FW_OK);
  ASSERT_EQ(fw_solver_step(solver_.get(), &info), FW_OK) << fw_last_error();
  EXPECT_EQ(info.converged, 1);
  EXPECT_EQ(info.gap, 0.0);
}

// Freeing a solver with a step in flight cancels it (no hang, no leak of the worker thread).
TEST_F(CApiAskTell, FreeWithAPendingStep) {
  ASSERT_EQ(fw_solver_step_begin(solver_.get()), FW_OK);
  fw_request r = {};
  r.struct_size = sizeof r;
  ASSERT_EQ(fw_solver_step_ask(solver_.get(), &r), FW_OK);
  EXPECT_EQ(r.done, 0);
  solver_.reset();
}

}  // namespace
