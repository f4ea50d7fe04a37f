// Training pieces: Adam's first step in closed form, head freezing during fine-tuning, and the
// checkpoint round trip through fw_save_tensors.
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <cmath>

#include "model.h"
#include "progress.h"
#include "tensor_file.h"
#include "test_support.h"
#include "train.h"

namespace {

TEST(Adam, FirstStepMovesEachEntryByLrAgainstTheGradientSign) {
  // after one step m_hat = g and v_hat = g^2, so the update is -lr * g / (|g| + eps)
  at::Tensor p = at::tensor({1.0f, -2.0f, 3.0f});
  p.set_requires_grad(true);
  demo::Adam opt({p}, 0.1);
  const at::Tensor w = at::tensor({2.0f, -0.5f, 0.0f});
  (p * w).sum().backward();  // gradient = w
  opt.step();
  EXPECT_NEAR(p[0].item<float>(), 1.0 - 0.1, 1e-6);
  EXPECT_NEAR(p[1].item<float>(), -2.0 + 0.1, 1e-6);
  EXPECT_NEAR(p[2].item<float>(), 3.0, 1e-6);  // zero gradient: no move
}

TEST(Training, FineTuningChangesTheBackboneAndNeverTheHead) {
  demo::set_progress_enabled(false);
  const demo::NamedTensors pre = demo::init_backbone(5);
  const demo::NamedTensors head = demo::init_head(3, 6);
  const demo::NamedTensors head_before = head.clone();
  at::Generator gen = at::detail::createCPUGenerator(9);
  const demo::ImageSet data{at::rand({96, 1, 28, 28}, gen), at::randint(0, 3, {96}, gen)};
  const demo::NamedTensors ft =
      demo::finetune_backbone(pre, head, data, demo::TrainConfig{2, 32, 1e-3, 1}, "test");
  for (size_t i = 0; i < head.tensors.size(); ++i) {
    EXPECT_TRUE(at::equal(head.tensors[i], head_before.tensors[i])) << head.names[i];
    EXPECT_FALSE(head.tensors[i].requires_grad());
  }
  for (size_t i = 0; i < pre.tensors.size(); ++i)
    EXPECT_FALSE(at::equal(ft.tensors[i], pre.tensors[i])) << pre.names[i];
  EXPECT_FALSE(ft.tensors[0].requires_grad());
}

TEST(Training, HeadFitOnAFrozenBackboneLearnsASeparableTask) {
  demo::set_progress_enabled(false);
  const demo::NamedTensors bb = demo::init_backbone(5);
  const demo::NamedTensors bb_before = bb.clone();
  // class 1 = bright images, class 0 = dark ones: separable on random ReLU features
  at::Generator gen = at::detail::createCPUGenerator(3);
  const at::Tensor labels = at::randint(0, 2, {200}, gen);
  const at::Tensor images =
      at::rand({200, 1, 28, 28}, gen) * 0.3 + labels.to(at::kFloat).view({200, 1, 1, 1}) * 0.6;
  const demo::ImageSet data{images, labels};
  const demo::NamedTensors head =
      demo::fit_head(bb, data, 2, demo::TrainConfig{40, 50, 1e-2, 1}, "test");
  EXPECT_GE(demo::accuracy(bb.tensors, head.tensors, data), 0.95);
  for (size_t i = 0; i < bb.tensors.size(); ++i)
    EXPECT_TRUE(at::equal(bb.tensors[i], bb_before.tensors[i]));
}

TEST(TensorFile, RoundTripThroughTheCApiWriter) {
  const std::string dir = fwtest::temp_dir("tensor_file");
  const demo::NamedTensors bb = demo::init_backbone(11);
  demo::save_tensors(dir + "/bb.safetensors", bb, {{"task", "x"}});
  const demo::LoadedTensors back = demo::load_tensors(dir + "/bb.safetensors");
  EXPECT_EQ(back.metadata.at("task"), "x");
  const demo::NamedTensors sel = demo::select(back.tensors, demo::backbone_names());
  for (size_t i = 0; i < bb.tensors.size(); ++i)
    EXPECT_TRUE(at::equal(sel.tensors[i], bb.tensors[i])) << bb.names[i];
}

}  // namespace
