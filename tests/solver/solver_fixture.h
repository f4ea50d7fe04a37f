// Small pools and objectives with closed-form answers for the solver tests.
#pragma once

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "solver/solver.h"
#include "test_support.h"
#include "util/error.h"

namespace fwtest {

// Writes one checkpoint whose tensors are given as name -> values (1-D tensors).
inline std::string write_model(
    const std::string &dir, const std::string &file,
    const std::vector<std::pair<std::string, std::vector<float>>> &tensors) {
  std::vector<TestTensor> list;
  for (const auto &t : tensors)
    list.push_back({t.first, {static_cast<int64_t>(t.second.size())}, t.second});
  const std::string path = dir + "/" + file;
  write_safetensors(path, list);
  return path;
}

// l(theta) = 1/2 ||theta - target||^2, gradient theta - target (per tensor, base order).
class Quadratic : public fw::Evaluator {
 public:
  explicit Quadratic(std::vector<std::vector<float>> target) : target_(std::move(target)) {}
  double evaluate(const std::vector<at::Tensor> &point, std::vector<at::Tensor> *grad) override {
    ++calls;
    if (grad) ++gradient_calls;
    double loss = 0;
    for (size_t t = 0; t < point.size(); ++t) {
      const float *x = point[t].data_ptr<float>();
      for (size_t i = 0; i < target_[t].size(); ++i) {
        const double d = static_cast<double>(x[i]) - target_[t][i];
        loss += 0.5 * d * d;
        if (grad) (*grad)[t].data_ptr<float>()[i] = static_cast<float>(d);
      }
    }
    return loss;
  }
  int calls = 0;
  int gradient_calls = 0;

 private:
  std::vector<std::vector<float>> target_;
};

// An evaluator that runs a function (for failure injection).
class Scripted : public fw::Evaluator {
 public:
  using Fn = std::function<double(const std::vector<at::Tensor> &, std::vector<at::Tensor> *)>;
  explicit Scripted(Fn fn) : fn_(std::move(fn)) {}
  double evaluate(const std::vector<at::Tensor> &point, std::vector<at::Tensor> *grad) override {
    return fn_(point, grad);
  }

 private:
  Fn fn_;
};

// Library defaults, but one thread and a tight gap tolerance for exact closed-form checks.
inline fw::SolverConfig default_params() {
  fw::SolverConfig p;
  p.epsilon = 1e-9;
  p.threads = 1;
  return p;
}

inline std::vector<float> values(const at::Tensor &t) {
  const float *p = t.data_ptr<float>();
  return std::vector<float>(p, p + t.numel());
}

// A 3-D pool: base 0, members e1, e2, e3 (one tensor "w"): the hull is {x >= 0, sum x <= 1}.
inline void make_unit_pool(fw::Solver &solver, const std::string &label) {
  const std::string dir = temp_dir(label);
  solver.set_base(write_model(dir, "base.safetensors", {{"w", {0, 0, 0}}}));
  solver.add_member(write_model(dir, "e1.safetensors", {{"w", {1, 0, 0}}}));
  solver.add_member(write_model(dir, "e2.safetensors", {{"w", {0, 1, 0}}}));
  solver.add_member(write_model(dir, "e3.safetensors", {{"w", {0, 0, 1}}}));
}

}  // namespace fwtest
