// One solver used from two threads at once (documented unsafe) is refused, not raced: while one
// thread is inside fw_solver_run (held in its objective callback here, so the overlap is certain),
// every solver call from another thread fails with FW_ERR_STATE naming the conflict, fw_solver_free
// leaves the solver alone, fw_solver_interrupt still works, and the first thread's run ends as it
// would have. Calls back into the solver from the holder's own callback stay allowed.
#include <gtest/gtest.h>

#include <condition_variable>
#include <future>
#include <mutex>
#include <string>
#include <thread>

#include "capi_fixture.h"

namespace {

using capi::Quadratic;

// Blocks the objective's first call until the test lets it go.
struct Gate {
  std::mutex m;
  std::condition_variable cv;
  bool inside = false, released = false;
  Quadratic q;
  fw_solver *solver = nullptr;
  int nested_history = -2;  // fw_solver_history_size called from inside the callback
};

fw_status gated_objective(const fw_tensor *params, size_t n, fw_tensor *grads, double *loss,
                          void *user_data) {
  auto *gate = static_cast<Gate *>(user_data);
  {
    std::unique_lock<std::mutex> lock(gate->m);
    if (!gate->inside) {
      gate->inside = true;
      gate->nested_history = fw_solver_history_size(gate->solver);  // the holder calling back in
      gate->cv.notify_all();
      gate->cv.wait(lock, [&] { return gate->released; });
    }
  }
  return gate->q.evaluate(params, n, grads, loss);
}

class ThreadConflict : public capi::UnitPoolTest {
 protected:
  ThreadConflict() : UnitPoolTest("thread_conflict") {}
  // Starts fw_solver_run on another thread and returns once it is parked in its first objective
  // call.
  std::future<fw_status> start_parked_run() {
    gate_.q.target["w"] = {1, 1, 0};
    gate_.solver = solver_.get();
    EXPECT_EQ(fw_solver_set_objective_callback(solver_.get(), gated_objective, &gate_), FW_OK);
    auto run =
        std::async(std::launch::async, [this] { return fw_solver_run(solver_.get(), &last_); });
    std::unique_lock<std::mutex> lock(gate_.m);
    gate_.cv.wait(lock, [&] { return gate_.inside; });
    return run;
  }
  void release_run() {
    {
      std::lock_guard<std::mutex> lock(gate_.m);
      gate_.released = true;
    }
    gate_.cv.notify_all();
  }
  Gate gate_;
  fw_step_info last_ = capi::blank_info();
};

void expect_refused(fw_status status, const char *call) {
  EXPECT_EQ(status, FW_ERR_STATE) << call;
  const std::string message = fw_last_error();
  EXPECT_NE(message.find("in use by another thread"), std::string::npos) << call << ": " << message;
  EXPECT_NE(message.find(call), std::string::npos) << message;
}

TEST_F(ThreadConflict, SecondThreadIsRefusedWhileTheFirstIsInsideTheSolver) {
  auto run = start_parked_run();
  // This thread, while the run is parked in its callback.
  fw_solver *s = solver_.get();
  fw_step_info info = capi::blank_info();
  expect_refused(fw_solver_step(s, &info), "fw_solver_step");
  expect_refused(fw_solver_run(s, &info), "fw_solver_run");
  expect_refused(fw_solver_pool_add(s, pool_.members[0].c_str(), nullptr), "fw_solver_pool_add");
  expect_refused(fw_solver_set_base(s, pool_.base.c_str()), "fw_solver_set_base");
  expect_refused(fw_solver_step_begin(s), "fw_solver_step_begin");
  expect_refused(fw_solver_history_get(s, 0, &info), "fw_solver_history_get");
  const fw_tensor *views = nullptr;
  size_t n = 0;
  expect_refused(fw_solver_current(s, &views, &n), "fw_solver_current");
  expect_refused(fw_solver_export(s, (pool_.dir + "/out.safetensors").c_str(), nullptr),
                 "fw_solver_export");
  expect_refused(fw_solver_state_save(s, (pool_.dir + "/state.json").c_str()),
                 "fw_solver_state_save");
  EXPECT_EQ(fw_solver_history_size(s), 0);  // refused: no size to report
  EXPECT_EQ(fw_solver_pool_size(s), 0u);
  fw_solver_free(s);  // refused: the other thread is inside; the solver stays
  EXPECT_NE(std::string(fw_last_error()).find("fw_solver_free"), std::string::npos);

  release_run();
  ASSERT_EQ(run.get(), FW_OK) << fw_last_error();
  EXPECT_EQ(gate_.nested_history, 0);  // the holder's own nested call was served

  // The run went on untouched, and the solver is free for this thread now.
  EXPECT_GT(fw_solver_history_size(s), 0);
  EXPECT_EQ(fw_solver_pool_size(s), pool_.members.size());
  ASSERT_EQ(fw_solver_history_get(s, 0, &info), FW_OK) << fw_last_error();
  EXPECT_NEAR(info.loss, 1.0, 1e-12);  // 1/2 ||0 - (1,1,0)||^2 from the base
}

TEST_F(ThreadConflict, InterruptFromAnotherThreadStillStopsTheRun) {
  auto run = start_parked_run();
  fw_solver_interrupt(solver_.get());
  release_run();
  EXPECT_EQ(run.get(), FW_ERR_ABORTED) << fw_last_error();
}

TEST_F(ThreadConflict, SequentialCallsFromDifferentThreadsAreFine) {
  use_callback();
  fw_step_info info = capi::blank_info();
  EXPECT_EQ(
      std::async(std::launch::async, [&] { return fw_solver_step(solver_.get(), &info); }).get(),
      FW_OK);
  EXPECT_EQ(fw_solver_step(solver_.get(), &info), FW_OK) << fw_last_error();
  EXPECT_EQ(fw_solver_history_size(solver_.get()), 2);
}

}  // namespace
