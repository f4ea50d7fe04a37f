// fw_solver_interrupt (any thread, consumed by the call it stops, the solver as before the step,
// nothing half-written) and fw_merge_params.abort (fw_merge has no solver to interrupt).
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <string>
#include <thread>

#include "capi_fixture.h"

namespace {

using capi::Quadratic;

bool contains(const std::string &text, const std::string &part) {
  return text.find(part) != std::string::npos;
}

// The quadratic objective, but evaluation number `at` (1-based) interrupts the solver first,
// either itself or through another thread that it waits for.
struct Interrupting {
  Quadratic q;
  fw_solver *solver = nullptr;
  int at = 0;
  bool from_other_thread = false;
};

fw_status interrupting_callback(const fw_tensor *params, size_t n, fw_tensor *grads, double *loss,
                                void *user_data) {
  auto *self = static_cast<Interrupting *>(user_data);
  if (self->q.calls + 1 == self->at) {
    if (self->from_other_thread) {
      std::thread([solver = self->solver] { fw_solver_interrupt(solver); }).join();
    } else {
      fw_solver_interrupt(self->solver);
    }
  }
  return self->q.evaluate(params, n, grads, loss);
}

class Interrupt : public capi::UnitPoolTest {
 protected:
  Interrupt() : UnitPoolTest("interrupt") {}
  void SetUp() override {
    UnitPoolTest::SetUp();
    hook_.q.target["w"] = {1, 1, 0};
    hook_.solver = solver_.get();
    ASSERT_EQ(fw_solver_set_objective_callback(solver_.get(), interrupting_callback, &hook_),
              FW_OK);
  }
  // The call was stopped by the interrupt and the solver is as in `before`.
  void expect_interrupted(fw_status status, const capi::Snapshot &before) {
    const std::string message = fw_last_error();
    EXPECT_EQ(status, FW_ERR_ABORTED) << message;
    EXPECT_TRUE(contains(message, "interrupted")) << message;
    EXPECT_EQ(capi::diff(before, capi::snapshot(solver_.get())), "");
  }
  fw_solver *s() { return solver_.get(); }
  Interrupting hook_;
};

TEST_F(Interrupt, BeforeAStepStopsItAndIsConsumedByIt) {
  const capi::Snapshot before = capi::snapshot(s());
  fw_solver_interrupt(s());
  expect_interrupted(fw_solver_step(s(), nullptr), before);
  EXPECT_EQ(hook_.q.calls, 0);
  // Consumed: the next step runs, and is the closed-form first step (theta = e1).
  fw_step_info info = capi::blank_info();
  ASSERT_EQ(fw_solver_step(s(), &info), FW_OK) << fw_last_error();
  EXPECT_EQ(capi::current_values(s()), (std::vector<float>{1, 0, 0}));
  fw_solver_interrupt(nullptr);  // a no-op
}

TEST_F(Interrupt, FromAnotherThreadDuringTheGradientStopsTheLmo) {
  hook_.at = 1;
  hook_.from_other_thread = true;
  const capi::Snapshot before = capi::snapshot(s());
  expect_interrupted(fw_solver_step(s(), nullptr), before);
  EXPECT_EQ(hook_.q.calls, 1);  // the LMO after the gradient saw it; no line search ran
}

TEST_F(Interrupt, DuringTheLineSearchStopsTheStep) {
  hook_.at = 2;  // phi(1), the line search's first trial
  const capi::Snapshot before = capi::snapshot(s());
  expect_interrupted(fw_solver_step(s(), nullptr), before);
  EXPECT_EQ(hook_.q.calls, 2);
}

TEST_F(Interrupt, DuringSoftIterationsStopsTheStep) {
  fw_params p = fw_default_params();
  p.lmo = FW_LMO_SOFT;
  p.soft_iters = 10;
  ASSERT_EQ(fw_solver_set_params(s(), &p), FW_OK);
  hook_.at = 4;  // the third inner iteration
  const capi::Snapshot before = capi::snapshot(s());
  expect_interrupted(fw_solver_step(s(), nullptr), before);
  EXPECT_EQ(hook_.q.calls, 4);
}

TEST_F(Interrupt, FwRunKeepsTheStepsItCompleted) {
  fw_step_info probe = capi::blank_info();
  ASSERT_EQ(fw_solver_step(s(), &probe), FW_OK) << fw_last_error();
  ASSERT_EQ(probe.evaluations, 2);  // gradient + phi(1), gamma = 1
  hook_.at = hook_.q.calls + 1;     // the gradient of the next step
  const capi::Snapshot before = capi::snapshot(s());
  expect_interrupted(fw_solver_run(s(), nullptr), before);
  EXPECT_EQ(fw_solver_history_size(s()), 1);
}

TEST_F(Interrupt, AnAskTellStepWaitingForTheHostEndsAtTheNextAsk) {
  const capi::Snapshot before = capi::snapshot(s());
  ASSERT_EQ(fw_solver_step_begin(s()), FW_OK) << fw_last_error();
  fw_request r{};
  r.struct_size = sizeof r;
  ASSERT_EQ(fw_solver_step_ask(s(), &r), FW_OK) << fw_last_error();
  ASSERT_EQ(r.done, 0);
  std::thread([solver = s()] { fw_solver_interrupt(solver); }).join();
  ASSERT_EQ(fw_solver_step_ask(s(), &r), FW_OK) << fw_last_error();
  EXPECT_EQ(r.done, 1);
  fw_step_info info = capi::blank_info();
  expect_interrupted(fw_solver_step_finish(s(), &info), before);
  // Nothing pending any more; the next step runs normally.
  EXPECT_EQ(capi::ask_tell_step(s(), &hook_.q, &info), FW_OK) << fw_last_error();
  EXPECT_EQ(capi::current_values(s()), (std::vector<float>{1, 0, 0}));
}

TEST_F(Interrupt, AnAskTellStepWaitingForTheHostEndsAtTheNextTell) {
  const capi::Snapshot before = capi::snapshot(s());
  ASSERT_EQ(fw_solver_step_begin(s()), FW_OK) << fw_last_error();
  fw_request r{};
  r.struct_size = sizeof r;
  ASSERT_EQ(fw_solver_step_ask(s(), &r), FW_OK) << fw_last_error();
  double loss = 0;
  ASSERT_EQ(hook_.q.evaluate(r.params, r.n, r.grads, &loss), FW_OK);
  fw_solver_interrupt(s());
  EXPECT_EQ(fw_solver_step_tell(s(), FW_OK, loss), FW_ERR_ABORTED);
  EXPECT_TRUE(contains(fw_last_error(), "interrupted")) << fw_last_error();
  expect_interrupted(fw_solver_step_finish(s(), nullptr), before);
}

TEST_F(Interrupt, ExportLeavesNothingAndTheNextExportWorks) {
  const std::string out = pool_.dir + "/merged.safetensors";
  const auto files = capi::list_dir(pool_.dir);
  fw_solver_interrupt(s());
  EXPECT_EQ(fw_solver_export(s(), out.c_str(), nullptr), FW_ERR_ABORTED);
  EXPECT_TRUE(contains(fw_last_error(), "interrupted")) << fw_last_error();
  EXPECT_EQ(capi::list_dir(pool_.dir), files) << "an interrupted export left a file";
  // Sharded, too.
  fw_export_options opts = fw_default_export_options();
  opts.max_shard_bytes = 8;
  fw_solver_interrupt(s());
  EXPECT_EQ(fw_solver_export(s(), (pool_.dir + "/sharded").c_str(), &opts), FW_ERR_ABORTED);
  EXPECT_EQ(capi::list_dir(pool_.dir), files);
  ASSERT_EQ(fw_solver_export(s(), out.c_str(), nullptr), FW_OK) << fw_last_error();
}

TEST_F(Interrupt, StateSaveLeavesNothing) {
  const std::string state = pool_.dir + "/run.state";
  const auto files = capi::list_dir(pool_.dir);
  fw_solver_interrupt(s());
  EXPECT_EQ(fw_solver_state_save(s(), state.c_str()), FW_ERR_ABORTED);
  EXPECT_EQ(capi::list_dir(pool_.dir), files);
}

TEST_F(Interrupt, StartMergeIsStoppedAndTheStartStays) {
  const fw_merge_params mp = fw_default_merge_params(FW_MERGE_METHOD_TASK_ARITHMETIC);
  const capi::Snapshot before = capi::snapshot(s());
  fw_solver_interrupt(s());
  expect_interrupted(fw_solver_set_start_merge(s(), &mp), before);
  ASSERT_EQ(fw_solver_set_start_merge(s(), &mp), FW_OK) << fw_last_error();
  EXPECT_EQ(capi::current_values(s()), (std::vector<float>{0.3f, 0.3f, 0.3f}));
}

// ---- fw_merge_params.abort (v2) ----

struct AbortAfter {
  std::atomic<int> calls{0};
  int stop_at = 0;  // 1-based call that answers "stop"; 0: never
};

int abort_after(void *user_data) {
  auto *self = static_cast<AbortAfter *>(user_data);
  return ++self->calls == self->stop_at ? 1 : 0;
}

TEST(MergeAbort, TheHookStopsFwMergeAndNothingIsWritten) {
  const capi::PoolFiles pool = capi::write_unit_pool("merge_abort");
  const char *members[] = {pool.members[0].c_str(), pool.members[1].c_str(),
                           pool.members[2].c_str()};
  const std::string out = pool.dir + "/merged.safetensors";
  const auto files = capi::list_dir(pool.dir);
  AbortAfter hook;
  hook.stop_at = 3;  // polls: before the tensor, before member 1, before member 2: stops there
  fw_merge_params p = fw_default_merge_params(FW_MERGE_METHOD_TIES);
  p.abort = abort_after;
  p.abort_user_data = &hook;
  EXPECT_EQ(fw_merge(&p, pool.base.c_str(), members, 3, out.c_str(), nullptr), FW_ERR_ABORTED);
  EXPECT_TRUE(contains(fw_last_error(), "fw_merge_params.abort")) << fw_last_error();
  EXPECT_EQ(hook.calls.load(), 3);
  EXPECT_EQ(capi::list_dir(pool.dir), files);

  // A hook that never stops is polled (before the tensor, between members, between chunks of the
  // write) and the merge completes.
  AbortAfter never;
  p.abort_user_data = &never;
  ASSERT_EQ(fw_merge(&p, pool.base.c_str(), members, 3, out.c_str(), nullptr), FW_OK)
      << fw_last_error();
  EXPECT_GE(never.calls.load(), 3);
}

}  // namespace
