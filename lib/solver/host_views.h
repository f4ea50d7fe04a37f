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
    std::vector<at::Tensor> host_point, host_grad;
    host_point.reserve(point.size());
    for (const at::Tensor &p : point) host_point.push_back(p.cpu());
    if (grad)
      for (const at::Tensor &g : *grad)
        host_grad.push_back(at::zeros_like(g, g.options().device(at::kCPU)));
    const double loss = inner_.evaluate(host_point, grad ? &host_grad : nullptr);
    if (grad)
      for (size_t t = 0; t < grad->size(); ++t) (*grad)[t].copy_(host_grad[t]);
    return loss;
  }

 private:
  Evaluator &inner_;
};

// Whether a host objective gets host copies (host_views on a device other than the CPU).
inline bool uses_host_views(const Solver &solver) {
  return solver.params().host_views != 0 && !solver.placement().on_cpu();
}

}  // namespace fw
