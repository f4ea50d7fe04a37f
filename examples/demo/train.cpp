#include "train.h"

// NoGradGuard: ATen/ATen.h no longer brings it in LibTorch 2.x.
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/grad_mode.h>

#include <cmath>
#include <cstdio>

#include "progress.h"

namespace demo {

Adam::Adam(std::vector<at::Tensor> params, double lr, double beta1, double beta2, double eps)
    : params_(std::move(params)), lr_(lr), beta1_(beta1), beta2_(beta2), eps_(eps) {
  for (const at::Tensor &p : params_) {
    m_.push_back(at::zeros_like(p));
    v_.push_back(at::zeros_like(p));
  }
}

void Adam::zero_grad() {
  for (at::Tensor &p : params_)
    if (p.grad().defined()) p.mutable_grad().zero_();
}

void Adam::step() {
  at::NoGradGuard no_grad;
  ++t_;
  const double c1 = 1.0 - std::pow(beta1_, double(t_));
  const double c2 = 1.0 - std::pow(beta2_, double(t_));
  for (size_t i = 0; i < params_.size(); ++i) {
    const at::Tensor g = params_[i].grad();
    if (!g.defined()) continue;
    m_[i].mul_(beta1_).add_(g, 1.0 - beta1_);
    v_[i].mul_(beta2_).addcmul_(g, g, 1.0 - beta2_);
    const at::Tensor denom = (v_[i] / c2).sqrt_().add_(eps_);
    params_[i].addcdiv_(m_[i], denom, -lr_ / c1);
  }
}

double fit(const std::vector<at::Tensor> &trainable, const at::Tensor &inputs,
           const at::Tensor &labels, const std::function<at::Tensor(const at::Tensor &)> &logits_fn,
           const TrainConfig &cfg, const std::string &label) {
  for (const at::Tensor &p : trainable) p.set_requires_grad(true);
  Adam opt(trainable, cfg.lr);       // under SGD only its zero_grad() is used
  std::vector<at::Tensor> velocity;  // SGD
  if (cfg.optimizer == Optimizer::kSgd)
    for (const at::Tensor &p : trainable) velocity.push_back(at::zeros_like(p));
  const auto sgd_step = [&] {
    at::NoGradGuard no_grad;
    for (size_t i = 0; i < trainable.size(); ++i) {
      const at::Tensor g = trainable[i].grad();
      if (!g.defined()) continue;
      velocity[i].mul_(cfg.momentum).add_(g);
      // a copy of the handle: the update is in place on the shared tensor
      at::Tensor p = trainable[i];
      p.add_(velocity[i], -cfg.lr);
    }
  };
  at::Generator gen = at::detail::createCPUGenerator(cfg.seed);
  const int64_t n = inputs.size(0);
  const int64_t batches = (n + cfg.batch - 1) / cfg.batch;
  Progress progress(label, int64_t(cfg.epochs) * batches);
  double epoch_loss = 0;
  char detail[64] = "";
  for (int epoch = 0; epoch < cfg.epochs; ++epoch) {
    const at::Tensor order = at::randperm(n, gen, at::kLong);
    double sum = 0;
    for (int64_t b = 0; b < batches; ++b) {
      const at::Tensor idx = order.slice(0, b * cfg.batch, std::min(n, (b + 1) * cfg.batch));
      const at::Tensor loss = at::cross_entropy_loss(logits_fn(inputs.index_select(0, idx)),
                                                     labels.index_select(0, idx));
      opt.zero_grad();
      loss.backward();
      if (cfg.optimizer == Optimizer::kSgd)
        sgd_step();
      else
        opt.step();
      sum += loss.item<double>();
      std::snprintf(detail, sizeof detail, "epoch %d/%d loss %.3f", epoch + 1, cfg.epochs,
                    sum / double(b + 1));
      progress.update(int64_t(epoch) * batches + b + 1, detail);
    }
    epoch_loss = sum / double(batches);
  }
  for (const at::Tensor &p : trainable) {
    p.set_requires_grad(false);
    p.mutable_grad() = at::Tensor();
  }
  std::snprintf(detail, sizeof detail, "loss %.3f", epoch_loss);
  progress.finish(detail);
  return epoch_loss;
}

NamedTensors pretrain_backbone(const ImageSet &data, const TrainConfig &cfg,
                               NamedTensors *head_out) {
  NamedTensors bb = init_backbone(cfg.seed);
  NamedTensors head = init_head(10, cfg.seed + 1);
  std::vector<at::Tensor> trainable = bb.tensors;
  trainable.insert(trainable.end(), head.tensors.begin(), head.tensors.end());
  fit(
      trainable, data.images, data.labels,
      [&](const at::Tensor &x) {
        return head_forward(head.tensors, backbone_forward(bb.tensors, x));
      },
      cfg, "pre-train backbone");
  if (head_out) *head_out = head;
  return bb;
}

NamedTensors fit_head(const NamedTensors &backbone, const ImageSet &data, int64_t classes,
                      const TrainConfig &cfg, const std::string &label) {
  at::Tensor features;
  {
    at::NoGradGuard no_grad;
    features = backbone_forward(backbone.tensors, data.images);
  }
  NamedTensors head = init_head(classes, cfg.seed);
  fit(
      head.tensors, features, data.labels,
      [&](const at::Tensor &f) { return head_forward(head.tensors, f); }, cfg, label);
  return head;
}

NamedTensors finetune_backbone(const NamedTensors &pretrained, const NamedTensors &head,
                               const ImageSet &data, const TrainConfig &cfg,
                               const std::string &label,
                               const std::vector<std::string> &trainable) {
  NamedTensors bb = pretrained.clone();
  std::vector<at::Tensor> params;
  for (const std::string &name : trainable) params.push_back(bb.get(name));
  if (trainable.empty()) params = bb.tensors;
  fit(
      params, data.images, data.labels,
      [&](const at::Tensor &x) {
        return head_forward(head.tensors, backbone_forward(bb.tensors, x));
      },
      cfg, label);
  return bb;
}

}  // namespace demo
