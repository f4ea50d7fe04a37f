// Sharded solving (include/fwmerge.h, fw_dist_params): 2 and 4 ranks, one process each
// (tests/dist/rank/rank_main.cpp), on loopback rendezvous only. Each sharded run must equal the
// single-process run of the same merge byte for byte (iterates) and line for line (history, hex
// floats); the shard plan must be the documented one, computed here by hand; a rank that dies or
// fails makes the others fail within the timeout; a rendezvous nobody serves fails cleanly.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "capi/status_map.h"
#include "dist/shard_plan.h"
#include "fwmerge.h"
#include "raw_connect.h"
#include "test_support.h"
#include "util/error.h"

extern char **environ;

namespace {

// Tensors in base order with their sizes (F32): the plan below is worked out from these.
const std::vector<std::pair<std::string, std::vector<int64_t>>> kShapes = {
    {"embed", {128, 32}},        {"layers.0.attn", {64, 32}}, {"layers.0.mlp", {96, 32}},
    {"layers.1.attn", {64, 32}}, {"layers.1.mlp", {96, 32}},  {"norm", {32}}};

std::string make_pool() {
  const std::string dir = fwtest::temp_dir("pool");
  uint64_t state = 12345;
  auto next = [&] {  // LCG in [-1, 1)
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<float>(static_cast<double>(state >> 11) / 9007199254740992.0 * 2.0 - 1.0);
  };
  for (const std::string name : {"base", "m0", "m1", "m2", "m3"}) {
    std::vector<fwtest::TestTensor> tensors;
    for (const auto &[tname, shape] : kShapes) {
      int64_t numel = 1;
      for (int64_t d : shape) numel *= d;
      std::vector<float> v(static_cast<size_t>(numel));
      for (float &x : v) x = next();
      tensors.push_back({tname, shape, v});
    }
    fwtest::write_safetensors(dir + "/" + name + ".safetensors", tensors);
  }
  return dir;
}

const std::string &pool() {
  static const std::string dir = make_pool();
  return dir;
}

// FWMERGE_DIST_SECRET of a rank process: as in this process, removed, or set.
struct SecretEnv {
  enum Mode { kInherit, kUnset, kSet } mode = kInherit;
  std::string value;
};
SecretEnv env_secret(const std::string &value) { return {SecretEnv::kSet, value}; }
SecretEnv no_env_secret() { return {SecretEnv::kUnset, ""}; }

pid_t spawn(const std::vector<std::string> &args, const SecretEnv &secret = {}) {
  std::vector<char *> argv;
  const std::string program = FW_DIST_RANK_BIN;
  argv.push_back(const_cast<char *>(program.c_str()));
  for (const std::string &a : args) argv.push_back(const_cast<char *>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<std::string> env_text;
  for (char **e = environ; *e; ++e)
    if (secret.mode == SecretEnv::kInherit || std::string(*e).rfind("FWMERGE_DIST_SECRET=", 0) != 0)
      env_text.push_back(*e);
  if (secret.mode == SecretEnv::kSet) env_text.push_back("FWMERGE_DIST_SECRET=" + secret.value);
  std::vector<char *> envp;
  for (std::string &e : env_text) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = -1;
  EXPECT_EQ(posix_spawn(&pid, program.c_str(), nullptr, nullptr, argv.data(), envp.data()), 0);
  return pid;
}

int wait_exit(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string slurp(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A rank's output: its history lines and its tensors' bytes by name.
struct RankOutput {
  std::string history;
  std::vector<std::string> names;
  std::map<std::string, std::string> bytes;
};

RankOutput parse(const std::string &text) {
  RankOutput out;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t eol = text.find('\n', pos);
    const std::string line = text.substr(pos, eol - pos);
    if (line.rfind("tensor ", 0) == 0) {
      std::istringstream ls(line.substr(7));
      std::string name;
      int64_t numel = 0;
      ls >> name >> numel;
      out.names.push_back(name);
      out.bytes[name] = text.substr(eol + 1, static_cast<size_t>(numel) * 4);
      pos = eol + 1 + static_cast<size_t>(numel) * 4 + 1;
    } else {
      out.history += line + "\n";
      pos = eol + 1;
    }
  }
  return out;
}

int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &len);
  const int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

struct RanksResult {
  std::vector<int> exit_codes;
  std::vector<std::string> outputs;  // raw text per rank
  double seconds = 0;
};

std::vector<std::string> rank_args(const std::string &kase, const std::string &out, int rank,
                                   int world, const std::string &rendezvous) {
  return {"--case",       kase,
          "--pool",       pool(),
          "--out",        out,
          "--rank",       std::to_string(rank),
          "--world",      std::to_string(world),
          "--rendezvous", rendezvous,
          "--timeout-ms", "5000"};
}

RanksResult run_ranks(const std::string &kase, int world, const std::string &rendezvous,
                      const std::vector<std::vector<std::string>> &extra = {},
                      const std::vector<SecretEnv> &secrets = {}) {
  const std::string dir = fwtest::temp_dir("ranks");
  const auto start = std::chrono::steady_clock::now();
  std::vector<pid_t> pids;
  for (int r = 0; r < world; ++r) {
    std::vector<std::string> args =
        rank_args(kase, dir + "/" + std::to_string(r), r, world, rendezvous);
    if (static_cast<size_t>(r) < extra.size())
      args.insert(args.end(), extra[static_cast<size_t>(r)].begin(),
                  extra[static_cast<size_t>(r)].end());
    pids.push_back(spawn(args, static_cast<size_t>(r) < secrets.size()
                                   ? secrets[static_cast<size_t>(r)]
                                   : SecretEnv{}));
  }
  RanksResult run;
  for (pid_t pid : pids) run.exit_codes.push_back(wait_exit(pid));
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (int r = 0; r < world; ++r) run.outputs.push_back(slurp(dir + "/" + std::to_string(r)));
  return run;
}

RankOutput run_reference(const std::string &kase, const std::map<std::string, int> &owner,
                         const std::vector<std::string> &extra = {}) {
  const std::string dir = fwtest::temp_dir("reference");
  {
    std::ofstream o(dir + "/owners");
    for (const auto &[name, r] : owner) o << name << " " << r << "\n";
  }
  std::vector<std::string> args = {"--case", kase,         "--pool",   pool(),
                                   "--out",  dir + "/out", "--owners", dir + "/owners"};
  args.insert(args.end(), extra.begin(), extra.end());
  const pid_t pid = spawn(args);
  EXPECT_EQ(wait_exit(pid), 0);
  return parse(slurp(dir + "/out"));
}

// The ranks' outputs equal the single-process run, and the ranks hold the expected tensors.
void expect_equal_to_one_process(const std::string &kase, int world, const RanksResult &run,
                                 const std::vector<std::vector<std::string>> &expected_shards,
                                 const std::vector<std::string> &extra = {}) {
  std::map<std::string, int> owner;
  std::vector<RankOutput> ranks;
  for (int r = 0; r < world; ++r) {
    ASSERT_EQ(run.exit_codes[static_cast<size_t>(r)], 0) << run.outputs[static_cast<size_t>(r)];
    ranks.push_back(parse(run.outputs[static_cast<size_t>(r)]));
    EXPECT_EQ(ranks.back().names, expected_shards[static_cast<size_t>(r)]) << "rank " << r;
    for (const std::string &n : ranks.back().names) owner[n] = r;
  }
  const RankOutput reference = run_reference(kase, owner, extra);
  ASSERT_EQ(reference.names.size(), kShapes.size());
  EXPECT_NE(reference.history.find("step 2"), std::string::npos) << reference.history;
  for (int r = 0; r < world; ++r) {
    EXPECT_EQ(ranks[static_cast<size_t>(r)].history, reference.history) << "rank " << r;
    for (const std::string &n : ranks[static_cast<size_t>(r)].names)
      EXPECT_TRUE(ranks[static_cast<size_t>(r)].bytes.at(n) == reference.bytes.at(n))
          << "tensor " << n << " of rank " << r << " differs from the single-process iterate";
  }
  // The merge moved: the iterate is not the base any more.
  EXPECT_NE(reference.history.find("gamma"), std::string::npos);
}

void expect_same_as_one_process(const std::string &kase, int world, const std::string &rendezvous,
                                const std::vector<std::vector<std::string>> &expected_shards,
                                const std::vector<std::string> &extra = {},
                                const std::vector<SecretEnv> &secrets = {}) {
  SCOPED_TRACE(kase + " on " + std::to_string(world) + " ranks via " + rendezvous);
  const RanksResult run =
      run_ranks(kase, world, rendezvous,
                std::vector<std::vector<std::string>>(static_cast<size_t>(world), extra), secrets);
  expect_equal_to_one_process(kase, world, run, expected_shards, extra);
}

std::string file_rendezvous() { return "file://" + fwtest::temp_dir("store") + "/store"; }
std::string tcp_rendezvous() { return "tcp://127.0.0.1:" + std::to_string(free_port()); }

// Hand-computed plans (bytes: embed 16384, mlp 12288, attn 8192, norm 128). Two ranks: embed ->
// 0; layers.0.mlp -> 1; layers.1.mlp -> 1 (12288 < 16384); layers.0.attn -> 0 (16384 < 24576);
// layers.1.attn -> 0 (24576 = 24576, tie to the lower rank); norm -> 1.
const std::vector<std::vector<std::string>> kTwo = {{"embed", "layers.0.attn", "layers.1.attn"},
                                                    {"layers.0.mlp", "layers.1.mlp", "norm"}};
// Four ranks: embed 0, layers.0.mlp 1, layers.1.mlp 2, layers.0.attn 3, layers.1.attn 3 (8192 is
// the least), norm 1 (12288, tie with rank 2, the lower wins).
const std::vector<std::vector<std::string>> kFour = {
    {"embed"}, {"layers.0.mlp", "norm"}, {"layers.1.mlp"}, {"layers.0.attn", "layers.1.attn"}};

TEST(ShardPlan, LargestFirstToTheLightestRank) {
  std::vector<fw::TensorMeta> metas;
  for (const auto &[name, shape] : kShapes) {
    int64_t numel = 1;
    for (int64_t d : shape) numel *= d;
    metas.push_back({name, fw::DType::F32, shape, numel});
  }
  EXPECT_EQ(fw::shard_plan(metas, 2), (std::vector<int>{0, 0, 1, 0, 1, 1}));
  EXPECT_EQ(fw::shard_plan(metas, 4), (std::vector<int>{0, 3, 1, 3, 2, 1}));
  EXPECT_EQ(fw::shard_plan(metas, 1), (std::vector<int>(6, 0)));
  metas[0].dtype = fw::DType::BF16;  // 8192 bytes now: the mlp tensors go first
  EXPECT_EQ(fw::shard_plan(metas, 2), (std::vector<int>{0, 1, 0, 0, 1, 1}));
  try {
    fw::shard_plan(metas, 7);
    ADD_FAILURE() << "7 ranks for 6 tensors";
  } catch (const fw::Error &e) {
    EXPECT_EQ(fw::capi::to_public(e.code()), FW_ERR_INVALID_ARGUMENT);
  }
}

TEST(Distributed, HardTaskWiseTwoRanksEqualsOneProcess) {
  expect_same_as_one_process("hard_task", 2, file_rendezvous(), kTwo);
}

TEST(Distributed, HardLayerWiseTwoRanksOverTcpEqualsOneProcess) {
  expect_same_as_one_process("hard_layer", 2, tcp_rendezvous(), kTwo);
}

TEST(Distributed, SoftTaskWisePerTermTopKTwoRanksEqualsOneProcess) {
  expect_same_as_one_process("soft_task", 2, file_rendezvous(), kTwo);
}

TEST(Distributed, SoftLayerWiseTwoRanksEqualsOneProcess) {
  expect_same_as_one_process("soft_layer", 2, tcp_rendezvous(), kTwo);
}

TEST(Distributed, SharedLossModeUsesRankZerosValueOnEveryRank) {
  // Rank 1's objective returns a wrong loss (its part + 1e6): ignored, so the run equals the
  // reference whose loss is rank 0's part alone.
  expect_same_as_one_process("hard_task", 2, file_rendezvous(), kTwo, {"--loss", "shared"});
}

TEST(Distributed, StartFromATaskArithmeticMergeEqualsOneProcess) {
  // The paper's language setting: FW from the task-arithmetic merge (a start vertex outside the
  // pool), here with hard layer-wise steps.
  expect_same_as_one_process("hard_layer", 2, tcp_rendezvous(), kTwo, {"--start", "ta"});
}

TEST(Distributed, WhatAShardedSolverRefusesFailsCleanly) {
  const RanksResult run = run_ranks("hard_task", 2, file_rendezvous(),
                                    {{"--probe", "unsupported"}, {"--probe", "unsupported"}});
  for (int r = 0; r < 2; ++r) {
    SCOPED_TRACE(r);
    const std::string &out = run.outputs[static_cast<size_t>(r)];
    ASSERT_EQ(run.exit_codes[static_cast<size_t>(r)], 0) << out;
    EXPECT_NE(out.find("dare_start FW_ERR_UNSUPPORTED"), std::string::npos) << out;
    EXPECT_NE(out.find("torchscript FW_ERR_UNSUPPORTED"), std::string::npos) << out;
    EXPECT_NE(out.find("state_save FW_ERR_UNSUPPORTED"), std::string::npos) << out;
    EXPECT_NE(out.find("export_other_count FW_ERR_INVALID_ARGUMENT"), std::string::npos) << out;
  }
}

TEST(Distributed, FourRanksEqualOneProcess) {
  expect_same_as_one_process("hard_layer", 4, tcp_rendezvous(), kFour);
  expect_same_as_one_process("soft_task", 4, file_rendezvous(), kFour);
}

// Every file of the two export folders, byte for byte.
void expect_same_folder(const std::string &a, const std::string &b) {
  const std::set<std::string> files = fwtest::list_dir(a);
  EXPECT_EQ(files, fwtest::list_dir(b));
  for (const std::string &f : files)
    EXPECT_TRUE(fwtest::read_bytes(a + "/" + f) == fwtest::read_bytes(b + "/" + f)) << f;
}

std::vector<std::string> names_in(const std::string &path) {
  fw_tensor_set *set = nullptr;
  EXPECT_EQ(fw_load_tensors(path.c_str(), FW_LOAD_FLAG_HEADER_ONLY, &set), FW_OK)
      << fw_last_error();
  std::vector<std::string> names;
  for (size_t i = 0; i < fw_tensor_set_count(set); ++i) {
    fw_tensor v;
    std::memset(&v, 0, sizeof v);
    fw_tensor_set_get(set, i, &v);
    names.push_back(v.name);
  }
  fw_tensor_set_free(set);
  std::sort(names.begin(), names.end());
  return names;
}

TEST(Distributed, ExportByShardsEqualsTheSingleProcessExport) {
  for (const int world : {2, 4}) {
    SCOPED_TRACE(std::to_string(world) + " ranks");
    const std::string out = fwtest::temp_dir("export") + "/merged";
    const RanksResult run = run_ranks(
        "soft_layer", world, tcp_rendezvous(),
        std::vector<std::vector<std::string>>(static_cast<size_t>(world), {"--export", out}));
    std::map<std::string, int> owner;
    for (int r = 0; r < world; ++r) {
      ASSERT_EQ(run.exit_codes[static_cast<size_t>(r)], 0) << run.outputs[static_cast<size_t>(r)];
      for (const std::string &n : parse(run.outputs[static_cast<size_t>(r)]).names) owner[n] = r;
    }
    const std::string reference = fwtest::temp_dir("export_reference") + "/merged";
    run_reference("soft_layer", owner,
                  {"--export", reference, "--rank-shards", std::to_string(world)});
    expect_same_folder(out, reference);
    const auto &plan = world == 2 ? kTwo : kFour;
    for (int r = 0; r < world; ++r) {
      char name[64];
      std::snprintf(name, sizeof name, "/model-%05d-of-%05d.safetensors", r + 1, world);
      std::vector<std::string> expected = plan[static_cast<size_t>(r)];
      std::sort(expected.begin(), expected.end());
      EXPECT_EQ(names_in(out + name), expected) << name;
    }
    // The whole folder reads back as one model (its index lists every shard).
    EXPECT_EQ(names_in(out).size(), kShapes.size());
  }
}

TEST(Distributed, ARankFailingItsExportLeavesNoIndexAnywhere) {
  const std::string parent = fwtest::temp_dir("export_fail"), out = parent + "/merged";
  // Rank 1's abort hook fires at its 4th poll of the export: after converting its 3 tensors,
  // while writing its shard.
  const RanksResult run =
      run_ranks("hard_task", 2, file_rendezvous(),
                {{"--export", out}, {"--export", out, "--export-abort-at", "4"}});
  EXPECT_EQ(run.exit_codes[0], 6) << run.outputs[0];
  EXPECT_EQ(run.exit_codes[1], 6) << run.outputs[1];
  EXPECT_NE(run.outputs[1].find("export_failed FW_ERR_ABORTED"), std::string::npos)
      << run.outputs[1];
  EXPECT_NE(run.outputs[0].find("export_failed FW_ERR_ABORTED [dist] rank 1 failed the writing "
                                "of its shards"),
            std::string::npos)
      << run.outputs[0];
  EXPECT_TRUE(fwtest::list_dir(parent).empty()) << "the export folder is left behind";
}

TEST(Distributed, ARankThatDiesFailsTheOthersWithinTheTimeout) {
  // Rank 1 exits inside its second objective evaluation (the first step's line search).
  const RanksResult run = run_ranks("hard_task", 2, tcp_rendezvous(), {{}, {"--die-at-eval", "2"}});
  EXPECT_EQ(run.exit_codes[1], 3);
  EXPECT_EQ(run.exit_codes[0], 5) << run.outputs[0];
  EXPECT_NE(run.outputs[0].find("step_failed FW_ERR_IO [dist]"), std::string::npos)
      << run.outputs[0];
  EXPECT_LT(run.seconds, 30.0);  // the timeout is 5 s; start-up included
}

TEST(Distributed, AFailingCallbackFailsTheStepOnEveryRank) {
  const RanksResult run =
      run_ranks("soft_layer", 2, file_rendezvous(), {{}, {"--fail-at-eval", "9"}});
  // Step 0 takes 2 evaluations (one per term) and 4 inner iterations: the 9th is in step 1.
  ASSERT_EQ(run.exit_codes[0], 5) << run.outputs[0];
  ASSERT_EQ(run.exit_codes[1], 5) << run.outputs[1];
  EXPECT_EQ(run.outputs[0].rfind("step 0 ", 0), 0u) << run.outputs[0];
  EXPECT_NE(run.outputs[1].find("step_failed FW_ERR_CALLBACK objective callback returned "
                                "FW_ERR_CALLBACK: planted failure"),
            std::string::npos)
      << run.outputs[1];
  EXPECT_NE(run.outputs[0].find("step_failed FW_ERR_CALLBACK [dist] rank 1 failed"),
            std::string::npos)
      << run.outputs[0];
  // The failed step left no record on either rank: one step in each history.
  EXPECT_NE(run.outputs[0].find("history 1\n"), std::string::npos) << run.outputs[0];
  EXPECT_NE(run.outputs[1].find("history 1\n"), std::string::npos) << run.outputs[1];
  // Both completed the same steps before it.
  EXPECT_EQ(run.outputs[0].substr(0, run.outputs[0].find("step_failed")),
            run.outputs[1].substr(0, run.outputs[1].find("step_failed")));
}

TEST(Distributed, ARendezvousNobodyServesFailsWithinTheTimeout) {
  // Rank 1 alone: rank 0 never serves the TCP store.
  const std::string dir = fwtest::temp_dir("lonely");
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid =
      spawn({"--case", "hard_task", "--pool", pool(), "--out", dir + "/1", "--rank", "1", "--world",
             "2", "--rendezvous", tcp_rendezvous(), "--timeout-ms", "1500"});
  EXPECT_EQ(wait_exit(pid), 4);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 20.0);
  EXPECT_NE(slurp(dir + "/1").find("join_failed FW_ERR_IO [dist] rank 1 of 2 could not join"),
            std::string::npos)
      << slurp(dir + "/1");
}

// ---- The tcp:// rendezvous store (lib/dist/auth_store.h; in-process tests: test_auth_store.cpp)

using disttest::raw_connect;

// Waits until rank 0's store accepts connections on 127.0.0.1:port (it is up before rank 0 waits
// for the others), so that what a test does next happens during the rendezvous.
void wait_listening(int port) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    const int fd = raw_connect("127.0.0.1", port);
    if (fd >= 0) return (void)close(fd);
    usleep(20000);
  }
  FAIL() << "rank 0 never listened on port " << port;
}

