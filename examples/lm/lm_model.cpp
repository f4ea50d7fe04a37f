#include "lm_model.h"

// NoGradGuard: ATen/ATen.h no longer brings it in LibTorch 2.x.
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/grad_mode.h>

#include <cmath>
#include <limits>
#include <stdexcept>

namespace lm {

std::string LmConfig::tag() const {
  return "L" + std::to_string(layers) + "-d" + std::to_string(d_model) + "-h" +
         std::to_string(heads) + "-c" + std::to_string(context) + "-m" + std::to_string(mlp);
}

namespace {
std::string layer(int64_t l) { return "model.layers." + std::to_string(l) + "."; }
}  // namespace

std::vector<std::string> param_names(const LmConfig &c) {
  std::vector<std::string> n = {"model.embed_tokens.weight", "model.embed_positions.weight"};
  for (int64_t l = 0; l < c.layers; ++l) {
    const std::string p = layer(l);
    for (const char *s :
         {"input_layernorm.weight", "input_layernorm.bias", "self_attn.q_proj.weight",
          "self_attn.k_proj.weight", "self_attn.v_proj.weight", "self_attn.o_proj.weight",
          "post_attention_layernorm.weight", "post_attention_layernorm.bias", "mlp.up_proj.weight",
          "mlp.down_proj.weight"})
      n.push_back(p + s);
  }
  n.push_back("model.norm.weight");
  n.push_back("model.norm.bias");
  n.push_back("lm_head.weight");
  return n;
}

std::vector<std::string> lora_modules(const LmConfig &c) {
  std::vector<std::string> m;
  for (int64_t l = 0; l < c.layers; ++l)
    for (const char *s : {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
                          "self_attn.o_proj", "mlp.up_proj", "mlp.down_proj"})
      m.push_back(layer(l) + s);
  return m;
}

demo::NamedTensors init_params(const LmConfig &c, uint64_t seed) {
  at::Generator gen = at::detail::createCPUGenerator(seed);
  const double resid = 0.02 / std::sqrt(2.0 * double(c.layers));
  demo::NamedTensors t;
  for (const std::string &name : param_names(c)) {
    at::Tensor v;
    const auto normal = [&](std::vector<int64_t> shape, double std) {
      return at::empty(shape, at::kFloat).normal_(0.0, std, gen);
    };
    const auto ends = [&](const char *s) {
      const std::string suffix = s;
      return name.size() >= suffix.size() &&
             name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    if (name == "model.embed_tokens.weight" || name == "lm_head.weight")
      v = normal({kVocab, c.d_model}, 0.02);
    else if (name == "model.embed_positions.weight")
      v = normal({c.context, c.d_model}, 0.01);
    else if (ends("norm.weight"))
      v = at::ones({c.d_model});
    else if (ends("norm.bias"))
      v = at::zeros({c.d_model});
    else if (ends("o_proj.weight"))
      v = normal({c.d_model, c.d_model}, resid);
    else if (ends("proj.weight") && name.find("self_attn") != std::string::npos)
      v = normal({c.d_model, c.d_model}, 0.02);
    else if (ends("up_proj.weight"))
      v = normal({c.mlp, c.d_model}, 0.02);
    else if (ends("down_proj.weight"))
      v = normal({c.d_model, c.mlp}, resid);
    else
      throw std::logic_error("init_params: no rule for " + name);
    t.names.push_back(name);
    t.tensors.push_back(v);
  }
  return t;
}

Weights to_weights(const demo::NamedTensors &t) {
  Weights w;
  for (size_t i = 0; i < t.names.size(); ++i) w[t.names[i]] = t.tensors[i];
  return w;
}

at::Tensor forward(const LmConfig &c, const Weights &w, const at::Tensor &tokens) {
  const int64_t B = tokens.size(0), T = tokens.size(1), d = c.d_model, H = c.heads, hd = d / H;
  const auto get = [&](const std::string &name) -> const at::Tensor & {
    const auto it = w.find(name);
    if (it == w.end()) throw std::out_of_range("forward: no tensor " + name);
    return it->second;
  };
  at::Tensor x = at::embedding(get("model.embed_tokens.weight"), tokens) +
                 get("model.embed_positions.weight").slice(0, 0, T);
  const at::Tensor future = at::ones({T, T}, at::kBool).triu(1);
  const double inv_sqrt = 1.0 / std::sqrt(double(hd));
  for (int64_t l = 0; l < c.layers; ++l) {
    const std::string p = layer(l);
    const at::Tensor h =
        at::layer_norm(x, {d}, get(p + "input_layernorm.weight"), get(p + "input_layernorm.bias"));
    const auto heads = [&](const char *proj) {
      return at::linear(h, get(p + "self_attn." + proj + ".weight"))
          .view({B, T, H, hd})
          .transpose(1, 2);
    };
    const at::Tensor q = heads("q_proj"), k = heads("k_proj"), v = heads("v_proj");
    const at::Tensor scores = at::matmul(q, k.transpose(-2, -1))
                                  .mul(inv_sqrt)
                                  .masked_fill(future, -std::numeric_limits<float>::infinity());
    const at::Tensor attn =
        at::matmul(at::softmax(scores, -1), v).transpose(1, 2).reshape({B, T, d});
    x = x + at::linear(attn, get(p + "self_attn.o_proj.weight"));
    const at::Tensor h2 = at::layer_norm(x, {d}, get(p + "post_attention_layernorm.weight"),
                                         get(p + "post_attention_layernorm.bias"));
    x = x + at::linear(at::gelu(at::linear(h2, get(p + "mlp.up_proj.weight"))),
                       get(p + "mlp.down_proj.weight"));
  }
  x = at::layer_norm(x, {d}, get("model.norm.weight"), get("model.norm.bias"));
  return at::linear(x, get("lm_head.weight"));
}

at::Tensor lm_loss(const LmConfig &c, const Weights &w, const at::Tensor &windows) {
  const int64_t T = windows.size(1) - 1;
  const at::Tensor logits = forward(c, w, windows.slice(1, 0, T));
  return at::cross_entropy_loss(logits.reshape({-1, kVocab}), windows.slice(1, 1).reshape({-1}));
}

double mean_loss(const LmConfig &c, const Weights &w, const at::Tensor &windows) {
  at::NoGradGuard no_grad;
  const int64_t n = windows.size(0);
  double sum = 0;
  for (int64_t b = 0; b < n; b += 64) {
    const int64_t e = std::min(n, b + 64);
    sum += lm_loss(c, w, windows.slice(0, b, e)).item<double>() * double(e - b);
  }
  return n ? sum / double(n) : 0.0;
}

}  // namespace lm
