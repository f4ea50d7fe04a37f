#include "model.h"

// NoGradGuard: ATen/ATen.h no longer brings it in LibTorch 2.x.
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/grad_mode.h>

#include <cmath>
#include <stdexcept>

namespace demo {

const at::Tensor &NamedTensors::get(const std::string &name) const {
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return tensors[i];
  throw std::out_of_range("no tensor named " + name);
}

NamedTensors NamedTensors::clone() const {
  NamedTensors out{names, {}};
  for (const at::Tensor &t : tensors) out.tensors.push_back(t.detach().clone());
  return out;
}

const std::vector<std::string> &backbone_names() {
  static const std::vector<std::string> names = {"fc1.weight", "fc1.bias", "fc2.weight",
                                                 "fc2.bias"};
  return names;
}

namespace {
// PyTorch's nn.Linear default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias.
at::Tensor uniform(std::vector<int64_t> shape, int64_t fan_in, at::Generator &gen) {
  const double bound = 1.0 / std::sqrt(double(fan_in));
  return at::empty(shape, at::kFloat).uniform_(-bound, bound, gen);
}
}  // namespace

NamedTensors init_backbone(uint64_t seed) {
  at::Generator gen = at::detail::createCPUGenerator(seed);
  NamedTensors bb{backbone_names(), {}};
  bb.tensors.push_back(uniform({kHidden1, kInputDim}, kInputDim, gen));
  bb.tensors.push_back(uniform({kHidden1}, kInputDim, gen));
  bb.tensors.push_back(uniform({kFeatureDim, kHidden1}, kHidden1, gen));
  bb.tensors.push_back(uniform({kFeatureDim}, kHidden1, gen));
  return bb;
}

NamedTensors init_head(int64_t classes, uint64_t seed) {
  at::Generator gen = at::detail::createCPUGenerator(seed);
  NamedTensors head{{"head.weight", "head.bias"}, {}};
  head.tensors.push_back(uniform({classes, kFeatureDim}, kFeatureDim, gen));
  head.tensors.push_back(uniform({classes}, kFeatureDim, gen));
  return head;
}

at::Tensor backbone_forward(const std::vector<at::Tensor> &bb, const at::Tensor &images) {
  if (bb.size() != 4) throw std::invalid_argument("backbone_forward: expected 4 tensors");
  // Centered inputs: with all-positive pixels, a first-layer update learned on one task would act
  // on every other task's images through their shared mean, the main source of interference
  // between task vectors.
  const at::Tensor x = images.reshape({images.size(0), kInputDim}) - kPixelCenter;
  const at::Tensor h = at::relu(at::linear(x, bb[0], bb[1]));
  return at::relu(at::linear(h, bb[2], bb[3]));
}

at::Tensor head_forward(const std::vector<at::Tensor> &head, const at::Tensor &features) {
  return at::linear(features, head[0], head[1]);
}

double accuracy(const std::vector<at::Tensor> &bb, const std::vector<at::Tensor> &head,
                const ImageSet &data) {
  at::NoGradGuard no_grad;
  int64_t correct = 0;
  const int64_t n = data.size();
  for (int64_t b = 0; b < n; b += 1000) {
    const int64_t e = std::min(n, b + 1000);
    const at::Tensor logits = head_forward(head, backbone_forward(bb, data.images.slice(0, b, e)));
    correct += logits.argmax(1).eq(data.labels.slice(0, b, e)).sum().item<int64_t>();
  }
  return n ? double(correct) / double(n) : 0.0;
}

}  // namespace demo
