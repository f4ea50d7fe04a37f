// Builds a small base checkpoint and PEFT adapter folders on disk for the LoRA tests, and computes
// W + scale * (B @ A) directly (double loops) for the expected values.
#pragma once

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "test_support.h"

namespace lf {

inline std::vector<float> ramp(int64_t n, float start, float step) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[i] = start + step * static_cast<float>(i);
  return v;
}

// Base tensors: two Llama-style projections [3, 4], an embedding [5, 3], a GPT-2 Conv1D stored
// [in 4, out 6] under the legacy name "h.0.attn.c_attn.weight", a classifier [2, 3] and its bias.
inline std::vector<fwtest::TestTensor> base_tensors() {
  return {{"model.layers.0.q_proj.weight", {3, 4}, ramp(12, -1.0f, 0.25f)},
          {"model.layers.0.v_proj.weight", {3, 4}, ramp(12, 0.5f, -0.125f)},
          {"model.embed_tokens.weight", {5, 3}, ramp(15, -0.7f, 0.1f)},
          {"h.0.attn.c_attn.weight", {4, 6}, ramp(24, 0.3f, -0.05f)},
          {"classifier.weight", {2, 3}, ramp(6, 1.0f, 0.5f)},
          {"classifier.bias", {2}, {0.1f, -0.2f}}};
}

inline std::string write_base(const std::string &dir) {
  const std::string path = dir + "/base.safetensors";
  fwtest::write_safetensors(path, base_tensors());
  return path;
}

inline const fwtest::TestTensor &find(const std::vector<fwtest::TestTensor> &ts,
                                      const std::string &name) {
  for (const auto &t : ts)
    if (t.name == name) return t;
  throw std::runtime_error("no test tensor " + name);
}

inline std::string write_adapter(const std::string &label, const std::string &config_json,
                                 const std::vector<fwtest::TestTensor> &tensors) {
  const std::string dir = fwtest::temp_dir(label);
  std::ofstream(dir + "/adapter_config.json") << config_json;
  fwtest::write_safetensors(dir + "/adapter_model.safetensors", tensors);
  return dir;
}

// W [out, in] + scale * B [out, r] @ A [r, in]; transpose: the result is W [in, out] +
// scale * (B @ A)^T.
inline std::vector<float> lora_expected(const std::vector<float> &w, const std::vector<float> &a,
                                        const std::vector<float> &b, int64_t out, int64_t r,
                                        int64_t in, double scale, bool transpose) {
  std::vector<float> res(w.size());
  for (int64_t o = 0; o < out; ++o) {
    for (int64_t i = 0; i < in; ++i) {
      double d = 0;
      for (int64_t k = 0; k < r; ++k) d += double(b[o * r + k]) * double(a[k * in + i]);
      const int64_t at = transpose ? i * out + o : o * in + i;
      res[at] = static_cast<float>(double(w[at]) + scale * d);
    }
  }
  return res;
}

}  // namespace lf
