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

enum class Optimizer { kAdam, kSgd };

struct TrainConfig {
  int epochs = 1;
  int64_t batch = 64;
  double lr = 1e-3;
  uint64_t seed = 0;  // batch order
  // SGD (heavy-ball momentum) moves each weight by its gradient, so a task vector is a sum of
  // (output error x input) outer products of that task's data; Adam's per-weight normalization
  // would move every weight by about lr, task-relevant or not.
  Optimizer optimizer = Optimizer::kAdam;
  double momentum = 0.9;  // SGD only
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

// Minimizes the mean cross-entropy of logits_fn(batch inputs) over `data` with cfg.optimizer on
// `trainable` (set to require gradients for the duration). Returns the last epoch's mean loss.
double fit(const std::vector<at::Tensor> &trainable, const at::Tensor &inputs,
           const at::Tensor &labels, const std::function<at::Tensor(const at::Tensor &)> &logits_fn,
           const TrainConfig &cfg, const std::string &label);

// Pre-training: backbone + a 10-class head on `data` (the base task). The head is returned through
// `head_out` when given (the zoo's zero-shot head), else thrown away.
NamedTensors pretrain_backbone(const ImageSet &data, const TrainConfig &cfg,
                               NamedTensors *head_out = nullptr);
// A head fit on features of the frozen backbone (the analogue of a zero-shot head).
NamedTensors fit_head(const NamedTensors &backbone, const ImageSet &data, int64_t classes,
                      const TrainConfig &cfg, const std::string &label);
// A copy of `pretrained` fine-tuned on `data` under the frozen `head`; `head` is not modified.
// Only the backbone tensors named in `trainable` change (empty: all of them).
NamedTensors finetune_backbone(const NamedTensors &pretrained, const NamedTensors &head,
                               const ImageSet &data, const TrainConfig &cfg,
                               const std::string &label,
                               const std::vector<std::string> &trainable = {});

}  // namespace demo
