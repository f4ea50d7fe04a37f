// The header's "Versioned structs" rule and enum validation, end to end through the C API, plus
// the helper that implements the rule (lib/capi/versioned.h, lib/capi/enums.h) on a synthetic
// two-version struct (fw_merge_params is at v3, fw_params at v2; the others are at v1).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "capi/enums.h"
#include "capi/status_map.h"
#include "capi/versioned.h"
#include "capi_fixture.h"

namespace {

using capi::Quadratic;

constexpr unsigned char kCanary = 0xC5;

// A caller's struct inside a larger buffer, so that sizes above sizeof(T) are read safely and
// writes past sizeof(T) would show.
template <typename T>
struct Padded {
  alignas(T) unsigned char bytes[sizeof(T) + 64];
  Padded() { std::memset(bytes, kCanary, sizeof bytes); }
  explicit Padded(const T &value) : Padded() { std::memcpy(bytes, &value, sizeof value); }
  T *get() { return reinterpret_cast<T *>(bytes); }
  void set_size(uint32_t size) { std::memcpy(bytes, &size, sizeof size); }
  uint32_t size() const {
    uint32_t s;
    std::memcpy(&s, bytes, sizeof s);
    return s;
  }
  // The first byte at or after `from` that is not the canary; -1 when none.
  long first_written_after(size_t from) const {
    for (size_t i = from; i < sizeof bytes; ++i)
      if (bytes[i] != kCanary) return static_cast<long>(i);
    return -1;
  }
};

// Stores an int into an enum-typed field without forming an out-of-range enum value.
template <typename E>
void set_raw(E *field, int32_t value) {
  static_assert(sizeof(E) == sizeof value, "int-sized enum");
  std::memcpy(static_cast<void *>(field), &value, sizeof value);
}

// An enum value outside the enum, as a C caller can pass one. Only this function loads it as the
// enum type (exempt from -fsanitize=enum); call sites use the returned prvalue directly.
template <typename E>
__attribute__((no_sanitize("enum"))) E forge(int32_t value) {
  E e;
  set_raw(&e, value);
  return e;
}

template <typename E>
int32_t get_raw(const E *field) {
  int32_t value;
  std::memcpy(&value, field, sizeof value);
  return value;
}

bool contains(const std::string &text, const std::string &part) {
  return text.find(part) != std::string::npos;
}

// The shipped sizes of a public struct (v1, v2, ...), as the library lists them.
template <typename T>
std::vector<uint32_t> shipped_sizes() {
  const auto &sizes = fw::capi::StructVersions<T>::sizes;
  return std::vector<uint32_t>(std::begin(sizes), std::end(sizes));
}

// The rejected sizes of an input struct: 0, below v1, just off every shipped size (between two
// versions, or above the newest), and huge.
template <typename T>
std::vector<uint32_t> bad_input_sizes() {
  const std::vector<uint32_t> shipped = shipped_sizes<T>();
  std::vector<uint32_t> bad{0u, 3u, 0xFFFFFFFFu};
  for (const uint32_t v : shipped)
    for (const uint32_t size : {v - 1, v + 4, v + 8})
      if (std::find(shipped.begin(), shipped.end(), size) == shipped.end()) bad.push_back(size);
  return bad;
}

// Calls `call` with a copy of `good` whose struct_size is each rejected size; expects
// FW_ERR_INVALID_ARGUMENT and a message naming the struct, the size and every accepted size.
template <typename T, typename Call>
void expect_sizes_rejected(const T &good, const char *name, Call call) {
  const std::vector<uint32_t> shipped = shipped_sizes<T>();
  ASSERT_EQ(shipped.back(), sizeof(T));
  for (const uint32_t size : bad_input_sizes<T>()) {
    Padded<T> buffer(good);
    buffer.set_size(size);
    EXPECT_EQ(call(buffer.get()), FW_ERR_INVALID_ARGUMENT) << name << " struct_size " << size;
    const std::string message = fw_last_error();
    EXPECT_TRUE(contains(message, name)) << message;
    EXPECT_TRUE(contains(message, "struct_size is " + std::to_string(size))) << message;
    for (size_t v = 0; v < shipped.size(); ++v)
      EXPECT_TRUE(
          contains(message, std::to_string(shipped[v]) + " (v" + std::to_string(v + 1) + ")"))
          << message;
  }
}

// ---- input structs ----

TEST(StructVersions, ParamsSizesOutsideTheShippedOnesAreRejected) {
  const fw_params good = fw_default_params();
  expect_sizes_rejected(good, "fw_params", [](const fw_params *p) {
    fw_solver *s = nullptr;
    const fw_status status = fw_solver_new(p, &s);
    EXPECT_EQ(s, nullptr);
    fw_solver_free(s);
    return status;
  });
  capi::SolverPtr solver = capi::new_solver();
  expect_sizes_rejected(good, "fw_params",
                        [&](const fw_params *p) { return fw_solver_set_params(solver.get(), p); });
  // The shipped size is accepted.
  Padded<fw_params> ok(good);
  EXPECT_EQ(fw_solver_set_params(solver.get(), ok.get()), FW_OK) << fw_last_error();
}

TEST(StructVersions, SolverNewRejectsStructSize3) {
  fw_params p = fw_default_params();
  p.struct_size = 3;
  fw_solver *s = nullptr;
  EXPECT_EQ(fw_solver_new(&p, &s), FW_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(s, nullptr);
  EXPECT_TRUE(contains(fw_last_error(), "fw_params")) << fw_last_error();
}

TEST(StructVersions, MergeParamsSizesOutsideTheShippedOnesAreRejected) {
  const capi::PoolFiles pool = capi::write_unit_pool("versions_merge");
  const std::string out = pool.dir + "/merged.safetensors";
  const char *members[] = {pool.members[0].c_str(), pool.members[1].c_str()};
  const fw_merge_params good = fw_default_merge_params(FW_MERGE_METHOD_TASK_ARITHMETIC);
  expect_sizes_rejected(good, "fw_merge_params", [&](const fw_merge_params *p) {
    return fw_merge(p, pool.base.c_str(), members, 2, out.c_str(), nullptr);
  });
  capi::SolverPtr solver = capi::new_solver();
  capi::load_pool(solver.get(), pool);
  expect_sizes_rejected(good, "fw_merge_params", [&](const fw_merge_params *p) {
    return fw_solver_set_merge_function(solver.get(), p);
  });
  expect_sizes_rejected(good, "fw_merge_params", [&](const fw_merge_params *p) {
    return fw_solver_set_start_merge(solver.get(), p);
  });
  EXPECT_EQ(capi::list_dir(pool.dir).size(), 4u) << "a rejected merge wrote a file";
  Padded<fw_merge_params> ok(good);
  EXPECT_EQ(fw_merge(ok.get(), pool.base.c_str(), members, 2, out.c_str(), nullptr), FW_OK)
      << fw_last_error();
}

// A member of the unit pool without its tensor "w" (it holds "other" only):
// PATH/lacking.safetensors.
std::string write_lacking_w(const std::string &dir) {
  const std::string path = dir + "/lacking.safetensors";
  const float one = 1.0f;
  const int64_t shape[] = {1};
  fw_tensor other{};
  other.name = "other";
  other.dtype = FW_DTYPE_F32;
  other.ndim = 1;
  other.shape = shape;
  other.numel = 1;
  other.data = const_cast<float *>(&one);
  EXPECT_EQ(fw_save_tensors(path.c_str(), &other, 1, FW_DTYPE_DEFAULT, nullptr, 0), FW_OK)
      << fw_last_error();
  return path;
}

// fw_merge_params v1 (0.2.0, through `threads`) from an older caller: the bytes past its size are
// garbage here (the canary), and the library must not read them: abort gets its default, NULL
// (reading the canary as a function pointer would crash).
TEST(StructVersions, MergeParamsV1GetsNoAbortHook) {
  const capi::PoolFiles pool = capi::write_unit_pool("versions_merge_v1");
  const char *members[] = {pool.members[0].c_str(), pool.members[1].c_str()};
  const std::vector<uint32_t> shipped = shipped_sizes<fw_merge_params>();
  ASSERT_EQ(shipped.size(), 8u);
  EXPECT_EQ(shipped[0], offsetof(fw_merge_params, abort));
  EXPECT_EQ(shipped[1], offsetof(fw_merge_params, densities));
  EXPECT_EQ(shipped[2], offsetof(fw_merge_params, include_tensors));
  EXPECT_EQ(shipped[3], offsetof(fw_merge_params, overrides));
  EXPECT_EQ(shipped[4], offsetof(fw_merge_params, allow_outside_links));
  EXPECT_EQ(shipped[5], offsetof(fw_merge_params, fill_missing_from_base));  // reserved_v7: padding
  EXPECT_EQ(shipped[6], offsetof(fw_merge_params, t));
  fw_merge_params v2 = fw_default_merge_params(FW_MERGE_METHOD_TASK_ARITHMETIC);
  Padded<fw_merge_params> v1;
  std::memcpy(v1.bytes, &v2, shipped[0]);
  v1.set_size(shipped[0]);
  const std::string out_v1 = pool.dir + "/v1.safetensors", out_v2 = pool.dir + "/v2.safetensors";
  ASSERT_EQ(fw_merge(v1.get(), pool.base.c_str(), members, 2, out_v1.c_str(), nullptr), FW_OK)
      << fw_last_error();
  // v2 (0.2.1, through abort_user_data): the canary would be the densities and betas pointers.
  Padded<fw_merge_params> v2_only;
  std::memcpy(v2_only.bytes, &v2, shipped[1]);
  v2_only.set_size(shipped[1]);
  ASSERT_EQ(fw_merge(v2_only.get(), pool.base.c_str(), members, 2, out_v2.c_str(), nullptr), FW_OK)
      << fw_last_error();
  // v3 (0.3.0, through betas): the canary would be the tensor filter's pointers and counts.
  Padded<fw_merge_params> v3_only;
  std::memcpy(v3_only.bytes, &v2, shipped[2]);
  v3_only.set_size(shipped[2]);
  const std::string out_v3 = pool.dir + "/v3.safetensors";
  ASSERT_EQ(fw_merge(v3_only.get(), pool.base.c_str(), members, 2, out_v3.c_str(), nullptr), FW_OK)
      << fw_last_error();
  EXPECT_EQ(capi::parse_safetensors(out_v3).tensor_bytes("w"),
            capi::parse_safetensors(out_v2).tensor_bytes("w"));
  // v4 (0.3.1, through compute_dtype): the canary would be the overrides pointer and count.
  Padded<fw_merge_params> v4_only;
  std::memcpy(v4_only.bytes, &v2, shipped[3]);
  v4_only.set_size(shipped[3]);
  const std::string out_v4 = pool.dir + "/v4.safetensors";
  ASSERT_EQ(fw_merge(v4_only.get(), pool.base.c_str(), members, 2, out_v4.c_str(), nullptr), FW_OK)
      << fw_last_error();
  EXPECT_EQ(capi::parse_safetensors(out_v4).tensor_bytes("w"),
            capi::parse_safetensors(out_v2).tensor_bytes("w"));
  // v5 (0.3.2, through n_overrides): the canary would be allow_outside_links (nonzero: follow
  // links out of model folders); the default applies, so a base folder linking out is refused.
  const std::string linked = pool.dir + "/linked_base";
  ASSERT_EQ(::mkdir(linked.c_str(), 0755), 0);
  ASSERT_EQ(::symlink(pool.base.c_str(), (linked + "/model.safetensors").c_str()), 0);
  Padded<fw_merge_params> v5_only;
  std::memcpy(v5_only.bytes, &v2, shipped[4]);
  v5_only.set_size(shipped[4]);
  const std::string out_v5 = pool.dir + "/v5.safetensors";
  EXPECT_EQ(fw_merge(v5_only.get(), linked.c_str(), members, 2, out_v5.c_str(), nullptr),
            FW_ERR_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(fw_last_error(), "points to " + pool.base)) << fw_last_error();
  // v6 (0.3.5, through allow_outside_links): the canary would be fill_missing_from_base
  // (nonzero); the default applies, so a member lacking the base's tensor is refused.
  const std::string lacking = write_lacking_w(pool.dir);
  const char *with_lacking[] = {members[0], lacking.c_str()};
  Padded<fw_merge_params> v6_only;
  std::memcpy(v6_only.bytes, &v2, shipped[5]);
  v6_only.set_size(shipped[5]);
  EXPECT_EQ(fw_merge(v6_only.get(), pool.base.c_str(), with_lacking, 2,
                     (pool.dir + "/v6.safetensors").c_str(), nullptr),
            FW_ERR_NAME_MISMATCH);
  EXPECT_TRUE(contains(fw_last_error(), "lacks tensor \"w\"")) << fw_last_error();
  // The same merge: theta_0 + 0.3 (e1 + e2) = (0.3, 0.3, 0).
  EXPECT_EQ(capi::decode(capi::parse_safetensors(out_v1).tensor_bytes("w"), "F32"),
            (std::vector<float>{0.3f, 0.3f, 0.0f}));
  EXPECT_EQ(capi::parse_safetensors(out_v1).tensor_bytes("w"),
            capi::parse_safetensors(out_v2).tensor_bytes("w"));
}

// fw_params v1 (0.2.0, through `seed`) from an older caller: the bytes past its size are the
// canary (0xC5C5C5C5 would be an invalid device and dtype), and the library must not read them:
// the solver works on the CPU in fp32, as 0.2 did.
TEST(StructVersions, ParamsV1RunsOnTheCpuInFp32) {
  const std::vector<uint32_t> shipped = shipped_sizes<fw_params>();
  ASSERT_EQ(shipped.size(), 7u);
  EXPECT_EQ(shipped[0], offsetof(fw_params, device));
  EXPECT_EQ(shipped[1], offsetof(fw_params, include_tensors));
  EXPECT_EQ(shipped[2], offsetof(fw_params, max_evaluations));
  EXPECT_EQ(shipped[3], offsetof(fw_params, topk_rule));
  EXPECT_EQ(shipped[4], offsetof(fw_params, allow_outside_links));     // reserved_v6 was padding
  EXPECT_EQ(shipped[5], offsetof(fw_params, fill_missing_from_base));  // reserved_v7 was padding
  const fw_params v2 = fw_default_params();
  Padded<fw_params> v1;
  std::memcpy(v1.bytes, &v2, shipped[0]);
  v1.set_size(shipped[0]);
  fw_solver *raw = nullptr;
  ASSERT_EQ(fw_solver_new(v1.get(), &raw), FW_OK) << fw_last_error();
  capi::SolverPtr solver(raw);
  const capi::PoolFiles pool = capi::write_unit_pool("versions_params_v1");
  capi::load_pool(solver.get(), pool);
  capi::Quadratic q;  // expects F32 views in host memory
  q.target["w"] = {1, 1, 0};
  ASSERT_EQ(fw_solver_set_objective_callback(solver.get(), capi::quadratic_callback, &q), FW_OK);
  ASSERT_EQ(fw_solver_step(solver.get(), nullptr), FW_OK) << fw_last_error();
  const fw_tensor *views = nullptr;
  size_t n = 0;
  ASSERT_EQ(fw_solver_current(solver.get(), &views, &n), FW_OK);
  EXPECT_EQ(views[0].dtype, FW_DTYPE_F32);
  EXPECT_EQ(views[0].device, FW_DEVICE_TYPE_CPU);
  EXPECT_EQ(fw_solver_set_params(solver.get(), v1.get()), FW_OK) << fw_last_error();
  // v2 (0.3.0, through host_views): the canary would be the tensor filter; every tensor is merged.
  Padded<fw_params> v2_only;
  std::memcpy(v2_only.bytes, &v2, shipped[1]);
  v2_only.set_size(shipped[1]);
  ASSERT_EQ(fw_solver_new(v2_only.get(), &raw), FW_OK) << fw_last_error();
  capi::SolverPtr v2_solver(raw);
  capi::load_pool(v2_solver.get(), pool);
  ASSERT_EQ(fw_solver_current(v2_solver.get(), &views, &n), FW_OK);
  EXPECT_EQ(n, 1u);
  EXPECT_EQ(fw_solver_set_params(v2_solver.get(), v2_only.get()), FW_OK) << fw_last_error();
  // v3 (0.3.1, through n_exclude_tensors): the canary would be max_evaluations (negative, so it
  // would be refused); the default, no budget, applies.
  Padded<fw_params> v3_only;
  std::memcpy(v3_only.bytes, &v2, shipped[2]);
  v3_only.set_size(shipped[2]);
  ASSERT_EQ(fw_solver_new(v3_only.get(), &raw), FW_OK) << fw_last_error();
  capi::SolverPtr v3_solver(raw);
  capi::load_pool(v3_solver.get(), pool);
  ASSERT_EQ(fw_solver_set_objective_callback(v3_solver.get(), capi::quadratic_callback, &q), FW_OK);
  ASSERT_EQ(fw_solver_step(v3_solver.get(), nullptr), FW_OK) << fw_last_error();
  // v4 (0.3.2, through max_evaluations): the canary would be topk_rule (out of range, so it would
  // be refused); the default applies.
  Padded<fw_params> v4_only;
  std::memcpy(v4_only.bytes, &v2, shipped[3]);
  v4_only.set_size(shipped[3]);
  ASSERT_EQ(fw_solver_new(v4_only.get(), &raw), FW_OK) << fw_last_error();
  fw_solver_free(raw);
  // v5 (0.3.3, through topk_rule): the canary would be allow_outside_links (nonzero); the default
  // applies, so a base folder whose weights link out of it is refused.
  const std::string linked = pool.dir + "/linked_base";
  ASSERT_EQ(::mkdir(linked.c_str(), 0755), 0);
  ASSERT_EQ(::symlink(pool.base.c_str(), (linked + "/model.safetensors").c_str()), 0);
  Padded<fw_params> v5_only;
  std::memcpy(v5_only.bytes, &v2, shipped[4]);
  v5_only.set_size(shipped[4]);
  ASSERT_EQ(fw_solver_new(v5_only.get(), &raw), FW_OK) << fw_last_error();
  capi::SolverPtr v5_solver(raw);
  EXPECT_EQ(fw_solver_set_base(raw, linked.c_str()), FW_ERR_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(fw_last_error(), linked + "/model.safetensors points to " + pool.base))
      << fw_last_error();
  // v6 (0.3.5, through allow_outside_links): the canary would be fill_missing_from_base; the
  // default applies, so a member lacking the base's tensor is refused.
  Padded<fw_params> v6_only;
  std::memcpy(v6_only.bytes, &v2, shipped[5]);
  v6_only.set_size(shipped[5]);
  ASSERT_EQ(fw_solver_new(v6_only.get(), &raw), FW_OK) << fw_last_error();
  capi::SolverPtr v6_solver(raw);
  ASSERT_EQ(fw_solver_set_base(raw, pool.base.c_str()), FW_OK) << fw_last_error();
  const std::string lacking = write_lacking_w(pool.dir);
  EXPECT_EQ(fw_solver_pool_add(raw, lacking.c_str(), nullptr), FW_ERR_NAME_MISMATCH);
  // (With the field set, w would be filled and the error would name "other" instead.)
  EXPECT_TRUE(contains(fw_last_error(), "lacks tensor \"w\"")) << fw_last_error();
  // The current version with the field set follows it.
  fw_params allow = fw_default_params();
  allow.allow_outside_links = 1;
  ASSERT_EQ(fw_solver_new(&allow, &raw), FW_OK) << fw_last_error();
  capi::SolverPtr allowed(raw);
  EXPECT_EQ(fw_solver_set_base(raw, linked.c_str()), FW_OK) << fw_last_error();
}

TEST(StructVersions, ExportOptionsSizesOutsideTheShippedOnesAreRejected) {
  const capi::PoolFiles pool = capi::write_unit_pool("versions_export");
  const std::string out = pool.dir + "/out.safetensors";
  capi::SolverPtr solver = capi::new_solver();
  capi::load_pool(solver.get(), pool);
  const fw_export_options good = fw_default_export_options();
  expect_sizes_rejected(good, "fw_export_options", [&](const fw_export_options *o) {
    return fw_solver_export(solver.get(), out.c_str(), o);
  });
  const fw_merge_params mp = fw_default_merge_params(FW_MERGE_METHOD_LINEAR);
  const char *members[] = {pool.members[0].c_str()};
  expect_sizes_rejected(good, "fw_export_options", [&](const fw_export_options *o) {
    return fw_merge(&mp, pool.base.c_str(), members, 1, out.c_str(), o);
  });
  EXPECT_EQ(capi::list_dir(pool.dir).size(), 4u) << "a rejected export wrote a file";
  Padded<fw_export_options> ok(good);
  EXPECT_EQ(fw_solver_export(solver.get(), out.c_str(), ok.get()), FW_OK) << fw_last_error();
  // v1 (through max_shard_bytes) from an older caller: the canary past it would be hf_folder and
  // model_card; they get their defaults, a plain file.
  const std::vector<uint32_t> shipped = shipped_sizes<fw_export_options>();
  ASSERT_EQ(shipped.size(), 3u);
  EXPECT_EQ(shipped[0], offsetof(fw_export_options, hf_folder));
  EXPECT_EQ(shipped[1], offsetof(fw_export_options, rank_shards));
  EXPECT_EQ(shipped[2], sizeof(fw_export_options));
  Padded<fw_export_options> v1;
  std::memcpy(v1.bytes, &good, shipped[0]);
  v1.set_size(shipped[0]);
  const std::string out_v1 = pool.dir + "/v1.safetensors";
  ASSERT_EQ(fw_solver_export(solver.get(), out_v1.c_str(), v1.get()), FW_OK) << fw_last_error();
  EXPECT_EQ(capi::parse_safetensors(out_v1).tensor_bytes("w"),
            capi::parse_safetensors(out).tensor_bytes("w"));
}

TEST(StructVersions, TorchScriptObjectiveSizesOutsideTheShippedOnesAreRejected) {
  capi::SolverPtr solver = capi::new_solver();
  const fw_torchscript_objective good = fw_default_torchscript_objective();
  EXPECT_EQ(good.struct_size, sizeof(fw_torchscript_objective));
  expect_sizes_rejected(good, "fw_torchscript_objective", [&](const fw_torchscript_objective *o) {
    return fw_solver_set_objective_torchscript(solver.get(), o);
  });
  // The shipped size gets past the size check (and stops at the missing base).
  Padded<fw_torchscript_objective> ok(good);
  EXPECT_EQ(fw_solver_set_objective_torchscript(solver.get(), ok.get()), FW_ERR_STATE)
      << fw_last_error();
}

// ---- output structs ----

class OutputStructs : public capi::UnitPoolTest {
 protected:
  OutputStructs() : UnitPoolTest("versions_output") {}
  void SetUp() override {
    UnitPoolTest::SetUp();
    use_callback();
  }
  fw_solver *s() { return solver_.get(); }
};

TEST_F(OutputStructs, StepInfoIsWrittenUpToSizeofOnly) {
  for (const uint32_t size : {static_cast<uint32_t>(sizeof(fw_step_info)),
                              static_cast<uint32_t>(sizeof(fw_step_info) + 16)}) {
    SCOPED_TRACE(size);
    SetUp();  // a fresh solver per size
    Padded<fw_step_info> step, run, history, finish;
    step.set_size(size);
    ASSERT_EQ(fw_solver_step(s(), step.get()), FW_OK) << fw_last_error();
    EXPECT_EQ(step.first_written_after(sizeof(fw_step_info)), -1)
        << "fw_solver_step wrote past sizeof";
    EXPECT_EQ(step.size(), sizeof(fw_step_info)) << "struct_size is the number of bytes written";
    EXPECT_EQ(step.get()->k, 1);

    history.set_size(size);
    ASSERT_EQ(fw_solver_history_get(s(), 0, history.get()), FW_OK) << fw_last_error();
    EXPECT_EQ(history.first_written_after(sizeof(fw_step_info)), -1);
    EXPECT_EQ(history.get()->iteration, 0);

    finish.set_size(size);
    ASSERT_EQ(capi::ask_tell_step(s(), &q_, finish.get()), FW_OK) << fw_last_error();
    EXPECT_EQ(finish.first_written_after(sizeof(fw_step_info)), -1);

    run.set_size(size);
    ASSERT_EQ(fw_solver_run(s(), run.get()), FW_OK) << fw_last_error();
    EXPECT_EQ(run.first_written_after(sizeof(fw_step_info)), -1);
    EXPECT_EQ(run.size(), sizeof(fw_step_info));
  }
}

TEST_F(OutputStructs, StepInfoSizeZeroOrBelowV1IsRejectedBeforeTheStep) {
  for (const uint32_t size : {0u, 3u, static_cast<uint32_t>(sizeof(fw_step_info) - 1)}) {
    SCOPED_TRACE(size);
    Padded<fw_step_info> info;
    info.set_size(size);
    EXPECT_EQ(fw_solver_step(s(), info.get()), FW_ERR_INVALID_ARGUMENT);
    EXPECT_TRUE(contains(fw_last_error(), "fw_step_info")) << fw_last_error();
    EXPECT_EQ(fw_solver_run(s(), info.get()), FW_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(fw_solver_history_size(s()), 0) << "a step was taken although its info was rejected";
    EXPECT_EQ(q_.calls, 0);
    EXPECT_EQ(info.first_written_after(sizeof info.size()), -1) << "the rejected info was written";
    EXPECT_EQ(info.size(), size);
  }
  // fw_solver_history_get and fw_solver_step_finish: the same check; a rejected finish leaves the
  // step pending.
  fw_step_info good = capi::blank_info();
  ASSERT_EQ(fw_solver_step(s(), &good), FW_OK) << fw_last_error();
  Padded<fw_step_info> zero;
  zero.set_size(0);
  EXPECT_EQ(fw_solver_history_get(s(), 0, zero.get()), FW_ERR_INVALID_ARGUMENT);
  ASSERT_EQ(fw_solver_step_begin(s()), FW_OK) << fw_last_error();
  fw_request r = {};
  r.struct_size = sizeof r;
  while (fw_solver_step_ask(s(), &r) == FW_OK && !r.done) {
    double loss = 0;
    ASSERT_EQ(q_.evaluate(r.params, r.n, r.grads, &loss), FW_OK);
    ASSERT_EQ(fw_solver_step_tell(s(), FW_OK, loss), FW_OK) << fw_last_error();
  }
  // The step committed when its last evaluation was told; the rejected finish keeps it pending,
  // so a second finish still reports it.
  EXPECT_EQ(fw_solver_step_finish(s(), zero.get()), FW_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(zero.first_written_after(sizeof zero.size()), -1);
  EXPECT_EQ(fw_solver_step_finish(s(), &good), FW_OK) << fw_last_error();
  EXPECT_EQ(fw_solver_history_size(s()), 2);
  EXPECT_EQ(good.iteration, 1);
}

TEST_F(OutputStructs, RequestIsWrittenUpToSizeofOnly) {
  ASSERT_EQ(fw_solver_step_begin(s()), FW_OK) << fw_last_error();
  for (const uint32_t size :
       {static_cast<uint32_t>(sizeof(fw_request)), static_cast<uint32_t>(sizeof(fw_request) + 8)}) {
    Padded<fw_request> r;
    r.set_size(size);
    ASSERT_EQ(fw_solver_step_ask(s(), r.get()), FW_OK) << fw_last_error();
    EXPECT_EQ(r.first_written_after(sizeof(fw_request)), -1)
        << "fw_solver_step_ask wrote past sizeof";
    EXPECT_EQ(r.size(), sizeof(fw_request));
    EXPECT_EQ(r.get()->done, 0);
    EXPECT_EQ(r.get()->n, 1u);
  }
  // v1 (0.2.0, through grads): the term (v2) is not written.
  const uint32_t v1 = shipped_sizes<fw_request>()[0];
  ASSERT_LT(v1, sizeof(fw_request));
  Padded<fw_request> r;
  r.set_size(v1);
  ASSERT_EQ(fw_solver_step_ask(s(), r.get()), FW_OK) << fw_last_error();
  EXPECT_EQ(r.first_written_after(v1), -1) << "fw_solver_step_ask wrote past a v1 request";
  EXPECT_EQ(r.size(), v1);
  ASSERT_EQ(fw_solver_step_cancel(s()), FW_OK);
}

TEST_F(OutputStructs, RequestSizeZeroOrBelowV1IsRejected) {
  ASSERT_EQ(fw_solver_step_begin(s()), FW_OK) << fw_last_error();
  for (const uint32_t size : {0u, 3u, shipped_sizes<fw_request>()[0] - 1}) {
    Padded<fw_request> r;
    r.set_size(size);
    EXPECT_EQ(fw_solver_step_ask(s(), r.get()), FW_ERR_INVALID_ARGUMENT) << size;
    EXPECT_TRUE(contains(fw_last_error(), "fw_request")) << fw_last_error();
    EXPECT_EQ(r.first_written_after(sizeof(uint32_t)), -1) << "the rejected request was written";
  }
  // The step is still usable.
  fw_request r = {};
  r.struct_size = sizeof r;
  ASSERT_EQ(fw_solver_step_ask(s(), &r), FW_OK) << fw_last_error();
  EXPECT_EQ(r.done, 0);
  ASSERT_EQ(fw_solver_step_cancel(s()), FW_OK);
}

// ---- enums validated as integers ----

TEST(EnumValidation, ParamsEnumsOutOfRangeAreRejected) {
  struct Case {
    const char *field;
    void (*edit)(fw_params *, int32_t);
    std::vector<int32_t> values;
  };
  const Case cases[] = {
      {"lmo", [](fw_params *p, int32_t v) { set_raw(&p->lmo, v); }, {7, -5, 2}},
      {"granularity", [](fw_params *p, int32_t v) { set_raw(&p->granularity, v); }, {2, -1}},
      {"score", [](fw_params *p, int32_t v) { set_raw(&p->score, v); }, {2, 1000}},
      {"step_rule", [](fw_params *p, int32_t v) { set_raw(&p->step_rule, v); }, {3, -1}},
      {"soft_solver", [](fw_params *p, int32_t v) { set_raw(&p->soft_solver, v); }, {4, -7}},
      {"device", [](fw_params *p, int32_t v) { set_raw(&p->device, v); }, {2, -1}},
      {"work_dtype", [](fw_params *p, int32_t v) { set_raw(&p->work_dtype, v); }, {3, -2}},
      {"topk_rule", [](fw_params *p, int32_t v) { set_raw(&p->topk_rule, v); }, {2, -1}},
  };
  capi::SolverPtr solver = capi::new_solver();
  for (const Case &c : cases) {
    for (const int32_t v : c.values) {
      SCOPED_TRACE(std::string(c.field) + " = " + std::to_string(v));
      fw_params p = fw_default_params();
      c.edit(&p, v);
      fw_solver *s = nullptr;
      EXPECT_EQ(fw_solver_new(&p, &s), FW_ERR_INVALID_ARGUMENT);
      EXPECT_EQ(s, nullptr);
      EXPECT_TRUE(contains(fw_last_error(), c.field)) << fw_last_error();
      EXPECT_EQ(fw_solver_set_params(solver.get(), &p), FW_ERR_INVALID_ARGUMENT);
    }
  }
}

TEST(EnumValidation, DTypeAndMethodOutOfRangeAreRejected) {
  const capi::PoolFiles pool = capi::write_unit_pool("versions_enums");
  const std::string out = pool.dir + "/out.safetensors";
  const char *members[] = {pool.members[0].c_str(), pool.members[1].c_str()};
  capi::SolverPtr solver = capi::new_solver();
  capi::load_pool(solver.get(), pool);

  for (const int32_t dtype : {99, -2, 3}) {
    SCOPED_TRACE(dtype);
    fw_export_options o = fw_default_export_options();
    set_raw(&o.dtype, dtype);
    EXPECT_EQ(fw_solver_export(solver.get(), out.c_str(), &o), FW_ERR_INVALID_ARGUMENT);
    EXPECT_TRUE(contains(fw_last_error(), "dtype")) << fw_last_error();
    const fw_merge_params mp = fw_default_merge_params(FW_MERGE_METHOD_LINEAR);
    EXPECT_EQ(fw_merge(&mp, pool.base.c_str(), members, 2, out.c_str(), &o),
              FW_ERR_INVALID_ARGUMENT);
  }

  for (const int32_t method : {42, -1, 99}) {
    SCOPED_TRACE(method);
    fw_merge_params mp = fw_default_merge_params(FW_MERGE_METHOD_LINEAR);
    set_raw(&mp.method, method);
    EXPECT_EQ(fw_merge(&mp, pool.base.c_str(), members, 2, out.c_str(), nullptr),
              FW_ERR_INVALID_ARGUMENT);
    EXPECT_TRUE(contains(fw_last_error(), "method")) << fw_last_error();
    EXPECT_EQ(fw_solver_set_merge_function(solver.get(), &mp), FW_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(fw_solver_set_start_merge(solver.get(), &mp), FW_ERR_INVALID_ARGUMENT);
  }
  EXPECT_EQ(capi::list_dir(pool.dir).size(), 4u) << "a rejected call wrote a file";

  // An unknown method passed by value: the LINEAR defaults with that method set.
  const fw_merge_params p = fw_default_merge_params(forge<fw_merge_method>(42));
  EXPECT_EQ(p.struct_size, sizeof(fw_merge_params));
  EXPECT_EQ(get_raw(&p.method), 42);
  EXPECT_EQ(p.normalize, 1);
  EXPECT_EQ(p.scaling, 1.0);
}

TEST(EnumValidation, SaveTensorsDTypesOutOfRangeAreRejected) {
  const std::string dir = fwtest::temp_dir("versions_save");
  const std::string path = dir + "/t.safetensors";
  float data[2] = {1, 2};
  const int64_t shape[1] = {2};
  fw_tensor t = {"x", FW_DTYPE_F32, 1, shape, 2, data, FW_DEVICE_TYPE_CPU, 0, {}};
  EXPECT_EQ(fw_save_tensors(path.c_str(), &t, 1, forge<fw_dtype>(99), nullptr, 0),
            FW_ERR_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(fw_last_error(), "dtype")) << fw_last_error();
  set_raw(&t.dtype, 99);
  EXPECT_EQ(fw_save_tensors(path.c_str(), &t, 1, FW_DTYPE_F16, nullptr, 0),
            FW_ERR_INVALID_ARGUMENT);
  EXPECT_TRUE(capi::list_dir(dir).empty());
  t.dtype = FW_DTYPE_F32;
  EXPECT_EQ(fw_save_tensors(path.c_str(), &t, 1, FW_DTYPE_F16, nullptr, 0), FW_OK)
      << fw_last_error();
}

TEST(EnumValidation, StatusNameOfAnUnknownValueIsStable) {
  const char *name = fw_status_name(forge<fw_status>(12345));
  ASSERT_NE(name, nullptr);
  EXPECT_STREQ(name, "FW_ERR_UNKNOWN");
  EXPECT_STREQ(fw_status_name(forge<fw_status>(12345)), name);
  EXPECT_STREQ(fw_status_name(forge<fw_status>(-99)), "FW_ERR_UNKNOWN");
  EXPECT_STREQ(fw_status_name(forge<fw_status>(1)), "FW_ERR_UNKNOWN");
  EXPECT_STREQ(fw_status_name(FW_ERR_INTERNAL), "FW_ERR_INTERNAL");
}

TEST_F(OutputStructs, StepTellWithAnUnknownStatusIsRejectedAndTheStepStaysPending) {
  ASSERT_EQ(fw_solver_step_begin(s()), FW_OK) << fw_last_error();
  fw_request r = {};
  r.struct_size = sizeof r;
  ASSERT_EQ(fw_solver_step_ask(s(), &r), FW_OK) << fw_last_error();
  ASSERT_EQ(r.done, 0);
  EXPECT_EQ(fw_solver_step_tell(s(), forge<fw_status>(12345), 0.0), FW_ERR_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(fw_last_error(), "12345")) << fw_last_error();
  EXPECT_EQ(fw_solver_step_tell(s(), forge<fw_status>(1), 0.0), FW_ERR_INVALID_ARGUMENT);
  // Still waiting for the same evaluation: answer it properly and finish.
  while (!r.done) {
    double loss = 0;
    ASSERT_EQ(q_.evaluate(r.params, r.n, r.grads, &loss), FW_OK);
    ASSERT_EQ(fw_solver_step_tell(s(), FW_OK, loss), FW_OK) << fw_last_error();
    ASSERT_EQ(fw_solver_step_ask(s(), &r), FW_OK) << fw_last_error();
  }
  fw_step_info info = capi::blank_info();
  EXPECT_EQ(fw_solver_step_finish(s(), &info), FW_OK) << fw_last_error();
}

// A host callback returning a value outside fw_status fails the step as a callback error.
fw_status returns_unknown_status(const fw_tensor *, size_t, fw_tensor *, double *, void *) {
  return forge<fw_status>(777);
}

TEST_F(OutputStructs, CallbackReturningAnUnknownStatusFailsTheStep) {
  ASSERT_EQ(fw_solver_set_objective_callback(s(), returns_unknown_status, nullptr), FW_OK);
  EXPECT_EQ(fw_solver_step(s(), nullptr), FW_ERR_CALLBACK);
  EXPECT_TRUE(contains(fw_last_error(), "777")) << fw_last_error();
  EXPECT_EQ(fw_solver_history_size(s()), 0);
}

// ---- version ----

TEST(Version, NumberMatchesTheHeader) {
  static_assert(FW_VERSION_NUMBER == 500, "0.5.0");
  EXPECT_EQ(fw_version_number(), static_cast<unsigned>(FW_VERSION_NUMBER));
  EXPECT_EQ(fw_version_number(), 500u);
  EXPECT_STREQ(fw_version(), "0.5.0");
}

// ---- the helper on a synthetic two-version struct ----

// v1 = {struct_size, a, b}; v2 appends c and d.
struct synth {
  uint32_t struct_size;
  int32_t a;
  double b;
  int64_t c;  // v2
  int32_t d;  // v2
};

constexpr uint32_t kSynthV1 = FW_SIZE_THROUGH(synth, b);
static_assert(kSynthV1 == 16, "v1 ends after b");
static_assert(sizeof(synth) == 32, "v2 is the current layout");

synth synth_defaults() {
  synth s;
  std::memset(&s, 0, sizeof s);
  s.struct_size = sizeof s;
  s.a = 1;
  s.b = 2.5;
  s.c = 30;
  s.d = 40;
  return s;
}

}  // namespace

template <>
struct fw::capi::StructVersions<synth> {
  static constexpr const char *name = "synth";
  static constexpr const char *how_to_init = "synth_defaults()";
  static constexpr uint32_t sizes[] = {FW_SIZE_THROUGH(synth, b), FW_SIZE_THROUGH(synth, d)};
};

namespace {

// Runs `body`, returning the fw::Error's status and message (FW_OK, "" when nothing is thrown).
template <typename Body>
std::pair<fw_status, std::string> outcome(Body body) {
  try {
    body();
    return {FW_OK, ""};
  } catch (const fw::Error &e) {
    return {fw::capi::to_public(e.code()), e.what()};
  }
}

TEST(VersionedHelper, AV1InputGetsTheV2DefaultsForTheMissingFields) {
  Padded<synth> caller;  // the tail past v1 is garbage (canary bytes)
  synth v1 = synth_defaults();
  v1.a = -7;
  v1.b = 0.125;
  std::memcpy(caller.bytes, &v1, kSynthV1);
  caller.set_size(kSynthV1);
  const synth got = fw::capi::read_input(caller.get(), synth_defaults());
  EXPECT_EQ(got.struct_size, sizeof(synth));
  EXPECT_EQ(got.a, -7);
  EXPECT_EQ(got.b, 0.125);
  EXPECT_EQ(got.c, 30);
  EXPECT_EQ(got.d, 40);
}

TEST(VersionedHelper, AV2InputIsCopiedWhole) {
  synth v2 = synth_defaults();
  v2.a = 5;
  v2.b = -1.0;
  v2.c = -123456789012345;
  v2.d = 9;
  const synth got = fw::capi::read_input(&v2, synth_defaults());
  EXPECT_EQ(got.struct_size, sizeof(synth));
  EXPECT_EQ(got.a, 5);
  EXPECT_EQ(got.b, -1.0);
  EXPECT_EQ(got.c, -123456789012345);
  EXPECT_EQ(got.d, 9);
}

TEST(VersionedHelper, InputSizesOtherThanTheShippedOnesAreRejected) {
  for (const uint32_t size : {0u, 3u, kSynthV1 - 1, kSynthV1 + 8, 36u, 0xFFFFFFFFu}) {
    SCOPED_TRACE(size);
    Padded<synth> caller(synth_defaults());
    caller.set_size(size);
    const auto [status, message] =
        outcome([&] { fw::capi::read_input(caller.get(), synth_defaults()); });
    EXPECT_EQ(status, FW_ERR_INVALID_ARGUMENT);
    EXPECT_TRUE(contains(message, "synth.struct_size is " + std::to_string(size))) << message;
    EXPECT_TRUE(contains(message, "16 (v1), 32 (v2)")) << message;
  }
  EXPECT_EQ(fw::capi::accepted_sizes<synth>(), "16 (v1), 32 (v2)");
}

TEST(VersionedHelper, OutputsAreWrittenUpToTheCallersSizeOnly) {
  synth full = synth_defaults();
  full.a = 11;
  full.c = 33;
  // A v1 caller: 16 bytes written, c and d untouched; a caller between versions: its size; a
  // newer caller: sizeof(synth), the rest untouched. struct_size = bytes written.
  for (const uint32_t size : {kSynthV1, 20u, 32u, 48u}) {
    SCOPED_TRACE(size);
    Padded<synth> caller;
    caller.set_size(size);
    fw::capi::write_output(caller.get(), full);
    const size_t written = std::min<size_t>(size, sizeof(synth));
    EXPECT_EQ(caller.size(), written);
    EXPECT_EQ(caller.first_written_after(written), -1) << "written past the caller's size";
    EXPECT_EQ(caller.get()->a, 11);
    if (written == sizeof(synth)) {
      EXPECT_EQ(caller.get()->c, 33);
    }
  }
  for (const uint32_t size : {0u, 3u, kSynthV1 - 1}) {
    Padded<synth> caller;
    caller.set_size(size);
    const auto [status, message] = outcome([&] { fw::capi::write_output(caller.get(), full); });
    EXPECT_EQ(status, FW_ERR_INVALID_ARGUMENT) << size;
    EXPECT_TRUE(contains(message, "synth.struct_size is " + std::to_string(size))) << message;
    EXPECT_EQ(caller.first_written_after(sizeof(uint32_t)), -1);
  }
}

TEST(VersionedHelper, CheckedEnumReadsTheIntegerFirst) {
  fw_lmo lmo;
  set_raw(&lmo, 1);
  EXPECT_EQ(fw::capi::checked_enum(&lmo, "x.lmo"), FW_LMO_SOFT);
  set_raw(&lmo, 7);
  EXPECT_EQ(fw::capi::raw_enum(&lmo), 7);
  const auto [status, message] = outcome([&] { fw::capi::checked_enum(&lmo, "x.lmo"); });
  EXPECT_EQ(status, FW_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(message, "x.lmo is 7: not a valid fw_lmo (0..1)");
  fw_dtype dtype;
  set_raw(&dtype, -1);
  EXPECT_EQ(fw::capi::checked_enum(&dtype, "dtype"), FW_DTYPE_DEFAULT);
  EXPECT_TRUE(fw::capi::enum_in_range<fw_status>(-13));
  EXPECT_FALSE(fw::capi::enum_in_range<fw_status>(-14));
  EXPECT_FALSE(fw::capi::enum_in_range<fw_status>(1));
}

}  // namespace
