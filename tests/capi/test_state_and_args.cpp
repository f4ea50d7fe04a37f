// Calls in the wrong state (FW_ERR_STATE), NULL arguments (FW_ERR_INVALID_ARGUMENT), the documented
// defaults, status names, and struct_size handling for callers built against a shorter struct.
#include <gtest/gtest.h>
#include <torch/version.h>

#include <cstddef>
#include <cstring>
#include <string>

#include "capi_fixture.h"

namespace {

using capi::Quadratic;

TEST(CApiDefaults, ParamsMatchTheHeader) {
  const fw_params p = fw_default_params();
  EXPECT_EQ(p.struct_size, sizeof(fw_params));
  EXPECT_EQ(p.lmo, FW_LMO_HARD);
  EXPECT_EQ(p.granularity, FW_GRANULARITY_TASKWISE);
  EXPECT_EQ(p.block_depth, 0);
  EXPECT_EQ(p.score, FW_SCORE_INNER);
  EXPECT_EQ(p.top_k, 2);
  EXPECT_EQ(p.step_rule, FW_STEP_RULE_LINE_SEARCH);
  EXPECT_EQ(p.step_scale, 1.0);
  EXPECT_EQ(p.line_search_evals, 3);
  EXPECT_EQ(p.soft_solver, FW_SOFT_SOLVER_BOX);
  EXPECT_EQ(p.soft_iters, 20);
  EXPECT_EQ(p.soft_lr, 0.0);
  EXPECT_EQ(p.soft_memory_budget, 0u);
  EXPECT_EQ(p.max_iters, 10);
  EXPECT_EQ(p.epsilon, 1e-6);
  EXPECT_EQ(p.threads, 0);
  EXPECT_EQ(p.seed, 0u);

  const fw_export_options o = fw_default_export_options();
  EXPECT_EQ(o.struct_size, sizeof(fw_export_options));
  EXPECT_EQ(o.dtype, FW_DTYPE_DEFAULT);
  EXPECT_EQ(o.max_shard_bytes, 0u);
}

// fw_libtorch_version names the LibTorch whose headers this test was compiled against (the same
// one the library was built with): TORCH_VERSION is the header's "1.13.0" / "2.15.0", the
// library's string may carry the wheel's local label ("2.15.0+cu132").
TEST(CApiDefaults, LibtorchVersionIsTheLibTorchOfTheBuild) {
  const std::string reported = fw_libtorch_version();
  EXPECT_EQ(reported.rfind(TORCH_VERSION, 0), 0u) << reported << " vs headers " << TORCH_VERSION;
  EXPECT_EQ(fw_libtorch_version(), fw_libtorch_version());  // static storage
}

TEST(CApiDefaults, VersionAndStatusNames) {
  EXPECT_STREQ(fw_version(), "0.5.0");
  EXPECT_STREQ(fw_version(), FW_VERSION_STRING);
  const std::pair<fw_status, const char *> names[] = {
      {FW_OK, "FW_OK"},
      {FW_ERR_INVALID_ARGUMENT, "FW_ERR_INVALID_ARGUMENT"},
      {FW_ERR_IO, "FW_ERR_IO"},
      {FW_ERR_FORMAT, "FW_ERR_FORMAT"},
      {FW_ERR_SHAPE_MISMATCH, "FW_ERR_SHAPE_MISMATCH"},
      {FW_ERR_DTYPE_MISMATCH, "FW_ERR_DTYPE_MISMATCH"},
      {FW_ERR_NAME_MISMATCH, "FW_ERR_NAME_MISMATCH"},
      {FW_ERR_CALLBACK, "FW_ERR_CALLBACK"},
      {FW_ERR_NON_FINITE, "FW_ERR_NON_FINITE"},
      {FW_ERR_OUT_OF_MEMORY, "FW_ERR_OUT_OF_MEMORY"},
      {FW_ERR_ABORTED, "FW_ERR_ABORTED"},
      {FW_ERR_STATE, "FW_ERR_STATE"},
      {FW_ERR_UNSUPPORTED, "FW_ERR_UNSUPPORTED"},
      {FW_ERR_INTERNAL, "FW_ERR_INTERNAL"}};
  for (const auto &n : names) EXPECT_STREQ(fw_status_name(n.first), n.second);
  EXPECT_NE(fw_status_name(static_cast<fw_status>(-99)), nullptr);
}

TEST(CApiDefaults, InvalidParamsAreRejected) {
  fw_solver *s = nullptr;
  auto rejects = [&](void (*edit)(fw_params *)) {
    fw_params p = fw_default_params();
    edit(&p);
    s = reinterpret_cast<fw_solver *>(0x1);
    const fw_status status = fw_solver_new(&p, &s);
    EXPECT_EQ(s, nullptr);
    EXPECT_NE(std::string(fw_last_error()), "");
    return status;
  };
  EXPECT_EQ(rejects([](fw_params *p) { p->top_k = 0; }), FW_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(rejects([](fw_params *p) { p->line_search_evals = 0; }), FW_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(rejects([](fw_params *p) { p->lmo = static_cast<fw_lmo>(7); }),
            FW_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(rejects([](fw_params *p) { p->epsilon = -1; }), FW_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(rejects([](fw_params *p) { p->threads = -1; }), FW_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(rejects([](fw_params *p) { p->struct_size = 0; }), FW_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(rejects([](fw_params *p) { p->struct_size = sizeof(fw_params) + 8; }),
            FW_ERR_INVALID_ARGUMENT);
}

// Struct sizes (older, newer, zero) are tested in test_struct_versions.cpp.

class CApiState : public ::testing::Test {
 protected:
  void SetUp() override {
    pool_ = capi::write_unit_pool("state");
    solver_ = capi::new_solver();
    q_.target["w"] = {1, 1, 0};
  }
  capi::PoolFiles pool_;
  capi::SolverPtr solver_;
  Quadratic q_;
};

TEST_F(CApiState, CallsThatNeedABase) {
  fw_solver *s = solver_.get();
  EXPECT_EQ(fw_solver_pool_add(s, pool_.members[0].c_str(), nullptr), FW_ERR_STATE);
  EXPECT_NE(std::string(fw_last_error()).find("fw_solver_set_base"), std::string::npos)
      << fw_last_error();
  EXPECT_EQ(fw_solver_set_start_member(s, 0), FW_ERR_STATE);
  EXPECT_EQ(fw_solver_set_start_file(s, pool_.members[0].c_str()), FW_ERR_STATE);
  ASSERT_EQ(fw_solver_set_objective_callback(s, capi::quadratic_callback, &q_), FW_OK);
  EXPECT_EQ(fw_solver_step(s, nullptr), FW_ERR_STATE);
  EXPECT_EQ(fw_solver_step_begin(s), FW_ERR_STATE);
  const fw_tensor *views = nullptr;
  size_t n = 0;
  EXPECT_EQ(fw_solver_current(s, &views, &n), FW_ERR_STATE);
  const std::string out = pool_.dir + "/out.safetensors";
  EXPECT_EQ(fw_solver_export(s, out.c_str(), nullptr), FW_ERR_STATE);
  EXPECT_EQ(q_.calls, 0);
}

TEST_F(CApiState, StepNeedsAnObjectiveAndAPool) {
  fw_solver *s = solver_.get();
  ASSERT_EQ(fw_solver_set_base(s, pool_.base.c_str()), FW_OK) << fw_last_error();
  ASSERT_EQ(fw_solver_set_objective_callback(s, capi::quadratic_callback, &q_), FW_OK);
  EXPECT_EQ(fw_solver_step(s, nullptr), FW_ERR_STATE);  // empty pool
  EXPECT_NE(std::string(fw_last_error()).find("pool"), std::string::npos) << fw_last_error();
  ASSERT_EQ(fw_solver_set_objective_callback(s, nullptr, nullptr), FW_OK);
  for (const std::string &m : pool_.members)
    ASSERT_EQ(fw_solver_pool_add(s, m.c_str(), nullptr), FW_OK) << fw_last_error();
  EXPECT_EQ(fw_solver_step(s, nullptr), FW_ERR_STATE);  // no objective
  EXPECT_NE(std::string(fw_last_error()).find("objective"), std::string::npos) << fw_last_error();
  fw_step_info last = capi::blank_info();
  EXPECT_EQ(fw_solver_run(s, &last), FW_ERR_STATE);
  EXPECT_EQ(fw_solver_history_size(s), 0);
}

TEST_F(CApiState, ThePoolAndStartAreFixedOnceSteppingBegan) {
  fw_solver *s = solver_.get();
  capi::load_pool(s, pool_);
  ASSERT_EQ(fw_solver_set_objective_callback(s, capi::quadratic_callback, &q_), FW_OK);
  ASSERT_EQ(fw_solver_step(s, nullptr), FW_OK) << fw_last_error();
  EXPECT_EQ(fw_solver_pool_add(s, pool_.members[0].c_str(), nullptr), FW_ERR_STATE);
  EXPECT_EQ(fw_solver_set_start_member(s, 1), FW_ERR_STATE);
  EXPECT_EQ(fw_solver_set_start_file(s, pool_.members[1].c_str()), FW_ERR_STATE);
  EXPECT_EQ(fw_solver_pool_size(s), 3u);
  EXPECT_EQ(fw_solver_history_size(s), 1);
}

TEST_F(CApiState, NothingElseWhileAnAskTellStepIsPending) {
  fw_solver *s = solver_.get();
  capi::load_pool(s, pool_);
  ASSERT_EQ(fw_solver_set_objective_callback(s, capi::quadratic_callback, &q_), FW_OK);
  fw_request r = {};
  r.struct_size = sizeof r;
  EXPECT_EQ(fw_solver_step_ask(s, &r), FW_ERR_STATE);  // no begin
  EXPECT_EQ(fw_solver_step_tell(s, FW_OK, 0.0), FW_ERR_STATE);
  EXPECT_EQ(fw_solver_step_finish(s, nullptr), FW_ERR_STATE);
  EXPECT_EQ(fw_solver_step_cancel(s), FW_ERR_STATE);

  ASSERT_EQ(fw_solver_step_begin(s), FW_OK) << fw_last_error();
  EXPECT_EQ(fw_solver_step_begin(s), FW_ERR_STATE);
  EXPECT_EQ(fw_solver_step(s, nullptr), FW_ERR_STATE);
  EXPECT_NE(std::string(fw_last_error()).find("ask/tell"), std::string::npos) << fw_last_error();
  EXPECT_EQ(fw_solver_run(s, nullptr), FW_ERR_STATE);
  EXPECT_EQ(fw_solver_step_finish(s, nullptr), FW_ERR_STATE);  // still waiting for an evaluation
  const std::string out = pool_.dir + "/out.safetensors";
  EXPECT_EQ(fw_solver_export(s, out.c_str(), nullptr), FW_ERR_STATE);
  EXPECT_EQ(fw_solver_set_base(s, pool_.base.c_str()), FW_ERR_STATE);
  EXPECT_EQ(fw_solver_pool_add(s, pool_.members[0].c_str(), nullptr), FW_ERR_STATE);
  fw_params p = fw_default_params();
  EXPECT_EQ(fw_solver_set_params(s, &p), FW_ERR_STATE);
  EXPECT_EQ(fw_solver_set_objective_callback(s, capi::quadratic_callback, &q_), FW_ERR_STATE);
  EXPECT_EQ(q_.calls, 0);  // the pending step is ask/tell: the callback is not used
  ASSERT_EQ(fw_solver_step_cancel(s), FW_OK);
  EXPECT_EQ(fw_solver_step(s, nullptr), FW_OK) << fw_last_error();
}

TEST_F(CApiState, NullArguments) {
  fw_solver *s = solver_.get();
  capi::load_pool(s, pool_);
  const char *path = pool_.members[0].c_str();
  const std::string out = pool_.dir + "/out.safetensors";
  fw_step_info info = capi::blank_info();
  const fw_tensor *views = nullptr;
  size_t n = 0;
  fw_request r = {};
  r.struct_size = sizeof r;
  fw_params p = fw_default_params();

  const fw_status results[] = {
      fw_solver_new(&p, nullptr),
      fw_solver_set_params(nullptr, &p),
      fw_solver_set_params(s, nullptr),
      fw_solver_set_base(nullptr, path),
      fw_solver_set_base(s, nullptr),
      fw_solver_pool_add(nullptr, path, nullptr),
      fw_solver_pool_add(s, nullptr, nullptr),
      fw_solver_set_start_member(nullptr, 0),
      fw_solver_set_start_member(s, 3),  // out of range
      fw_solver_set_start_member(s, -1),
      fw_solver_set_start_file(s, nullptr),
      fw_solver_set_objective_callback(nullptr, capi::quadratic_callback, &q_),
      fw_solver_set_progress_callback(nullptr, nullptr, nullptr),
      fw_solver_set_log_callback(nullptr, nullptr, nullptr),
      fw_solver_set_abort_callback(nullptr, nullptr, nullptr),
      fw_solver_step(nullptr, &info),
      fw_solver_run(nullptr, &info),
      fw_solver_history_get(nullptr, 0, &info),
      fw_solver_history_get(s, 0, nullptr),
      fw_solver_history_get(s, 0, &info),  // no step yet: out of range
      fw_solver_history_get(s, -1, &info),
      fw_solver_current(nullptr, &views, &n),
      fw_solver_current(s, nullptr, &n),
      fw_solver_current(s, &views, nullptr),
      fw_solver_step_begin(nullptr),
      fw_solver_step_ask(nullptr, &r),
      fw_solver_step_tell(nullptr, FW_OK, 0),
      fw_solver_step_finish(nullptr, &info),
      fw_solver_step_cancel(nullptr),
      fw_solver_export(nullptr, out.c_str(), nullptr),
      fw_solver_export(s, nullptr, nullptr),
      fw_save_tensors(nullptr, nullptr, 0, FW_DTYPE_F32, nullptr, 0),
      fw_save_tensors(out.c_str(), nullptr, 1, FW_DTYPE_F32, nullptr, 0),
  };
  for (size_t i = 0; i < sizeof results / sizeof results[0]; ++i)
    EXPECT_EQ(results[i], FW_ERR_INVALID_ARGUMENT) << "call #" << i;
  EXPECT_EQ(fw_solver_step_ask(s, nullptr), FW_ERR_INVALID_ARGUMENT);

  // Queries without a status answer neutrally; freeing NULL is a no-op.
  EXPECT_EQ(fw_solver_pool_size(nullptr), 0u);
  EXPECT_EQ(fw_solver_history_size(nullptr), 0);
  EXPECT_EQ(fw_solver_block_name(nullptr, 0), nullptr);
  EXPECT_EQ(fw_solver_block_name(s, 1), nullptr);
  EXPECT_EQ(fw_solver_block_name(s, -1), nullptr);
  fw_solver_free(nullptr);
  // Nothing of it touched the solver or the disk.
  EXPECT_EQ(fw_solver_pool_size(s), 3u);
  EXPECT_EQ(capi::list_dir(pool_.dir).size(), 4u);
}

}  // namespace
