// Training of the demo's models with plain ATen autograd and a small Adam: pre-training a backbone,
// fitting a head on a frozen backbone, fine-tuning a backbone under a frozen head.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "datasets.h"
#include "model.h"

namespace demo {

struct TrainConfig {
  int epochs = 1;
  int64_t batch = 64;
  double lr = 1e-3;
  uint64_t seed = 0;  // batch order
};

// Adam (Kingma & Ba) over a fixed list of tensors, updated in place.
class Adam {
 public:
  Adam(std::vector<at::Tensor> params, double lr, double beta1 = 0.9, double beta2 = 0.999,
       double eps = 1e-8);
  void zero_grad();
  void step();

 private:
  std::vector<at::Tensor> params_, m_, v_;
  double lr_, beta1_, beta2_, eps_;
  int64_t t_ = 0;
};

// Minimizes the mean cross-entropy of logits_fn(batch inputs) over `data` with Adam on
// `trainable` (set to require gradients for the duration). Returns the last epoch's mean loss.
double fit(const std::vector<at::Tensor> &trainable, const at::Tensor &inputs,
           const at::Tensor &labels, const std::function<at::Tensor(const at::Tensor &)> &logits_fn,
           const TrainConfig &cfg, const std::string &label);

// Pre-training: backbone + a throwaway head on `data` (the base task).
NamedTensors pretrain_backbone(const ImageSet &data, const TrainConfig &cfg);
// A head fit on features of the frozen backbone (the analogue of a zero-shot head).
NamedTensors fit_head(const NamedTensors &backbone, const ImageSet &data, int64_t classes,
                      const TrainConfig &cfg, const std::string &label);
// A copy of `pretrained` fine-tuned on `data` under the frozen `head`; `head` is not modified.
NamedTensors finetune_backbone(const NamedTensors &pretrained, const NamedTensors &head,
                               const ImageSet &data, const TrainConfig &cfg,
                               const std::string &label);

}  // namespace demo
