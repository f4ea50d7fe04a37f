// Files that change under the solver, and files that are not files: each case first reproduced
// the crash or hang of issue 8 (SIGBUS through a mapping, a wrong FW_OK, a blocking open) and now
// must end in FW_ERR_IO naming the file, with the solver exactly as before the call.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <future>
#include <string>

#include "capi_fixture.h"

namespace {

using capi::Quadratic;

bool contains(const std::string &text, const std::string &part) {
  return text.find(part) != std::string::npos;
}

uint64_t file_size(const std::string &path) {
  struct stat st;
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return static_cast<uint64_t>(st.st_size);
}

// Cuts the last float of the data section: the header stays valid, the data is short.
void truncate_last_float(const std::string &path) {
  ASSERT_EQ(::truncate(path.c_str(), static_cast<off_t>(file_size(path) - 4)), 0) << path;
}

// A pool of one 3-vector per file, with a first step already taken (so "unchanged" means
// something: theta and history are not the initial ones).
class Faults : public capi::UnitPoolTest {
 protected:
  Faults() : UnitPoolTest("faults") {}
  void SetUp() override {
    UnitPoolTest::SetUp();
    use_callback();
    fw_step_info info = capi::blank_info();
    ASSERT_EQ(fw_solver_step(solver_.get(), &info), FW_OK) << fw_last_error();
    before_ = capi::snapshot(solver_.get());
  }
  // The call failed with FW_ERR_IO naming `path`, and nothing observable changed.
  // Returns the message (read before the snapshot's calls replace it).
  std::string expect_io_error_unchanged(fw_status status, const std::string &path) {
    const std::string message = fw_last_error();
    EXPECT_EQ(status, FW_ERR_IO) << message;
    EXPECT_TRUE(contains(message, path)) << message;
    EXPECT_EQ(capi::diff(before_, capi::snapshot(solver_.get())), "");
    return message;
  }

  capi::Snapshot before_;
};

TEST_F(Faults, MemberTruncatedBetweenStepsFailsTheStep) {
  truncate_last_float(pool_.members[1]);
  fw_step_info info = capi::blank_info();
  const std::string message =
      expect_io_error_unchanged(fw_solver_step(solver_.get(), &info), pool_.members[1]);
  EXPECT_TRUE(contains(message, "changed on disk")) << message;
  // fw_solver_run and ask/tell take the same path.
  expect_io_error_unchanged(fw_solver_run(solver_.get(), &info), pool_.members[1]);
  expect_io_error_unchanged(capi::ask_tell_step(solver_.get(), &q_, &info), pool_.members[1]);
}

// The objective truncates a member while the step is under way (after the gradient, before the
// LMO reads the members): the reads that follow see the short file.
TEST_F(Faults, MemberTruncatedDuringTheStepFailsTheStep) {
  struct Host {
    Quadratic *q;
    std::string victim;
    bool done = false;
  } host{&q_, pool_.members[2]};
  auto truncating = [](const fw_tensor *params, size_t n, fw_tensor *grads, double *loss,
                       void *user_data) -> fw_status {
    auto *h = static_cast<Host *>(user_data);
    if (!h->done) {
      h->done = true;
      if (::truncate(h->victim.c_str(), 8) != 0) return FW_ERR_INTERNAL;
    }
    return h->q->evaluate(params, n, grads, loss);
  };
  ASSERT_EQ(fw_solver_set_objective_callback(solver_.get(), truncating, &host), FW_OK);
  fw_step_info info = capi::blank_info();
  expect_io_error_unchanged(fw_solver_step(solver_.get(), &info), pool_.members[2]);
}

TEST_F(Faults, MemberTruncatedBetweenAskAndTellFailsTheStep) {
  ASSERT_EQ(fw_solver_step_begin(solver_.get()), FW_OK) << fw_last_error();
  fw_request r = {};
  r.struct_size = sizeof r;
  ASSERT_EQ(fw_solver_step_ask(solver_.get(), &r), FW_OK) << fw_last_error();
  ASSERT_FALSE(r.done);
  double loss = 0;
  ASSERT_EQ(q_.evaluate(r.params, r.n, r.grads, &loss), FW_OK);
  truncate_last_float(pool_.members[0]);
  fw_status status = fw_solver_step_tell(solver_.get(), FW_OK, loss);
  while (status == FW_OK && fw_solver_step_ask(solver_.get(), &r) == FW_OK && !r.done) {
    ASSERT_EQ(q_.evaluate(r.params, r.n, r.grads, &loss), FW_OK);
    status = fw_solver_step_tell(solver_.get(), FW_OK, loss);
  }
  fw_step_info info = capi::blank_info();
  expect_io_error_unchanged(fw_solver_step_finish(solver_.get(), &info), pool_.members[0]);
}

// A different, larger file written in place (same inode): before, its bytes were read at the old
// offsets and the step returned FW_OK.
TEST_F(Faults, MemberRewrittenInPlaceIsRefused) {
  const std::string path = pool_.members[1];
  fwtest::write_safetensors(path + ".new", {{"w", {3}, {0, 5, 0}}, {"z", {2}, {1, 2}}});
  const std::vector<uint8_t> bytes = fwtest::read_bytes(path + ".new");
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);  // keeps the inode
    out.write(reinterpret_cast<const char *>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
  }
  fw_step_info info = capi::blank_info();
  expect_io_error_unchanged(fw_solver_step(solver_.get(), &info), path);
}

