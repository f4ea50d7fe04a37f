#include "train.h"

// NoGradGuard: ATen/ATen.h no longer brings it in LibTorch 2.x.
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/grad_mode.h>
#include <sys/stat.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "progress.h"
#include "tensor_file.h"

namespace lm {

Adam::Adam(std::vector<at::Tensor> params) : params_(std::move(params)) {
  for (const at::Tensor &p : params_) {
    m_.push_back(at::zeros_like(p));
    v_.push_back(at::zeros_like(p));
  }
}

void Adam::zero_grad() {
  for (at::Tensor &p : params_)
    if (p.grad().defined()) p.mutable_grad().zero_();
}

void Adam::step(double lr) {
  at::NoGradGuard no_grad;
  ++t_;
  double sq = 0;
  for (const at::Tensor &p : params_)
    if (p.grad().defined()) sq += p.grad().pow(2).sum().item<double>();
  const double clip = std::min(1.0, 1.0 / (std::sqrt(sq) + 1e-6));
  const double b1 = 0.9, b2 = 0.999;
  const double c1 = 1.0 - std::pow(b1, double(t_)), c2 = 1.0 - std::pow(b2, double(t_));
  for (size_t i = 0; i < params_.size(); ++i) {
    if (!params_[i].grad().defined()) continue;
    const at::Tensor g = params_[i].grad() * clip;
    m_[i].mul_(b1).add_(g, 1.0 - b1);
    v_[i].mul_(b2).addcmul_(g, g, 1.0 - b2);
    params_[i].addcdiv_(m_[i], (v_[i] / c2).sqrt_().add_(1e-8), -lr / c1);
  }
}

at::Tensor sample_windows(const at::Tensor &stream, int64_t batch, int64_t len,
                          at::Generator &gen) {
  const at::Tensor start = at::randint(stream.size(0) - len, {batch, 1}, gen, at::kLong);
  return stream.index({start + at::arange(len, at::kLong).unsqueeze(0)});
}

namespace {

double schedule(const TrainSpec &s, int step) {
  if (step < s.warmup) return s.lr * double(step + 1) / double(s.warmup);
  const double progress = double(step - s.warmup) / double(std::max(1, s.steps - s.warmup));
  return s.lr * (0.1 + 0.9 * 0.5 * (1.0 + std::cos(M_PI * progress)));
}

// Minimizes loss_of() over `trainable` with Adam; returns the mean loss of the last 10 % of steps.
template <typename LossFn>
double fit(const std::vector<at::Tensor> &trainable, const TrainSpec &spec,
           const std::string &label, LossFn loss_of) {
  for (const at::Tensor &p : trainable) p.set_requires_grad(true);
  Adam opt(trainable);
  demo::Progress progress(label, spec.steps);
  double tail = 0, ema = 0;
  int tail_n = 0;
  char detail[64];
  for (int step = 0; step < spec.steps; ++step) {
    const at::Tensor loss = loss_of();
    opt.zero_grad();
    loss.backward();
    opt.step(schedule(spec, step));
    const double v = loss.item<double>();
    ema = step ? 0.95 * ema + 0.05 * v : v;
    if (step >= spec.steps - std::max(1, spec.steps / 10)) {
      tail += v;
      ++tail_n;
    }
    std::snprintf(detail, sizeof detail, "loss %.3f", ema);
    progress.update(step + 1, detail);
  }
  for (const at::Tensor &p : trainable) {
    p.set_requires_grad(false);
    p.mutable_grad() = at::Tensor();
  }
  std::snprintf(detail, sizeof detail, "loss %.3f", tail / std::max(1, tail_n));
  progress.finish(detail);
  return tail / std::max(1, tail_n);
}

std::string lora_key(const std::string &module, const char *factor) {
  return "base_model.model." + module + ".lora_" + factor + ".weight";
}

}  // namespace

demo::NamedTensors pretrain(const LmConfig &c, const at::Tensor &stream, const TrainSpec &spec,
                            uint64_t init_seed) {
  demo::NamedTensors params = init_params(c, init_seed);
  const Weights w = to_weights(params);  // shares storage with params
  at::Generator gen = at::detail::createCPUGenerator(spec.seed);
  fit(params.tensors, spec, "pre-train " + c.tag(),
      [&] { return lm_loss(c, w, sample_windows(stream, spec.batch, c.context + 1, gen)); });
  return params;
}

Weights apply_lora(const LmConfig &c, const Weights &base, const demo::NamedTensors &factors,
                   const LoraSpec &lora) {
  Weights w = base;
  const double scale = lora.alpha / double(lora.r);
  for (const std::string &m : lora_modules(c)) {
    const at::Tensor &a = factors.get(lora_key(m, "A")), &b = factors.get(lora_key(m, "B"));
    w[m + ".weight"] = base.at(m + ".weight") + at::matmul(b, a) * scale;
  }
  return w;
}

demo::NamedTensors train_lora(const LmConfig &c, const demo::NamedTensors &base,
                              const at::Tensor &stream, const TrainSpec &spec, const LoraSpec &lora,
                              const std::string &label) {
  // PEFT's initialization: A ~ kaiming-uniform(a = sqrt(5)) = U(-1/sqrt(in), 1/sqrt(in)), B = 0,
  // so training starts at the pre-trained model.
  at::Generator gen = at::detail::createCPUGenerator(spec.seed * 7919 + 17);
  demo::NamedTensors factors;
  const Weights w0 = to_weights(base);
  for (const std::string &m : lora_modules(c)) {
    const at::Tensor &W = w0.at(m + ".weight");
    const double bound = 1.0 / std::sqrt(double(W.size(1)));
    factors.names.push_back(lora_key(m, "A"));
    factors.tensors.push_back(at::empty({lora.r, W.size(1)}).uniform_(-bound, bound, gen));
    factors.names.push_back(lora_key(m, "B"));
    factors.tensors.push_back(at::zeros({W.size(0), lora.r}));
  }
  fit(factors.tensors, spec, label, [&] {
    return lm_loss(c, apply_lora(c, w0, factors, lora),
                   sample_windows(stream, spec.batch, c.context + 1, gen));
  });
  return factors;
}

void save_peft_adapter(const std::string &dir, const demo::NamedTensors &factors,
                       const LoraSpec &lora, const std::string &base_path) {
  std::vector<std::string> targets = {"q_proj", "k_proj",  "v_proj",
                                      "o_proj", "up_proj", "down_proj"};
  nlohmann::json config = {{"peft_type", "LORA"},
                           {"task_type", "CAUSAL_LM"},
                           {"r", lora.r},
                           {"lora_alpha", lora.alpha},
                           {"lora_dropout", 0.0},
                           {"target_modules", targets},
                           {"bias", "none"},
                           {"fan_in_fan_out", false},
                           {"use_rslora", false},
                           {"init_lora_weights", true},
                           {"modules_to_save", nullptr},
                           {"inference_mode", true},
                           {"base_model_name_or_path", base_path}};
  const std::string tmp = dir + ".tmp";
  std::remove((tmp + "/adapter_config.json").c_str());
  std::remove((tmp + "/adapter_model.safetensors").c_str());
  ::mkdir(tmp.c_str(), 0755);
  std::ofstream(tmp + "/adapter_config.json") << config.dump(2) << '\n';
  demo::save_tensors(tmp + "/adapter_model.safetensors", factors, {{"format", "pt"}});
  if (std::rename(tmp.c_str(), dir.c_str()) != 0)
    throw std::runtime_error("cannot rename " + tmp + " to " + dir);
}

}  // namespace lm
