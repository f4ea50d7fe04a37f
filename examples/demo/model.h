// The demo's networks, written as plain functions of named tensors so that a backbone is exactly
// the set of tensors fwmerge merges. Backbone: MLP 784-1024-256 with ReLU (fc1, fc2); heads: one
// linear layer 256 -> classes per task.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <string>
#include <vector>

#include "datasets.h"

namespace demo {

struct NamedTensors {
  std::vector<std::string> names;
  std::vector<at::Tensor> tensors;
  const at::Tensor &get(const std::string &name) const;  // throws std::out_of_range
  NamedTensors clone() const;
};

constexpr int64_t kInputDim = 784, kHidden1 = 1024, kFeatureDim = 256;
// Subtracted from every pixel before fc1 (about the mean pixel of the pre-training images).
constexpr double kPixelCenter = 0.3;

// Names in forward order: fc1.weight [1024, 784], fc1.bias, fc2.weight [256, 1024], fc2.bias.
const std::vector<std::string> &backbone_names();
NamedTensors init_backbone(uint64_t seed);
// head.weight [classes, 256], head.bias [classes].
NamedTensors init_head(int64_t classes, uint64_t seed);

// bb: the four backbone tensors in backbone_names() order. images: [N, 1, 28, 28] -> [N, 256].
at::Tensor backbone_forward(const std::vector<at::Tensor> &bb, const at::Tensor &images);
at::Tensor head_forward(const std::vector<at::Tensor> &head, const at::Tensor &features);

// Top-1 accuracy (0..1) of head(backbone(images)) on a labeled set, without autograd.
double accuracy(const std::vector<at::Tensor> &bb, const std::vector<at::Tensor> &head,
                const ImageSet &data);

}  // namespace demo
