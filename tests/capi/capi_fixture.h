// Shared pieces of the C API tests: pools written independently of the library (test_support),
// a quadratic host objective with injectable faults, snapshots of everything a host can observe,
// and an independent safetensors header parser. Everything talks to the library through fwmerge.h.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "fwmerge.h"
#include "test_support.h"

namespace capi {

struct SolverDeleter {
  void operator()(fw_solver *s) const { fw_solver_free(s); }
};
using SolverPtr = std::unique_ptr<fw_solver, SolverDeleter>;

// fw_solver_new with `params` (defaults when null); fails the test on error.
SolverPtr new_solver(const fw_params *params = nullptr);

struct PoolFiles {
  std::string dir, base;
  std::vector<std::string> members;
};

// Writes base + members (each a list of tensors) into a fresh temp folder.
PoolFiles write_pool(const std::string &label, const std::vector<fwtest::TestTensor> &base,
                     const std::vector<std::vector<fwtest::TestTensor>> &members);

// fw_merge of `members` against `base`, each one tensor "w" of `shape` (default: 1-D), written
// under a fresh temp folder named after `label`; returns the merged "w" (the test fails on error).
std::vector<float> merge_one_tensor(const std::string &label, const fw_merge_params &p,
                                    const std::vector<float> &base,
                                    const std::vector<std::vector<float>> &members,
                                    std::vector<int64_t> shape = {});

// got[i] within tol of want[i] for every i, and the sizes equal.
void expect_near_all(const std::vector<float> &got, const std::vector<double> &want, double tol);

// The closed-form problem: one tensor "w" in R^3, base 0, pool {e1, e2, e3} (vertices of the hull
// {x >= 0, sum x <= 1} together with the base), all in `dtype`.
PoolFiles write_unit_pool(const std::string &label, const std::string &dtype = "F32");

// fw_solver_set_base + fw_solver_pool_add of every member; fails the test on error.
void load_pool(fw_solver *solver, const PoolFiles &pool);

// l = 1/2 sum_t ||x_t - target_t||^2 (targets by tensor name; a tensor without one has target 0),
// grad = x - target. Counts calls and can fail call number `fail_at` (1-based) in several ways.
struct Quadratic {
  enum class Fault { kStatus, kStatusNoMessage, kNanLoss, kInfLoss, kNanGrad, kInfGrad };
  std::map<std::string, std::vector<double>> target;
  int calls = 0;
  int gradient_calls = 0;
  int fail_at = 0;  // 0: never
  Fault fault = Fault::kStatus;
  std::string fault_tensor;  // tensor that gets the NaN/Inf gradient entry
  std::string message = "host objective exploded";
  fw_dtype dtype = FW_DTYPE_F32;  // the views' dtype the objective expects (fw_params.work_dtype)
  // Evaluates at `params` (fills grads when non-null); the shared body of callback and ask/tell.
  fw_status evaluate(const fw_tensor *params, size_t n, fw_tensor *grads, double *loss);
};
fw_status quadratic_callback(const fw_tensor *params, size_t n, fw_tensor *grads, double *loss,
                             void *user_data);

// One step driven by ask/tell with `q` answering every request; returns fw_solver_step_finish's
// status.
fw_status ask_tell_step(fw_solver *solver, Quadratic *q, fw_step_info *info);

// A zeroed fw_step_info with struct_size set.
fw_step_info blank_info();

// The closed-form problem ready to step: a solver over write_unit_pool(label) and the quadratic
// q_ with target (1, 1, 0). Fixtures that step through the callback call use_callback().
class UnitPoolTest : public ::testing::Test {
 protected:
  explicit UnitPoolTest(std::string label) : label_(std::move(label)) {}
  void SetUp() override {
    pool_ = write_unit_pool(label_);
    solver_ = new_solver();
    load_pool(solver_.get(), pool_);
    q_.target["w"] = {1, 1, 0};
  }
  void use_callback() {
    ASSERT_EQ(fw_solver_set_objective_callback(solver_.get(), quadratic_callback, &q_), FW_OK);
  }
  std::string label_;
  PoolFiles pool_;
  SolverPtr solver_;
  Quadratic q_;
};

// fw_step_info as plain data (arrays copied), compared bit for bit (NaN == NaN).
struct StepCopy {
  fw_step_info info;
  std::vector<int32_t> chosen;
  std::vector<double> lambdas;
};
StepCopy copy_step(const fw_step_info &info);
bool same_bits(const StepCopy &a, const StepCopy &b);

// Everything a host can observe of a solver's state: theta bytes per tensor, history (all infos).
struct Snapshot {
  std::vector<std::string> names;
  std::vector<std::vector<uint8_t>> theta;
  std::vector<StepCopy> history;
};
Snapshot snapshot(const fw_solver *solver);
// Gtest-friendly comparison: "" when equal, else what differs.
std::string diff(const Snapshot &a, const Snapshot &b);

// Element e of a host-memory view of dtype F32, BF16 or F16, as float; and a store (rounded to
// nearest even, independently of the library).
float view_get(const fw_tensor &view, int64_t e);
void view_set(const fw_tensor &view, int64_t e, float value);
// Values of tensor `index` of fw_solver_current, as float (any working dtype).
std::vector<float> current_values(const fw_solver *solver, size_t index = 0);

// An independent safetensors parse: the header JSON and the data section.
struct ParsedFile {
  nlohmann::json header;
  std::vector<uint8_t> bytes;
  uint64_t data_start = 0;  // 8 + header length
  // Raw bytes of one tensor (checked against the file size).
  std::vector<uint8_t> tensor_bytes(const std::string &name) const;
  std::map<std::string, std::string> metadata() const;
};
ParsedFile parse_safetensors(const std::string &path);

// Little-endian decoding of a tensor's bytes in its dtype ("F32", "F16", "BF16") to float.
std::vector<float> decode(const std::vector<uint8_t> &bytes, const std::string &dtype);

// File names in a folder (sorted, "." and ".." excluded).
std::vector<std::string> list_dir(const std::string &dir);

}  // namespace capi