TEST(Distributed, TheSecretFieldTakesPrecedenceOverTheEnvironment) {
  // Each rank's environment names another secret: only fw_dist_params.secret lets them meet.
  expect_same_as_one_process("hard_task", 2, tcp_rendezvous(), kTwo, {"--secret", "job-secret"},
                             {env_secret("rank-0-env"), env_secret("rank-1-env")});
}

// The real ranks take their secret from FWMERGE_DIST_SECRET here (the field: the test above).
TEST(Distributed, AnOutsiderWithoutTheSecretIsRefusedAndTheRanksFinish) {
  const int port = free_port();
  const std::string rendezvous = "tcp://127.0.0.1:" + std::to_string(port);
  const std::string dir = fwtest::temp_dir("outsider");
  // Rank 0 waits through two outsiders' start-up and refusal (seconds each under ASan on two busy
  // cores), so the real ranks get a long timeout: the test is about the refusal, not about time.
  const std::vector<std::string> patient = {"--timeout-ms", "120000"};
  std::vector<std::string> args0 = rank_args("hard_task", dir + "/0", 0, 2, rendezvous);
  args0.insert(args0.end(), patient.begin(), patient.end());
  const pid_t rank0 = spawn(args0, env_secret("job-secret"));
  wait_listening(port);
  // Outsiders ask to be rank 1 while rank 0 waits for it: a wrong secret, then none at all.
  const SecretEnv outsiders[] = {env_secret("guessed"), no_env_secret()};
  for (size_t i = 0; i < 2; ++i) {
    SCOPED_TRACE(i == 0 ? "wrong secret" : "no secret");
    const std::string out = dir + "/outsider" + std::to_string(i);
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::string> args = rank_args("hard_task", out, 1, 2, rendezvous);
    args.insert(args.end(), {"--timeout-ms", "30000"});  // a refusal must not wait for this
    EXPECT_EQ(wait_exit(spawn(args, outsiders[i])), 4);
    const std::string said = slurp(out);
    EXPECT_EQ(said.rfind("join_failed FW_ERR_IO [dist] rank 1 of 2 could not join", 0), 0u) << said;
    EXPECT_NE(said.find("refused authentication"), std::string::npos) << said;
    // Refused at once, not at the end of its 30 s timeout (process start-up included).
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
              20.0);
  }
  std::vector<std::string> args1 = rank_args("hard_task", dir + "/1", 1, 2, rendezvous);
  args1.insert(args1.end(), patient.begin(), patient.end());
  const pid_t rank1 = spawn(args1, env_secret("job-secret"));
  RanksResult run;
  run.exit_codes = {wait_exit(rank0), wait_exit(rank1)};
  run.outputs = {slurp(dir + "/0"), slurp(dir + "/1")};
  expect_equal_to_one_process("hard_task", 2, run, kTwo);
}

