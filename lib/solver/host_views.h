// fw_params.host_views on a GPU: the host's objective (a callback or ask/tell) sees the point
// copied to host memory, and the gradient it writes there is copied back to the device. On the CPU
// views point at the solver's own tensors and this is not used.
#pragma once

#include <vector>

#include "solver/evaluator.h"
#include "solver/solver.h"

namespace fw {

class HostViews : public Evaluator {
 public:
  explicit HostViews(Evaluator &inner) : inner_(inner) {}
  double evaluate(const std::vector<at::Tensor> &point, std::vector<at::Tensor> *grad) override {
    return on_host(point, grad, [&](const auto &p, auto *g) { return inner_.evaluate(p, g); });
  }
  int n_terms() const override { return inner_.n_terms(); }
  double evaluate_term(int term, const std::vector<at::Tensor> &point,
                       std::vector<at::Tensor> *grad) override {
    return on_host(point, grad,
                   [&](const auto &p, auto *g) { return inner_.evaluate_term(term, p, g); });
  }

 private:
  template <typename Fn>
  double on_host(const std::vector<at::Tensor> &point, std::vector<at::Tensor> *grad,
                 const Fn &fn) {
    std::vector<at::Tensor> host_point, host_grad;
    host_point.reserve(point.size());
    for (const at::Tensor &p : point) host_point.push_back(p.cpu());
    if (grad)
      for (const at::Tensor &g : *grad)
        host_grad.push_back(at::zeros_like(g, g.options().device(at::kCPU)));
    const double loss = fn(host_point, grad ? &host_grad : nullptr);
    if (grad)
      for (size_t t = 0; t < grad->size(); ++t) (*grad)[t].copy_(host_grad[t]);
    return loss;
  }

  Evaluator &inner_;
};

// Whether a host objective gets host copies (host_views on a device other than the CPU).
inline bool uses_host_views(const Solver &solver) {
  return solver.config().host_views && !solver.placement().on_cpu();
}

}  // namespace fw
