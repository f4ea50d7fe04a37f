// fw_params.max_evaluations: the host is never called more often than the budget allows, the steps
// taken are exactly the prefix of an unbudgeted run that fits, a step cut by the budget leaves the
// solver as before it, and ask/tell counts the same way.
#include <gtest/gtest.h>

#include "capi_fixture.h"
#include "fwmerge.h"

namespace {

using capi::Quadratic;

struct Run {
  capi::SolverPtr solver;
  Quadratic q;
};

// A solver over the unit pool stepping through the callback, target (0.3, 0.2, 0.1): inside the
// hull, where Frank-Wolfe zigzags for many steps instead of reaching the optimum exactly.
std::unique_ptr<Run> make_run(const capi::PoolFiles &pool, fw_params params) {
  auto run = std::make_unique<Run>();
  run->solver = capi::new_solver(&params);
  capi::load_pool(run->solver.get(), pool);
  run->q.target["w"] = {0.3, 0.2, 0.1};
  EXPECT_EQ(fw_solver_set_objective_callback(run->solver.get(), capi::quadratic_callback, &run->q),
            FW_OK);
  return run;
}

// Evaluations per step of `solver`'s history.
std::vector<int> evaluations_per_step(const fw_solver *solver) {
  std::vector<int> out;
  for (int32_t i = 0; i < fw_solver_history_size(solver); ++i) {
    fw_step_info info = capi::blank_info();
    EXPECT_EQ(fw_solver_history_get(solver, i, &info), FW_OK);
    out.push_back(info.evaluations);
  }
  return out;
}

fw_params soft_params() {
  fw_params p = fw_default_params();
  p.lmo = FW_LMO_SOFT;
  p.soft_iters = 4;  // 5 evaluations per step
  p.epsilon = 0;
  p.max_iters = 6;
  return p;
}

TEST(EvaluationBudget, RunTakesTheStepsOfAnUnbudgetedRunThatFitAndCallsNoMore) {
  const capi::PoolFiles pool = capi::write_unit_pool("budget_prefix");
  for (const fw_lmo lmo : {FW_LMO_HARD, FW_LMO_SOFT}) {
    fw_params p = soft_params();
    p.lmo = lmo;
    const auto free_run = make_run(pool, p);
    ASSERT_EQ(fw_solver_run(free_run->solver.get(), nullptr), FW_OK) << fw_last_error();
    const std::vector<int> per_step = evaluations_per_step(free_run->solver.get());
    ASSERT_GE(per_step.size(), 3u);
    // A budget that ends inside the third step: the first two fit.
    const int64_t budget = per_step[0] + per_step[1] + per_step[2] - 1;
    p.max_evaluations = budget;
    const auto budgeted = make_run(pool, p);
    fw_step_info last = capi::blank_info();
    ASSERT_EQ(fw_solver_run(budgeted->solver.get(), &last), FW_OK) << fw_last_error();
    EXPECT_EQ(fw_solver_history_size(budgeted->solver.get()), 2) << "lmo " << lmo;
    EXPECT_EQ(last.iteration, 1);
    EXPECT_LE(budgeted->q.calls, budget);
    EXPECT_EQ(budgeted->q.calls, budget) << "the cut step made the calls that fitted";
    // The same two steps as the unbudgeted run, bit for bit.
    capi::Snapshot a = capi::snapshot(budgeted->solver.get());
    for (int i = 0; i < 2; ++i) {
      fw_step_info info = capi::blank_info();
      ASSERT_EQ(fw_solver_history_get(free_run->solver.get(), i, &info), FW_OK);
      EXPECT_TRUE(capi::same_bits(a.history[static_cast<size_t>(i)], capi::copy_step(info)));
    }
    // A further step does not fit either: the state error, the solver unchanged.
    const int calls = budgeted->q.calls;
    EXPECT_EQ(fw_solver_step(budgeted->solver.get(), nullptr), FW_ERR_STATE);
    EXPECT_NE(std::string(fw_last_error())
                  .find("[budget] max_evaluations (" + std::to_string(budget) + ") is spent"),
              std::string::npos)
        << fw_last_error();
    EXPECT_EQ(capi::diff(a, capi::snapshot(budgeted->solver.get())), "");
    EXPECT_LE(budgeted->q.calls - calls, budget - (per_step[0] + per_step[1]));
  }
}

TEST(EvaluationBudget, OneEvaluationPerStepGivesExactlyThatManySteps) {
  const capi::PoolFiles pool = capi::write_unit_pool("budget_schedule");
  fw_params p = fw_default_params();
  p.step_rule = FW_STEP_RULE_SCHEDULE;  // the gradient evaluation only
  p.epsilon = 0;
  p.max_iters = 10;
  p.max_evaluations = 3;
  const auto run = make_run(pool, p);
  ASSERT_EQ(fw_solver_run(run->solver.get(), nullptr), FW_OK) << fw_last_error();
  EXPECT_EQ(fw_solver_history_size(run->solver.get()), 3);
  EXPECT_EQ(run->q.calls, 3);
}

TEST(EvaluationBudget, ABudgetTooSmallForOneStepIsAnError) {
  const capi::PoolFiles pool = capi::write_unit_pool("budget_tiny");
  fw_params p = soft_params();
  p.max_evaluations = 2;  // a soft step needs 5
  const auto run = make_run(pool, p);
  EXPECT_EQ(fw_solver_run(run->solver.get(), nullptr), FW_ERR_STATE);
  EXPECT_NE(std::string(fw_last_error()).find("[budget]"), std::string::npos);
  EXPECT_EQ(fw_solver_history_size(run->solver.get()), 0);
  EXPECT_EQ(run->q.calls, 2);
  p.max_evaluations = -1;
  fw_solver *bad = nullptr;
  EXPECT_EQ(fw_solver_new(&p, &bad), FW_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(fw_last_error()).find("max_evaluations must be >= 0"), std::string::npos);
}

TEST(EvaluationBudget, AskTellCountsTheSame) {
  const capi::PoolFiles pool = capi::write_unit_pool("budget_ask_tell");
  fw_params p = soft_params();
  p.max_evaluations = 12;  // two soft steps of 5, the third cut after 2
  capi::SolverPtr solver = capi::new_solver(&p);
  capi::load_pool(solver.get(), pool);
  Quadratic q;
  q.target["w"] = {0.3, 0.2, 0.1};
  fw_step_info info = capi::blank_info();
  EXPECT_EQ(capi::ask_tell_step(solver.get(), &q, &info), FW_OK) << fw_last_error();
  EXPECT_EQ(capi::ask_tell_step(solver.get(), &q, &info), FW_OK) << fw_last_error();
  const capi::Snapshot before = capi::snapshot(solver.get());
  EXPECT_EQ(capi::ask_tell_step(solver.get(), &q, &info), FW_ERR_STATE);
  EXPECT_NE(std::string(fw_last_error()).find("[budget]"), std::string::npos) << fw_last_error();
  EXPECT_EQ(q.calls, 12);
  EXPECT_EQ(capi::diff(before, capi::snapshot(solver.get())), "");
}

}  // namespace
