// fw_solver_state_save / fw_solver_state_load: a saved run continues exactly (same bytes as the
// uninterrupted run), refuses a solver set up differently (base, pool, blocks, merge function), and
// refuses malformed state files with the solver unchanged. The test across processes is
// tests/c/resume_run.c.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "capi_fixture.h"

namespace {

using capi::Quadratic;

bool contains(const std::string &text, const std::string &part) {
  return text.find(part) != std::string::npos;
}

void copy_file(const std::string &from, const std::string &to) {
  fwtest::write_bytes(to, fwtest::read_bytes(from));
}

// A set-up that a test applies to a fresh solver: params, pool, start point, merge function.
struct RunSetup {
  fw_params params = fw_default_params();
  enum class Start { kBase, kMember, kFile, kMerge } start = Start::kBase;
  bool ties = false;
};

class Resume : public ::testing::Test {
 protected:
  void SetUp() override {
    pool_ = capi::write_unit_pool("resume");
    // Outside the hull {x >= 0, sum x <= 1}: the answer (0.5, 0.2, 0.3) lies inside a face, where
    // FW zigzags, so no run below converges early.
    q_.target["w"] = {0.6, 0.3, 0.4};
    start_file_ = pool_.dir + "/start.safetensors";
    fwtest::write_safetensors(start_file_, {{"w", {3}, {0.2f, 0.2f, 0.2f}}});
  }

  capi::SolverPtr make(const RunSetup &setup, const capi::PoolFiles &pool) {
    capi::SolverPtr s = capi::new_solver(&setup.params);
    capi::load_pool(s.get(), pool);
    switch (setup.start) {
      case RunSetup::Start::kBase:
        break;
      case RunSetup::Start::kMember:
        EXPECT_EQ(fw_solver_set_start_member(s.get(), 1), FW_OK) << fw_last_error();
        break;
      case RunSetup::Start::kFile:
        EXPECT_EQ(fw_solver_set_start_file(s.get(), start_file_.c_str()), FW_OK) << fw_last_error();
        break;
      case RunSetup::Start::kMerge: {
        const fw_merge_params mp = fw_default_merge_params(FW_MERGE_METHOD_TASK_ARITHMETIC);
        EXPECT_EQ(fw_solver_set_start_merge(s.get(), &mp), FW_OK) << fw_last_error();
        break;
      }
    }
    if (setup.ties) {
      fw_merge_params mp = fw_default_merge_params(FW_MERGE_METHOD_TIES);
      mp.density = 0.7;
      EXPECT_EQ(fw_solver_set_merge_function(s.get(), &mp), FW_OK) << fw_last_error();
    }
    EXPECT_EQ(fw_solver_set_objective_callback(s.get(), capi::quadratic_callback, &q_), FW_OK);
    return s;
  }

  void steps(fw_solver *s, int n) {
    for (int i = 0; i < n; ++i) {
      fw_step_info info = capi::blank_info();
      ASSERT_EQ(fw_solver_step(s, &info), FW_OK) << fw_last_error();
      ASSERT_EQ(info.converged, 0) << "the run converged early; the test needs a longer one";
    }
  }

  std::vector<uint8_t> exported(fw_solver *s, const std::string &name) {
    const std::string path = pool_.dir + "/" + name;
    EXPECT_EQ(fw_solver_export(s, path.c_str(), nullptr), FW_OK) << fw_last_error();
    return fwtest::read_bytes(path);
  }

  // T steps straight, versus T/2, save, load into a fresh solver, T/2 more: the same export bytes.
  void expect_resume_is_exact(const RunSetup &setup, int t) {
    capi::SolverPtr straight = make(setup, pool_);
    steps(straight.get(), t);
    const std::vector<uint8_t> expected = exported(straight.get(), "straight.safetensors");

    const std::string state = pool_.dir + "/half.state";
    {
      capi::SolverPtr first = make(setup, pool_);
      steps(first.get(), t / 2);
      ASSERT_EQ(fw_solver_state_save(first.get(), state.c_str()), FW_OK) << fw_last_error();
    }
    capi::SolverPtr second = make(setup, pool_);
    ASSERT_EQ(fw_solver_state_load(second.get(), state.c_str()), FW_OK) << fw_last_error();
    EXPECT_EQ(fw_solver_history_size(second.get()), t / 2);
    steps(second.get(), t - t / 2);
    EXPECT_EQ(exported(second.get(), "resumed.safetensors"), expected);
  }

