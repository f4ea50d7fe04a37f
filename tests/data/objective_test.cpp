// The built-in TorchScript objective (lib/objective, fw_solver_set_objective_torchscript): losses
// and gradients against closed forms, and its errors. The module is built and saved here with
// torch::jit::Module::define, so no Python is needed.
#include <gtest/gtest.h>
#include <torch/script.h>

#include <cmath>
#include <string>
#include <vector>

#include "capi/status_map.h"
#include "fwmerge.h"
#include "io/checkpoint.h"
#include "io/safetensors_writer.h"
#include "linear_net_module.h"
#include "objective/torchscript_objective.h"
#include "test_support.h"
#include "util/error.h"

namespace {

std::string save_module(const std::string &dir) {
  const std::string path = dir + "/net.pt";
  fwtest::save_linear_net(path);
  return path;
}

// inputs x = [[1, 2], [3, -1]], labels y = [0, 1], plus 3 labels for a mismatch case.
std::string save_calibration(const std::string &dir) {
  static const float x[4] = {1, 2, 3, -1};
  static const int64_t y[2] = {0, 1};
  static const int64_t y3[3] = {0, 1, 1};
  const std::string path = dir + "/calib.safetensors";
  fw::write_safetensors(path,
                        {{"x", fw::DType::F32, {2, 2}, x, sizeof x},
                         {"y", fw::DType::I64, {2}, y, sizeof y},
                         {"y3", fw::DType::I64, {3}, y3, sizeof y3}},
                        {});
  return path;
}

std::string save_model(const std::string &path, std::vector<float> w, std::vector<float> b) {
  fwtest::write_safetensors(path, {{"fc.weight", {2, 2}, w}, {"fc.bias", {2}, b}});
  return path;
}

// At W = 0, b = 0: p = (1/2, 1/2), loss = ln 2; dL/dW = (p - onehot(y))^T x / N
// = [[0.5, -0.75], [-0.5, 0.75]], dL/db = mean(p - onehot) = 0.
const float kGradW[4] = {0.5f, -0.75f, -0.5f, 0.75f};

struct Fixture {
  std::string dir, module, calib, base;
  std::unique_ptr<fw::Checkpoint> base_ckpt;
  explicit Fixture(const std::string &label) {
    dir = fwtest::temp_dir(label);
    module = save_module(dir);
    calib = save_calibration(dir);
    base = save_model(dir + "/base.safetensors", {0, 0, 0, 0}, {0, 0});
    base_ckpt = fw::open_checkpoint(base, nullptr);
  }
  std::vector<at::Tensor> zeros_point() const { return {at::zeros({2, 2}), at::zeros({2})}; }
};

TEST(TorchScriptObjective, CrossEntropyLossAndGradientMatchTheClosedForm) {
  Fixture f("ts_ce");
  fw::TorchScriptObjectiveSpec spec{f.module, f.calib, {}, {{"forward", "x", "y", 1.0}}};
  fw::TorchScriptObjective objective(spec, f.base_ckpt->tensors());
  std::vector<at::Tensor> grad = f.zeros_point();
  const double loss = objective.evaluate(f.zeros_point(), &grad);
  EXPECT_NEAR(loss, std::log(2.0), 1e-6);
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(grad[0].view(-1)[i].item<float>(), kGradW[i], 1e-6);
  EXPECT_NEAR(grad[1].abs().sum().item<float>(), 0.0, 1e-7);
  // loss-only evaluation gives the same value
  EXPECT_NEAR(objective.evaluate(f.zeros_point(), nullptr), std::log(2.0), 1e-6);
}

TEST(TorchScriptObjective, WeightedTermsAndEntropy) {
  Fixture f("ts_terms");
  // (1 * CE(z) + 3 * CE(2z)) / 4: at z = 0 both are ln 2, gradients dW and 2 dW -> 7/4 dW.
  fw::TorchScriptObjectiveSpec spec{
      f.module, f.calib, {}, {{"forward", "x", "y", 1.0}, {"doubled", "x", "y", 3.0}}};
  fw::TorchScriptObjective objective(spec, f.base_ckpt->tensors());
  std::vector<at::Tensor> grad = f.zeros_point();
  EXPECT_NEAR(objective.evaluate(f.zeros_point(), &grad), std::log(2.0), 1e-6);
  for (int i = 0; i < 4; ++i)
    EXPECT_NEAR(grad[0].view(-1)[i].item<float>(), 1.75f * kGradW[i], 1e-6);

  // entropy of uniform predictions is ln 2 and stationary; with bias (1, 0) and W = 0 every sample
  // has p = softmax(1, 0) and entropy H = -sum p log p
  fw::TorchScriptObjectiveSpec ent{f.module, f.calib, {}, {{"forward", "x", "", 1.0}}};
  fw::TorchScriptObjective entropy(ent, f.base_ckpt->tensors());
  std::vector<at::Tensor> g2 = f.zeros_point();
  EXPECT_NEAR(entropy.evaluate(f.zeros_point(), &g2), std::log(2.0), 1e-6);
  EXPECT_NEAR(g2[0].abs().sum().item<float>(), 0.0, 1e-7);
  const double p = 1.0 / (1.0 + std::exp(-1.0));
  const double h = -(p * std::log(p) + (1 - p) * std::log(1 - p));
  EXPECT_NEAR(entropy.evaluate({at::zeros({2, 2}), at::tensor({1.0f, 0.0f})}, nullptr), h, 1e-6);
}

// Per-term evaluation (FW_TOPK_RULE_PER_TERM): term i alone is w_i term_i / sum w, so the terms add
// up to the whole objective: (1/4) ln 2 with gradient dW / 4, and (3/4) ln 2 with 2 (3/4) dW.
TEST(TorchScriptObjective, TermsAloneAddUpToTheWholeObjective) {
  Fixture f("ts_each_term");
  fw::TorchScriptObjectiveSpec spec{
      f.module, f.calib, {}, {{"forward", "x", "y", 1.0}, {"doubled", "x", "y", 3.0}}};
  fw::TorchScriptObjective objective(spec, f.base_ckpt->tensors());
  ASSERT_EQ(objective.n_terms(), 2);
  const double scale[2] = {0.25, 1.5};  // w_i / sum w x (d term_i / dz = 1 or 2)
  const double share[2] = {0.25, 0.75};
  for (int term = 0; term < 2; ++term) {
    std::vector<at::Tensor> grad = f.zeros_point();
    EXPECT_NEAR(objective.evaluate_term(term, f.zeros_point(), &grad), share[term] * std::log(2.0),
                1e-6);
    for (int i = 0; i < 4; ++i)
      EXPECT_NEAR(grad[0].view(-1)[i].item<float>(), scale[term] * kGradW[i], 1e-6) << term;
  }
  EXPECT_THROW(objective.evaluate_term(2, f.zeros_point(), nullptr), fw::Error);
}

TEST(TorchScriptObjective, ExplicitParameterMapAndBadSpecs) {
  Fixture f("ts_bad");
  const auto status_of = [&](fw::TorchScriptObjectiveSpec spec) {
    try {
      fw::TorchScriptObjective o(spec, f.base_ckpt->tensors());
    } catch (const fw::Error &e) {
      return fw::capi::to_public(e.code());
    }
    return FW_OK;
  };
  const std::vector<fw::ObjectiveTerm> ce = {{"forward", "x", "y", 1.0}};
  EXPECT_EQ(status_of({f.module, f.calib, {{"fc.weight", "fc.weight"}}, ce}), FW_OK);
  EXPECT_EQ(status_of({f.module, f.calib, {{"fc.weight", "fc.bias"}}, ce}), FW_ERR_SHAPE_MISMATCH);
  EXPECT_EQ(status_of({f.module, f.calib, {{"fc.nothing", "fc.bias"}}, ce}),
            FW_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(status_of({f.module, f.calib, {{"fc.bias", "head.bias"}}, ce}), FW_ERR_NAME_MISMATCH);
  EXPECT_EQ(status_of({f.module, f.calib, {}, {{"nope", "x", "y", 1.0}}}), FW_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(status_of({f.module, f.calib, {}, {{"forward", "z", "y", 1.0}}}),
            FW_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(status_of({f.module, f.calib, {}, {{"forward", "x", "y3", 1.0}}}),
            FW_ERR_SHAPE_MISMATCH);
  EXPECT_EQ(status_of({f.module, f.calib, {}, {{"forward", "y", "", 1.0}}}), FW_ERR_UNSUPPORTED);
  EXPECT_EQ(status_of({f.module, f.calib, {}, {{"forward", "x", "y", -1.0}}}),
            FW_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(status_of({f.module, f.calib, {}, {}}), FW_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(status_of({f.dir + "/missing.pt", f.calib, {}, ce}), FW_ERR_IO);
  fwtest::write_bytes(f.dir + "/garbage.pt", {1, 2, 3, 4, 5, 6, 7, 8});
  EXPECT_EQ(status_of({f.dir + "/garbage.pt", f.calib, {}, ce}), FW_ERR_FORMAT);
}

// fw_params.work_dtype BF16: the point and gradient arrive in bf16; the module still computes in
// fp32 (a converted copy), and the gradient lands rounded in the bf16 buffers (0.5 and 0.75 are
// exact there).
TEST(TorchScriptObjective, EvaluatesABf16PointInFp32) {
  Fixture f("ts_bf16");
  fw::TorchScriptObjectiveSpec spec{f.module, f.calib, {}, {{"forward", "x", "y", 1.0}}};
  fw::TorchScriptObjective objective(spec, f.base_ckpt->tensors());
  std::vector<at::Tensor> point, grad;
  for (const at::Tensor &t : f.zeros_point()) {
    point.push_back(t.to(at::kBFloat16));
    grad.push_back(t.to(at::kBFloat16));
  }
  EXPECT_NEAR(objective.evaluate(point, &grad), std::log(2.0), 1e-6);
  ASSERT_EQ(grad[0].scalar_type(), at::kBFloat16);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(grad[0].view(-1)[i].item<float>(), kGradW[i]);
  EXPECT_EQ(grad[1].abs().sum().item<float>(), 0.0f);
}

TEST(TorchScriptObjective, DrivesAHardFrankWolfeStepThroughTheCApi) {
  Fixture f("ts_capi");
  // member 0 lies along -dL/dW (descent), member 1 along +dL/dW: the LMO must pick member 0
  const std::string good =
      save_model(f.dir + "/good.safetensors", {-0.5f, 0.75f, 0.5f, -0.75f}, {0, 0});
  const std::string bad =
      save_model(f.dir + "/bad.safetensors", {0.5f, -0.75f, -0.5f, 0.75f}, {0, 0});
  fw_params params = fw_default_params();
  params.threads = 1;
  fw_solver *solver = nullptr;
  ASSERT_EQ(fw_solver_new(&params, &solver), FW_OK);
  fw_objective_term term = {nullptr, "x", "y", 1.0};
  fw_torchscript_objective obj = fw_default_torchscript_objective();
  obj.module_path = f.module.c_str();
  obj.calibration_path = f.calib.c_str();
  obj.terms = &term;
  obj.n_terms = 1;
  EXPECT_EQ(fw_solver_set_objective_torchscript(solver, &obj), FW_ERR_STATE);  // no base yet
  ASSERT_EQ(fw_solver_set_base(solver, f.base.c_str()), FW_OK);
  ASSERT_EQ(fw_solver_pool_add(solver, good.c_str(), nullptr), FW_OK);
  ASSERT_EQ(fw_solver_pool_add(solver, bad.c_str(), nullptr), FW_OK);
  EXPECT_EQ(fw_solver_set_objective_torchscript(solver, nullptr), FW_ERR_INVALID_ARGUMENT);
  ASSERT_EQ(fw_solver_set_objective_torchscript(solver, &obj), FW_OK) << fw_last_error();
  fw_step_info info{};
  info.struct_size = sizeof info;
  ASSERT_EQ(fw_solver_step(solver, &info), FW_OK) << fw_last_error();
  EXPECT_NEAR(info.loss, std::log(2.0), 1e-6);
  ASSERT_EQ(info.k, 1);
  EXPECT_EQ(info.chosen[0], 0);
  // gap = <-g, s - theta> = |dL/dW|^2 = 0.25 + 0.5625 + 0.25 + 0.5625
  EXPECT_NEAR(info.gap, 1.625, 1e-5);
  EXPECT_GT(info.gamma, 0.0);
  EXPECT_LT(info.loss_after, info.loss);
  fw_solver_free(solver);
}

}  // namespace