// The path now names another file (written elsewhere and renamed over it).
TEST_F(Faults, MemberReplacedByRenameIsRefused) {
  const std::string path = pool_.members[0];
  fwtest::write_safetensors(path + ".new", {{"w", {3}, {7, 0, 0}}});
  ASSERT_EQ(std::rename((path + ".new").c_str(), path.c_str()), 0);
  fw_step_info info = capi::blank_info();
  const std::string message = expect_io_error_unchanged(fw_solver_step(solver_.get(), &info), path);
  EXPECT_TRUE(contains(message, "replaced")) << message;
}

// Puts `was`'s access and modification times back on `path`, as cp -p or touch -r do. The kernel
// stamps ctime with a coarse clock (a jiffy): when the rewrite fell in the same tick as the file's
// creation, the restore is repeated in a later tick, as it would be in any real rewrite.
void restore_times(const std::string &path, const struct stat &was) {
  const struct timespec times[2] = {was.st_atim, was.st_mtim};
  struct stat now;
  for (int i = 0; i < 200; ++i) {
    ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0);
    ASSERT_EQ(::stat(path.c_str(), &now), 0);
    if (now.st_ctim.tv_sec != was.st_ctim.tv_sec || now.st_ctim.tv_nsec != was.st_ctim.tv_nsec)
      return;
    ::usleep(5000);
  }
  FAIL() << "the status change time of " << path << " does not move";
}