  capi::PoolFiles pool_;
  Quadratic q_;
  std::string start_file_;
};

TEST_F(Resume, HardLineSearchContinuesExactly) { expect_resume_is_exact(RunSetup{}, 6); }

TEST_F(Resume, SoftLayerwiseContinuesExactly) {
  RunSetup setup;
  setup.params.lmo = FW_LMO_SOFT;
  setup.params.soft_solver = FW_SOFT_SOLVER_CAPPED;
  setup.params.granularity = FW_GRANULARITY_LAYERWISE;
  setup.params.soft_iters = 5;
  expect_resume_is_exact(setup, 4);
}

TEST_F(Resume, AdamWithASeededMergeFunctionContinuesExactly) {
  // Adam's initial lambdas depend on whether steps were taken, TIES' seed on the iteration.
  RunSetup setup;
  setup.params.lmo = FW_LMO_SOFT;
  setup.params.soft_solver = FW_SOFT_SOLVER_ADAM;
  setup.params.soft_lr = 0.05;
  setup.params.seed = 7;
  setup.ties = true;
  expect_resume_is_exact(setup, 4);
}

TEST_F(Resume, EveryKindOfStartPointIsRestored) {
  for (const RunSetup::Start start :
       {RunSetup::Start::kMember, RunSetup::Start::kFile, RunSetup::Start::kMerge}) {
    RunSetup setup;
    setup.start = start;
    SCOPED_TRACE(static_cast<int>(start));
    expect_resume_is_exact(setup, 4);
  }
}

TEST_F(Resume, LoadRestoresEverythingAHostObserves) {
  RunSetup setup;
  setup.start = RunSetup::Start::kMerge;
  capi::SolverPtr a = make(setup, pool_);
  steps(a.get(), 3);
  const std::string state = pool_.dir + "/a.state";
  ASSERT_EQ(fw_solver_state_save(a.get(), state.c_str()), FW_OK) << fw_last_error();
  capi::SolverPtr b = make(RunSetup{}, pool_);  // another start point: the state brings its own
  ASSERT_EQ(fw_solver_state_load(b.get(), state.c_str()), FW_OK) << fw_last_error();
  EXPECT_EQ(capi::diff(capi::snapshot(a.get()), capi::snapshot(b.get())), "");
  // The exports agree byte for byte: the recipe names the restored start (a data-free merge).
  const std::vector<uint8_t> bytes_b = exported(b.get(), "b.safetensors");
  EXPECT_TRUE(contains(
      capi::parse_safetensors(pool_.dir + "/b.safetensors").metadata().at("fwmerge.recipe"),
      "data-free merge"));
  EXPECT_EQ(exported(a.get(), "a.safetensors"), bytes_b);
}

TEST_F(Resume, AStateMovesWithCopiesOfTheCheckpoints) {
  capi::SolverPtr a = make(RunSetup{}, pool_);
  steps(a.get(), 2);
  const std::string state = pool_.dir + "/a.state";
  ASSERT_EQ(fw_solver_state_save(a.get(), state.c_str()), FW_OK) << fw_last_error();
  // Another folder, other inodes and times: the identity is sizes, header and data-sample hashes.
  capi::PoolFiles copy = pool_;
  copy.dir = fwtest::temp_dir("resume_copy");
  copy.base = copy.dir + "/base.safetensors";
  copy_file(pool_.base, copy.base);
  for (size_t i = 0; i < pool_.members.size(); ++i) {
    copy.members[i] = copy.dir + "/m" + std::to_string(i) + ".safetensors";
    copy_file(pool_.members[i], copy.members[i]);
  }
  capi::SolverPtr b = make(RunSetup{}, copy);
  ASSERT_EQ(fw_solver_state_load(b.get(), state.c_str()), FW_OK) << fw_last_error();
  EXPECT_EQ(capi::current_values(b.get()), capi::current_values(a.get()));
}

// ---- refusals: FW_ERR_STATE naming the difference, the solver unchanged ----

class ResumeRefusal : public Resume {
 protected:
  void SetUp() override {
    Resume::SetUp();
    capi::SolverPtr a = make(RunSetup{}, pool_);
    steps(a.get(), 2);
    state_ = pool_.dir + "/a.state";
    ASSERT_EQ(fw_solver_state_save(a.get(), state_.c_str()), FW_OK) << fw_last_error();
  }
  void expect_refused(fw_solver *s, fw_status status, const std::string &part) {
    steps(s, 1);  // something to keep
    const capi::Snapshot before = capi::snapshot(s);
    EXPECT_EQ(fw_solver_state_load(s, state_.c_str()), status) << fw_last_error();
    EXPECT_TRUE(contains(fw_last_error(), part)) << fw_last_error();
    EXPECT_EQ(capi::diff(before, capi::snapshot(s)), "");
  }
  std::string state_;
};

TEST_F(ResumeRefusal, AnotherPoolOrder) {
  capi::PoolFiles swapped = pool_;
  std::swap(swapped.members[0], swapped.members[1]);
  capi::SolverPtr s = make(RunSetup{}, swapped);
  expect_refused(s.get(), FW_ERR_STATE, "pool member 0");
}

TEST_F(ResumeRefusal, AnotherPoolSize) {
  capi::PoolFiles fewer = pool_;
  fewer.members.pop_back();
  capi::SolverPtr s = make(RunSetup{}, fewer);
  expect_refused(s.get(), FW_ERR_STATE, "3 pool members");
}

TEST_F(ResumeRefusal, AMemberWhoseHeaderChanged) {
  // The same tensor, but the header gains metadata: another header hash (and size).
  const int64_t shape[] = {3};
  float w[3] = {0, 0, 1};
  const fw_tensor t{"w", FW_DTYPE_F32, 1, shape, 3, w, FW_DEVICE_TYPE_CPU, 0, {}};
  const char *kv[] = {"note", "rewritten"};
  ASSERT_EQ(fw_save_tensors(pool_.members[2].c_str(), &t, 1, FW_DTYPE_F32, kv, 1), FW_OK);
  capi::SolverPtr s = make(RunSetup{}, pool_);
  expect_refused(s.get(), FW_ERR_STATE, "pool member 2");
}

TEST_F(ResumeRefusal, OtherBlocks) {
  RunSetup layerwise;
  layerwise.params.granularity = FW_GRANULARITY_LAYERWISE;
  layerwise.params.block_depth = 0;
  // One tensor: the layer-wise block is "w", the task-wise one "".
  capi::SolverPtr s = make(layerwise, pool_);
  expect_refused(s.get(), FW_ERR_STATE, "blocks");
}

TEST_F(ResumeRefusal, AnotherMergeFunction) {
  RunSetup ties;
  ties.ties = true;
  capi::SolverPtr s = make(ties, pool_);
  expect_refused(s.get(), FW_ERR_STATE, "merge function");
}

TEST_F(ResumeRefusal, NotAStateFile) {
  capi::SolverPtr s = make(RunSetup{}, pool_);
  state_ = pool_.base;  // a valid safetensors file without the state
  expect_refused(s.get(), FW_ERR_FORMAT, "[state_missing]");
}

TEST_F(ResumeRefusal, MalformedStateJson) {
  capi::SolverPtr s = make(RunSetup{}, pool_);
  const std::string bad = pool_.dir + "/bad.state";
  const char *kv[] = {"fwmerge.state", "{\"version\": 1, \"base\": 3}"};
  const int64_t shape[] = {3};
  float w[3] = {0, 0, 0};
  fw_tensor t{"theta/w", FW_DTYPE_F32, 1, shape, 3, w, FW_DEVICE_TYPE_CPU, 0, {}};
  ASSERT_EQ(fw_save_tensors(bad.c_str(), &t, 1, FW_DTYPE_F32, kv, 1), FW_OK);
  state_ = bad;
  expect_refused(s.get(), FW_ERR_FORMAT, "[state_field]");
}

TEST_F(ResumeRefusal, AStateWithoutTheIterate) {
  // The saved JSON with the tensor renamed: the JSON is fine, the iterate is missing.
  const auto meta = capi::parse_safetensors(state_).metadata();
  const std::string json = meta.at("fwmerge.state");
  const char *kv[] = {"fwmerge.state", json.c_str()};
  const int64_t shape[] = {3};
  float w[3] = {0, 0, 0};
  fw_tensor t{"theta/v", FW_DTYPE_F32, 1, shape, 3, w, FW_DEVICE_TYPE_CPU, 0, {}};
  const std::string bad = pool_.dir + "/no_theta.state";
  ASSERT_EQ(fw_save_tensors(bad.c_str(), &t, 1, FW_DTYPE_F32, kv, 1), FW_OK);
  capi::SolverPtr s = make(RunSetup{}, pool_);
  state_ = bad;
  expect_refused(s.get(), FW_ERR_FORMAT, "[state_tensors]");
}

TEST_F(ResumeRefusal, AMissingFile) {
  capi::SolverPtr s = make(RunSetup{}, pool_);
  state_ = pool_.dir + "/does_not_exist.state";
  expect_refused(s.get(), FW_ERR_IO, "does_not_exist.state");
}

TEST(ResumeState, NeedsABaseAndNoPendingStep) {
  capi::SolverPtr s = capi::new_solver();
  const capi::PoolFiles pool = capi::write_unit_pool("resume_state");
  const std::string state = pool.dir + "/s.state";
  EXPECT_EQ(fw_solver_state_save(s.get(), state.c_str()), FW_ERR_STATE);
  EXPECT_EQ(fw_solver_state_load(s.get(), state.c_str()), FW_ERR_STATE);
  capi::load_pool(s.get(), pool);
  Quadratic q;
  ASSERT_EQ(fw_solver_set_objective_callback(s.get(), capi::quadratic_callback, &q), FW_OK);
  ASSERT_EQ(fw_solver_step_begin(s.get()), FW_OK) << fw_last_error();
  EXPECT_EQ(fw_solver_state_save(s.get(), state.c_str()), FW_ERR_STATE);
  EXPECT_EQ(fw_solver_state_load(s.get(), state.c_str()), FW_ERR_STATE);
  EXPECT_EQ(fw_solver_step_cancel(s.get()), FW_OK);
  EXPECT_EQ(fw_solver_state_save(nullptr, state.c_str()), FW_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(fw_solver_state_load(s.get(), nullptr), FW_ERR_INVALID_ARGUMENT);
}

}  // namespace