TEST(Distributed, AStrayClientHoldsNeitherRankAndTheStoreIsBoundToItsAddress) {
  // No secret here: the bound address and the handshake deadline protect the ranks regardless.
  const int port = free_port();
  const std::string rendezvous = "tcp://127.0.0.1:" + std::to_string(port);
  const std::string dir = fwtest::temp_dir("stray");
  const pid_t rank0 = spawn(rank_args("soft_layer", dir + "/0", 0, 2, rendezvous), no_env_secret());
  wait_listening(port);
  // Linux routes all of 127/8 to loopback: a store on every interface would answer at 127.0.0.2.
  int error = 0;
  EXPECT_EQ(raw_connect("127.0.0.2", port, &error), -1);
  EXPECT_EQ(error, ECONNREFUSED);
  // TCPStore hung both ranks past their timeout on this: one byte, then the connection held open.
  const int stray = raw_connect("127.0.0.1", port);
  ASSERT_GE(stray, 0);
  ASSERT_EQ(send(stray, "x", 1, 0), 1);
  const pid_t rank1 = spawn(rank_args("soft_layer", dir + "/1", 1, 2, rendezvous), no_env_secret());
  RanksResult run;
  run.exit_codes = {wait_exit(rank0), wait_exit(rank1)};
  run.outputs = {slurp(dir + "/0"), slurp(dir + "/1")};
  close(stray);
  // Both finished (a rank held past its 5 s timeout would have failed with FW_ERR_IO instead).
  expect_equal_to_one_process("soft_layer", 2, run, kTwo);
}

