// fw_params.work_dtype and device (0.3.0): BF16 / F16 resident copies checked against a step by
// step simulation in float (the library's fp32 arithmetic, rounded to nearest even by
// test_support's own conversions), against the F32 run within 16-bit rounding, through export,
// parameter changes and save/load; and the device checks every build can make (a CUDA request on a
// CPU-only LibTorch, ordinals, host_views).
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "capi_fixture.h"

namespace {

using capi::Quadratic;

bool contains(const std::string &text, const std::string &part) {
  return text.find(part) != std::string::npos;
}

// Whether this build and machine can run a solver on CUDA device 0.
bool cuda_available() {
  fw_params p = fw_default_params();
  p.device = FW_DEVICE_TYPE_CUDA;
  fw_solver *s = nullptr;
  const fw_status status = fw_solver_new(&p, &s);
  fw_solver_free(s);
  return status == FW_OK;
}

float round_to(fw_dtype dtype, float value) {
  if (dtype == FW_DTYPE_BF16) return fwtest::bf16_to_f32(fwtest::f32_to_bf16(value));
  if (dtype == FW_DTYPE_F16) return fwtest::f16_to_f32(fwtest::f32_to_f16(value));
  return value;
}

fw_params params_in(fw_dtype dtype, fw_step_rule rule) {
  fw_params p = fw_default_params();
  p.work_dtype = dtype;
  p.step_rule = rule;
  return p;
}

// The unit pool (base 0, members e1, e2, e3) with target (1, 1, 0), stepped `steps` times.
struct FwRun {
  capi::PoolFiles pool;
  capi::SolverPtr solver;
  Quadratic q;
  std::vector<int32_t> chosen;
};

void start(FwRun *run, const std::string &label, const fw_params &p) {
  run->pool = capi::write_unit_pool(label);
  run->solver = capi::new_solver(&p);
  capi::load_pool(run->solver.get(), run->pool);
  run->q.target["w"] = {1, 1, 0};
  run->q.dtype = p.work_dtype == FW_DTYPE_DEFAULT ? FW_DTYPE_F32 : p.work_dtype;
  ASSERT_EQ(fw_solver_set_objective_callback(run->solver.get(), capi::quadratic_callback, &run->q),
            FW_OK);
}

void step(FwRun *run, int steps) {
  for (int i = 0; i < steps; ++i) {
    fw_step_info info = capi::blank_info();
    ASSERT_EQ(fw_solver_step(run->solver.get(), &info), FW_OK) << fw_last_error();
    for (int j = 0; j < info.n_blocks * info.k; ++j) run->chosen.push_back(info.chosen[j]);
  }
}

class WorkDtype : public ::testing::TestWithParam<fw_dtype> {};

// Hard FW with the schedule, simulated: gamma_t = 2 / (t + 2); theta_{t+1} = round(theta_t +
// float(gamma_t) * (s_t - theta_t)) with s_t = e1, e2, e1 (the argmin of <theta_t - target, e_i>
// for target (1, 1, 0)). The views, the gradient the host writes and theta are all in the dtype.
TEST_P(WorkDtype, ScheduleMatchesTheRoundedSimulationExactly) {
  const fw_dtype dtype = GetParam();
  FwRun run;
  start(&run, "precision_schedule", params_in(dtype, FW_STEP_RULE_SCHEDULE));
  step(&run, 3);
  std::vector<float> theta = {0, 0, 0};
  const int vertex[3] = {0, 1, 0};
  for (int t = 0; t < 3; ++t) {
    const float gamma = static_cast<float>(std::min(1.0, 2.0 / (t + 2.0)));
    for (int e = 0; e < 3; ++e) {
      const float s = e == vertex[t] ? 1.0f : 0.0f;
      theta[e] = round_to(dtype, theta[e] + (s - theta[e]) * gamma);
    }
  }
  EXPECT_EQ(run.chosen, (std::vector<int32_t>{0, 1, 0}));
  EXPECT_EQ(capi::current_values(run.solver.get()), theta);
  const fw_tensor *views = nullptr;
  size_t n = 0;
  ASSERT_EQ(fw_solver_current(run.solver.get(), &views, &n), FW_OK);
  EXPECT_EQ(views[0].dtype, dtype);
  EXPECT_EQ(views[0].device, FW_DEVICE_TYPE_CPU);
  EXPECT_EQ(views[0].device_index, 0);
  for (uint64_t word : views[0].reserved) EXPECT_EQ(word, 0u);
  if (dtype != FW_DTYPE_F32) {
    EXPECT_NE(theta[0], 2.0f / 3.0f) << "the simulation should differ from fp32 here";
  }
}

// Line search and soft FW against the F32 run: the same vertices, values within the dtype's
// rounding (2^-8 relative for BF16's 8-bit significand, 2^-11 for F16) times a few steps.
TEST_P(WorkDtype, LineSearchAndSoftFollowTheF32Run) {
  const fw_dtype dtype = GetParam();
  const double tol = dtype == FW_DTYPE_BF16 ? 4 * std::ldexp(1.0, -8) : 4 * std::ldexp(1.0, -11);
  for (const fw_lmo lmo : {FW_LMO_HARD, FW_LMO_SOFT}) {
    SCOPED_TRACE(lmo == FW_LMO_HARD ? "hard" : "soft");
    fw_params p32 = params_in(FW_DTYPE_F32, FW_STEP_RULE_LINE_SEARCH);
    p32.lmo = lmo;
    fw_params p16 = p32;
    p16.work_dtype = dtype;
    FwRun a, b;
    start(&a, "precision_f32", p32);
    start(&b, "precision_16", p16);
    // A target inside the hull that no vertex hits.
    a.q.target["w"] = b.q.target["w"] = {0.3, 0.45, 0.1};
    step(&a, 4);
    step(&b, 4);
    EXPECT_EQ(a.chosen, b.chosen);
    const std::vector<float> x = capi::current_values(a.solver.get());
    const std::vector<float> y = capi::current_values(b.solver.get());
    ASSERT_EQ(x.size(), y.size());
    for (size_t e = 0; e < x.size(); ++e) EXPECT_NEAR(y[e], x[e], tol) << "element " << e;
  }
}

// Export widens the working copy exactly (default dtype = the base's, F32 here); a 16-bit export
// of a 16-bit working copy is its own bytes.
TEST_P(WorkDtype, ExportWritesTheWorkingValues) {
  const fw_dtype dtype = GetParam();
  FwRun run;
  start(&run, "precision_export", params_in(dtype, FW_STEP_RULE_SCHEDULE));
  step(&run, 3);
  const std::vector<float> theta = capi::current_values(run.solver.get());
  const std::string f32 = run.pool.dir + "/f32.safetensors",
                    own = run.pool.dir + "/own.safetensors";
  ASSERT_EQ(fw_solver_export(run.solver.get(), f32.c_str(), nullptr), FW_OK) << fw_last_error();
  EXPECT_EQ(capi::decode(capi::parse_safetensors(f32).tensor_bytes("w"), "F32"), theta);
  fw_export_options o = fw_default_export_options();
  o.dtype = dtype;
  ASSERT_EQ(fw_solver_export(run.solver.get(), own.c_str(), &o), FW_OK) << fw_last_error();
  const std::string name = dtype == FW_DTYPE_BF16 ? "BF16" : "F16";
  const capi::ParsedFile parsed = capi::parse_safetensors(own);
  EXPECT_EQ(parsed.header["w"]["dtype"], name);
  EXPECT_EQ(capi::decode(parsed.tensor_bytes("w"), name), theta);
}

// A run saved after one step (theta stored as fp32, which holds 16-bit values exactly) and
// continued in a fresh solver ends bit for bit where the uninterrupted run does.
TEST_P(WorkDtype, SaveAndLoadResumeExactly) {
  const fw_dtype dtype = GetParam();
  const fw_params p = params_in(dtype, FW_STEP_RULE_LINE_SEARCH);
  FwRun whole, first, second;
  start(&whole, "precision_whole", p);
  step(&whole, 3);
  start(&first, "precision_first", p);
  step(&first, 1);
  const std::string state = first.pool.dir + "/state.safetensors";
  ASSERT_EQ(fw_solver_state_save(first.solver.get(), state.c_str()), FW_OK) << fw_last_error();
  second.pool = first.pool;
  second.solver = capi::new_solver(&p);
  capi::load_pool(second.solver.get(), second.pool);
  second.q.target["w"] = {1, 1, 0};
  second.q.dtype = dtype;
  ASSERT_EQ(
      fw_solver_set_objective_callback(second.solver.get(), capi::quadratic_callback, &second.q),
      FW_OK);
  ASSERT_EQ(fw_solver_state_load(second.solver.get(), state.c_str()), FW_OK) << fw_last_error();
  step(&second, 2);
  EXPECT_EQ(capi::diff(capi::snapshot(whole.solver.get()), capi::snapshot(second.solver.get())),
            "");
}

INSTANTIATE_TEST_SUITE_P(Precision, WorkDtype, ::testing::Values(FW_DTYPE_BF16, FW_DTYPE_F16),
                         [](const ::testing::TestParamInfo<fw_dtype> &info) {
                           return std::string(info.param == FW_DTYPE_BF16 ? "BF16" : "F16");
                         });

// Changing work_dtype between steps converts theta_t (rounded to nearest even); FW_DTYPE_DEFAULT
// means F32.
TEST(Precision, SetParamsConvertsTheIterate) {
  FwRun run;
  start(&run, "precision_switch", params_in(FW_DTYPE_DEFAULT, FW_STEP_RULE_LINE_SEARCH));
  run.q.target["w"] = {0.3, 0.45, 0.1};
  step(&run, 2);
  const std::vector<float> before = capi::current_values(run.solver.get());
  fw_params p = params_in(FW_DTYPE_BF16, FW_STEP_RULE_LINE_SEARCH);
  ASSERT_EQ(fw_solver_set_params(run.solver.get(), &p), FW_OK) << fw_last_error();
  std::vector<float> rounded;
  for (float v : before) rounded.push_back(round_to(FW_DTYPE_BF16, v));
  EXPECT_EQ(capi::current_values(run.solver.get()), rounded);
  EXPECT_NE(rounded, before);
  run.q.dtype = FW_DTYPE_BF16;
  step(&run, 1);  // and it keeps stepping in BF16
}

// ---- devices ----

TEST(Device, BadRequestsFailClearly) {
  fw_params p = fw_default_params();
  fw_solver *s = nullptr;
  p.device_index = 1;  // only 0 on the CPU
  EXPECT_EQ(fw_solver_new(&p, &s), FW_ERR_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(fw_last_error(), "device_index")) << fw_last_error();
  p = fw_default_params();
  p.device = FW_DEVICE_TYPE_CUDA;
  p.device_index = -1;
  EXPECT_EQ(fw_solver_new(&p, &s), FW_ERR_INVALID_ARGUMENT);
  p = fw_default_params();
  p.host_views = 2;
  EXPECT_EQ(fw_solver_new(&p, &s), FW_ERR_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(fw_last_error(), "host_views")) << fw_last_error();
  EXPECT_EQ(s, nullptr);

  // CUDA: FW_ERR_UNSUPPORTED on a LibTorch without CUDA or a machine without a GPU; where a GPU
  // exists, an ordinal past the last device is FW_ERR_INVALID_ARGUMENT.
  p = fw_default_params();
  p.device = FW_DEVICE_TYPE_CUDA;
  const fw_status status = fw_solver_new(&p, &s);
  fw_solver_free(s);
  s = nullptr;
  if (status == FW_ERR_UNSUPPORTED) {
    EXPECT_TRUE(contains(fw_last_error(), "CUDA")) << fw_last_error();
  } else {
    ASSERT_EQ(status, FW_OK) << fw_last_error();
  }
  p.device_index = 4096;
  EXPECT_EQ(fw_solver_new(&p, &s), status == FW_OK ? FW_ERR_INVALID_ARGUMENT : status);
  EXPECT_EQ(s, nullptr);

  // The same checks on fw_solver_set_params leave the solver as it was.
  FwRun run;
  start(&run, "device_set_params", fw_default_params());
  step(&run, 1);
  const std::vector<float> before = capi::current_values(run.solver.get());
  EXPECT_NE(fw_solver_set_params(run.solver.get(), &p), FW_OK);
  EXPECT_EQ(capi::current_values(run.solver.get()), before);
  step(&run, 1);
}

// Views the host hands to fw_save_tensors: any of the three dtypes (DEFAULT keeps each tensor's),
// reserved words zero, devices checked like fw_params.device.
TEST(Device, SaveTensorsTakesSixteenBitViews) {
  const std::string dir = fwtest::temp_dir("precision_save");
  const std::vector<float> values = {0.5f, -1.25f, 3.0f};
  std::vector<uint16_t> bits;
  for (float v : values) bits.push_back(fwtest::f32_to_bf16(v));
  const int64_t shape[1] = {3};
  fw_tensor t = {"x", FW_DTYPE_BF16, 1, shape, 3, bits.data(), FW_DEVICE_TYPE_CPU, 0, {0, 0, 0, 0}};
  const std::string own = dir + "/own.safetensors", wide = dir + "/wide.safetensors";
  ASSERT_EQ(fw_save_tensors(own.c_str(), &t, 1, FW_DTYPE_DEFAULT, nullptr, 0), FW_OK)
      << fw_last_error();
  const capi::ParsedFile parsed = capi::parse_safetensors(own);
  EXPECT_EQ(parsed.header["x"]["dtype"], "BF16");
  EXPECT_EQ(capi::decode(parsed.tensor_bytes("x"), "BF16"), values);
  ASSERT_EQ(fw_save_tensors(wide.c_str(), &t, 1, FW_DTYPE_F32, nullptr, 0), FW_OK);
  EXPECT_EQ(capi::decode(capi::parse_safetensors(wide).tensor_bytes("x"), "F32"), values);

  const std::string bad = dir + "/bad.safetensors";
  t.reserved[2] = 1;
  EXPECT_EQ(fw_save_tensors(bad.c_str(), &t, 1, FW_DTYPE_DEFAULT, nullptr, 0),
            FW_ERR_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(fw_last_error(), "reserved")) << fw_last_error();
  t.reserved[2] = 0;
  t.device_index = 3;  // on the CPU
  EXPECT_EQ(fw_save_tensors(bad.c_str(), &t, 1, FW_DTYPE_DEFAULT, nullptr, 0),
            FW_ERR_INVALID_ARGUMENT);
  t.device_index = 0;
  if (!cuda_available()) {  // (on a GPU the host pointer would be read as device memory)
    t.device = FW_DEVICE_TYPE_CUDA;
    EXPECT_EQ(fw_save_tensors(bad.c_str(), &t, 1, FW_DTYPE_DEFAULT, nullptr, 0),
              FW_ERR_UNSUPPORTED);
  }
  EXPECT_EQ(capi::list_dir(dir), (std::vector<std::string>{"own.safetensors", "wide.safetensors"}));
}

}  // namespace