// Same size, same inode, modification time put back: the status change time tells (the header
// hash would too, where a file system keeps no ctime).
TEST_F(Faults, SameSizeHeaderRewriteWithTheOldTimestampIsRefused) {
  const std::string path = pool_.members[2];
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  std::vector<uint8_t> bytes = fwtest::read_bytes(path);
  // "dtype":"F32" -> "dtype":"I32": a header of the same length that means something else.
  const std::string text(bytes.begin(), bytes.end());
  const size_t at = text.find("\"F32\"");
  ASSERT_NE(at, std::string::npos);
  bytes[at + 1] = 'I';
  {
    std::ofstream out(path, std::ios::binary | std::ios::in | std::ios::out);
    out.write(reinterpret_cast<const char *>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
  }
  restore_times(path, st);
  fw_step_info info = capi::blank_info();
  const std::string message = expect_io_error_unchanged(fw_solver_step(solver_.get(), &info), path);
  EXPECT_TRUE(contains(message, "status change time changed")) << message;
}

// The data, not the header, rewritten in place with the same size and its modification time put
// back (cp -p, touch -r): before, the step used the new bytes silently (issue 25, row 8).
TEST_F(Faults, SameSizeDataRewriteWithTheOldTimestampIsRefusedNamingTheFile) {
  const std::string path = pool_.members[1];
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  std::vector<uint8_t> bytes = fwtest::read_bytes(path);
  bytes[bytes.size() - 2] ^= 0x40;  // the last float's exponent: another value, same size
  {
    std::ofstream out(path, std::ios::binary | std::ios::in | std::ios::out);
    out.write(reinterpret_cast<const char *>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
  }
  restore_times(path, st);
  struct stat after;
  ASSERT_EQ(::stat(path.c_str(), &after), 0);
  ASSERT_EQ(after.st_mtim.tv_nsec, st.st_mtim.tv_nsec);  // the premise: mtime and size as before
  ASSERT_EQ(after.st_size, st.st_size);
  fw_step_info info = capi::blank_info();
  const std::string message = expect_io_error_unchanged(fw_solver_step(solver_.get(), &info), path);
  EXPECT_TRUE(contains(message, path + " changed on disk since it was opened")) << message;
  EXPECT_TRUE(contains(message, "status change time changed")) << message;
}

// Soft FW streams its candidates from disk at every inner iteration: the same checks hold there.
TEST(FaultsSoft, MemberTruncatedDuringSoftIterationsFailsTheStep) {
  const capi::PoolFiles pool = capi::write_unit_pool("faults_soft");
  fw_params p = fw_default_params();
  p.lmo = FW_LMO_SOFT;
  p.soft_solver = FW_SOFT_SOLVER_CAPPED;
  p.soft_iters = 5;
  capi::SolverPtr solver = capi::new_solver(&p);
  capi::load_pool(solver.get(), pool);
  struct Host {
    Quadratic q;
    std::string victim;
    int calls = 0;
  } host;
  host.q.target["w"] = {1, 1, 0};
  host.victim = pool.members[0];
  auto truncating = [](const fw_tensor *params, size_t n, fw_tensor *grads, double *loss,
                       void *user_data) -> fw_status {
    auto *h = static_cast<Host *>(user_data);
    if (++h->calls == 3 && ::truncate(h->victim.c_str(), 8) != 0) return FW_ERR_INTERNAL;
    return h->q.evaluate(params, n, grads, loss);
  };
  ASSERT_EQ(fw_solver_set_objective_callback(solver.get(), truncating, &host), FW_OK);
  const capi::Snapshot before = capi::snapshot(solver.get());
  fw_step_info info = capi::blank_info();
  EXPECT_EQ(fw_solver_step(solver.get(), &info), FW_ERR_IO) << fw_last_error();
  EXPECT_TRUE(contains(fw_last_error(), pool.members[0])) << fw_last_error();
  EXPECT_GE(host.calls, 3);
  EXPECT_EQ(capi::diff(before, capi::snapshot(solver.get())), "");
}

// ---- not regular files: refused at once, never a blocking open ----

// Runs `call` on a thread; if it has not returned within 20 s it is blocked in open() of the FIFO,
// which a writer opening the FIFO releases (so the test fails instead of hanging). The thread's
// fw_last_error() goes to *message.
fw_status within_deadline(const std::string &fifo, const std::function<fw_status()> &call,
                          std::string *message = nullptr) {
  auto result = std::async(std::launch::async, [&] {
    const fw_status status = call();
    if (message) *message = fw_last_error();
    return status;
  });
  if (result.wait_for(std::chrono::seconds(20)) == std::future_status::ready) return result.get();
  ADD_FAILURE() << "the call blocked on the FIFO " << fifo;
  const int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
  result.wait();
  if (fd >= 0) ::close(fd);
  return FW_ERR_INTERNAL;
}

TEST(FaultsFifo, BaseMemberAndFolderPartsThatAreFifosAreRefused) {
  const capi::PoolFiles pool = capi::write_unit_pool("faults_fifo");
  const std::string fifo = pool.dir + "/pipe.safetensors";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  capi::SolverPtr solver = capi::new_solver();
  std::string message;
  EXPECT_EQ(within_deadline(
                fifo, [&] { return fw_solver_set_base(solver.get(), fifo.c_str()); }, &message),
            FW_ERR_IO);
  EXPECT_TRUE(contains(message, "FIFO") && contains(message, fifo)) << message;
  ASSERT_EQ(fw_solver_set_base(solver.get(), pool.base.c_str()), FW_OK) << fw_last_error();
  EXPECT_EQ(within_deadline(
                fifo, [&] { return fw_solver_pool_add(solver.get(), fifo.c_str(), nullptr); }),
            FW_ERR_IO);
  EXPECT_EQ(
      within_deadline(fifo, [&] { return fw_solver_set_start_file(solver.get(), fifo.c_str()); }),
      FW_ERR_IO);
  EXPECT_EQ(fw_solver_pool_size(solver.get()), 0u);

  // A Hugging Face folder whose index is a FIFO, and an adapter folder whose config is one.
  const std::string hf = fwtest::temp_dir("faults_fifo_hf");
  const std::string index = hf + "/model.safetensors.index.json";
  ASSERT_EQ(::mkfifo(index.c_str(), 0600), 0);
  EXPECT_EQ(
      within_deadline(index, [&] { return fw_solver_pool_add(solver.get(), hf.c_str(), nullptr); }),
      FW_ERR_IO);
  const std::string adapter = fwtest::temp_dir("faults_fifo_lora");
  const std::string config = adapter + "/adapter_config.json";
  ASSERT_EQ(::mkfifo(config.c_str(), 0600), 0);
  fwtest::write_safetensors(adapter + "/adapter_model.safetensors",
                            {{"base_model.model.w.lora_A.weight", {1, 3}, {1, 2, 3}}});
  EXPECT_EQ(within_deadline(
                config, [&] { return fw_solver_pool_add(solver.get(), adapter.c_str(), nullptr); }),
            FW_ERR_IO);
  EXPECT_EQ(fw_solver_pool_size(solver.get()), 0u);

  // fw_merge opens its inputs the same way.
  const char *members[] = {fifo.c_str()};
  const std::string out = pool.dir + "/merged.safetensors";
  const fw_merge_params mp = fw_default_merge_params(FW_MERGE_METHOD_LINEAR);
  EXPECT_EQ(
      within_deadline(
          fifo, [&] { return fw_merge(&mp, pool.base.c_str(), members, 1, out.c_str(), nullptr); }),
      FW_ERR_IO);
  EXPECT_FALSE(fwtest::list_dir(pool.dir).count("merged.safetensors"));
}

// The built-in objective's TorchScript module: torch::jit::load would block
// in open() on a FIFO until a writer came.
TEST(FaultsFifo, TorchScriptModuleThatIsAFifoIsRefused) {
  const capi::PoolFiles pool = capi::write_unit_pool("faults_fifo_ts");
  const std::string fifo = pool.dir + "/module.pt";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  capi::SolverPtr solver = capi::new_solver();
  capi::load_pool(solver.get(), pool);
  fw_objective_term term = {nullptr, "x", nullptr, 1.0};
  fw_torchscript_objective o = fw_default_torchscript_objective();
  o.module_path = fifo.c_str();
  o.calibration_path = pool.base.c_str();
  o.terms = &term;
  o.n_terms = 1;
  std::string message;
  EXPECT_EQ(
      within_deadline(
          fifo, [&] { return fw_solver_set_objective_torchscript(solver.get(), &o); }, &message),
      FW_ERR_IO);
  EXPECT_TRUE(contains(message, "FIFO") && contains(message, fifo)) << message;
}

// ---- fw_merge: inputs that change after they were validated ----

// A member truncated after fw_merge validated the headers cannot be simulated through the C API
// (it has no hook between validation and reading); a member that is short from the start is the
// same read path and must be a clean error with nothing written.
TEST(FaultsMerge, ShortMemberIsAnErrorAndNothingIsWritten) {
  const capi::PoolFiles pool = capi::write_unit_pool("faults_merge");
  truncate_last_float(pool.members[1]);
  std::vector<const char *> members;
  for (const auto &m : pool.members) members.push_back(m.c_str());
  const std::string out = pool.dir + "/merged.safetensors";
  const fw_merge_params mp = fw_default_merge_params(FW_MERGE_METHOD_TIES);
  const fw_status status =
      fw_merge(&mp, pool.base.c_str(), members.data(), members.size(), out.c_str(), nullptr);
  EXPECT_TRUE(status == FW_ERR_FORMAT || status == FW_ERR_IO) << fw_status_name(status);
  EXPECT_TRUE(contains(fw_last_error(), pool.members[1])) << fw_last_error();
  for (const std::string &name : fwtest::list_dir(pool.dir))
    EXPECT_TRUE(name.rfind("merged", 0) != 0 && name.find(".tmp") == std::string::npos) << name;
}

// fw_solver_export reads nothing from disk (theta is resident, the base's names, shapes and dtypes
// were read at fw_solver_set_base): a base truncated since does not change what it writes.
TEST_F(Faults, ExportAfterTheBaseWasTruncatedWritesTheIterate) {
  truncate_last_float(pool_.base);
  const std::string out = pool_.dir + "/out.safetensors";
  ASSERT_EQ(fw_solver_export(solver_.get(), out.c_str(), nullptr), FW_OK) << fw_last_error();
  const capi::ParsedFile f = capi::parse_safetensors(out);
  EXPECT_EQ(capi::decode(f.tensor_bytes("w"), "F32"), capi::current_values(solver_.get()));
  EXPECT_EQ(capi::diff(before_, capi::snapshot(solver_.get())), "");
}

}  // namespace