TEST(RankShards, TheExportOptionIsCheckedAndWritesOneShardPerRank) {
  fw_solver *s = nullptr;
  ASSERT_EQ(fw_solver_new(nullptr, &s), FW_OK);
  const std::string base = pool() + "/base.safetensors", m0 = pool() + "/m0.safetensors";
  ASSERT_EQ(fw_solver_set_base(s, base.c_str()), FW_OK);
  ASSERT_EQ(fw_solver_pool_add(s, m0.c_str(), nullptr), FW_OK);
  const std::string dir = fwtest::temp_dir("rank_shards");
  fw_export_options o = fw_default_export_options();
  EXPECT_EQ(o.rank_shards, 0);
  o.rank_shards = -1;
  EXPECT_EQ(fw_solver_export(s, (dir + "/a").c_str(), &o), FW_ERR_INVALID_ARGUMENT);
  o.rank_shards = 2;
  o.max_shard_bytes = 1000;
  EXPECT_EQ(fw_solver_export(s, (dir + "/b").c_str(), &o), FW_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(fw_last_error()).find("max_shard_bytes 0 and hf_folder 0"),
            std::string::npos)
      << fw_last_error();
  o.max_shard_bytes = 0;
  o.hf_folder = 1;
  EXPECT_EQ(fw_solver_export(s, (dir + "/c").c_str(), &o), FW_ERR_INVALID_ARGUMENT);
  o.hf_folder = 0;
  o.rank_shards = 7;  // more ranks than the 6 tensors
  EXPECT_EQ(fw_solver_export(s, (dir + "/d").c_str(), &o), FW_ERR_INVALID_ARGUMENT);
  o.rank_shards = 1;
  const fw_merge_params mp = fw_default_merge_params(FW_MERGE_METHOD_LINEAR);
  const char *members[] = {m0.c_str()};
  EXPECT_EQ(fw_merge(&mp, base.c_str(), members, 1, (dir + "/e").c_str(), &o),
            FW_ERR_INVALID_ARGUMENT);
  EXPECT_TRUE(fwtest::list_dir(dir).empty()) << "a rejected export wrote something";
  o.rank_shards = 2;
  ASSERT_EQ(fw_solver_export(s, (dir + "/f").c_str(), &o), FW_OK) << fw_last_error();
  EXPECT_EQ(fwtest::list_dir(dir + "/f"), (std::set<std::string>{"model-00001-of-00002.safetensors",
                                                                 "model-00002-of-00002.safetensors",
                                                                 "model.safetensors.index.json"}));
  std::vector<std::string> first = kTwo[0];
  std::sort(first.begin(), first.end());
  EXPECT_EQ(names_in(dir + "/f/model-00001-of-00002.safetensors"), first);
  fw_solver_free(s);
}

TEST(Distributed, DistParamsV1HasNoSecretFieldAndV2Sizes) {
  fw_solver *s = nullptr;
  ASSERT_EQ(fw_solver_new(nullptr, &s), FW_OK);
  fw_dist_params d = fw_default_dist_params();
  EXPECT_EQ(d.secret, nullptr);  // NULL: FWMERGE_DIST_SECRET
  d.rendezvous = "file:///nonexistent/never-used";
  // A 0.3.4 caller's struct ends at `loss` (v1, 40 bytes): read without the field.
  const uint32_t v1 = static_cast<uint32_t>(offsetof(fw_dist_params, secret));
  EXPECT_EQ(v1, 40u);
  EXPECT_EQ(sizeof(fw_dist_params), 48u);
  d.struct_size = v1 + 4;  // between v1 and v2
  EXPECT_EQ(fw_solver_set_distributed(s, &d), FW_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(fw_last_error()).find("40 (v1), 48 (v2)"), std::string::npos)
      << fw_last_error();
  d.struct_size = v1;
  EXPECT_EQ(fw_solver_set_distributed(s, &d), FW_OK) << fw_last_error();
  fw_solver_free(s);
}

TEST(Distributed, BadArgumentsFailCleanly) {
  fw_solver *s = nullptr;
  ASSERT_EQ(fw_solver_new(nullptr, &s), FW_OK);
  fw_dist_params d = fw_default_dist_params();
  EXPECT_EQ(d.world_size, 1);
  EXPECT_EQ(d.timeout_ms, 60000);
  EXPECT_EQ(d.loss, FW_DIST_LOSS_SHARED);
  EXPECT_EQ(fw_solver_set_distributed(s, &d), FW_ERR_INVALID_ARGUMENT);  // no rendezvous
  EXPECT_NE(std::string(fw_last_error()).find("rendezvous is NULL"), std::string::npos);
  d.rendezvous = "udp://127.0.0.1:1";
  d.world_size = 2;
  EXPECT_EQ(fw_solver_set_distributed(s, &d), FW_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(fw_last_error()).find("neither tcp://HOST:PORT nor file://PATH"),
            std::string::npos)
      << fw_last_error();
  d.rendezvous = "tcp://127.0.0.1:99999";
  EXPECT_EQ(fw_solver_set_distributed(s, &d), FW_ERR_INVALID_ARGUMENT);
  d.rendezvous = "tcp://127.0.0.1:1";
  d.rank = 2;
  EXPECT_EQ(fw_solver_set_distributed(s, &d), FW_ERR_INVALID_ARGUMENT);
  d.rank = 0;
  d.timeout_ms = 0;
  EXPECT_EQ(fw_solver_set_distributed(s, &d), FW_ERR_INVALID_ARGUMENT);
  d.timeout_ms = 1000;
  d.loss = static_cast<fw_dist_loss>(7);
  EXPECT_EQ(fw_solver_set_distributed(s, &d), FW_ERR_INVALID_ARGUMENT);
  d.loss = FW_DIST_LOSS_SUM;
  d.struct_size = 3;
  EXPECT_EQ(fw_solver_set_distributed(s, &d), FW_ERR_INVALID_ARGUMENT);
  d.struct_size = sizeof d;
  // One rank is a plain solver; joining after the base is set is a state error.
  d.world_size = 1;
  d.rendezvous = "file:///nonexistent/never-used";
  EXPECT_EQ(fw_solver_set_distributed(s, &d), FW_OK) << fw_last_error();
  const std::string base = pool() + "/base.safetensors";
  ASSERT_EQ(fw_solver_set_base(s, base.c_str()), FW_OK);
  EXPECT_EQ(fw_solver_set_distributed(s, &d), FW_ERR_STATE);
  fw_solver_free(s);
}

}  // namespace
