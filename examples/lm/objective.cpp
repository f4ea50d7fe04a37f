#include "objective.h"

// NoGradGuard: ATen/ATen.h no longer brings it in LibTorch 2.x.
#include <ATen/core/grad_mode.h>

#include <exception>
#include <string>

namespace lm {

LmObjective::LmObjective(LmConfig config, Weights base, std::vector<at::Tensor> calib)
    : config_(config), base_(std::move(base)), calib_(std::move(calib)) {}

double LmObjective::value(const Weights &w) const {
  double sum = 0;
  for (const at::Tensor &c : calib_) sum += mean_loss(config_, w, c);
  return sum / double(calib_.size());
}

fw_status LmObjective::callback(int32_t term, const fw_tensor *params, size_t n, fw_tensor *grads,
                                double *loss, void *user_data) {
  try {
    return static_cast<LmObjective *>(user_data)->evaluate(term, params, n, grads, loss);
  } catch (const std::exception &e) {  // nothing may cross the C boundary
    fw_set_callback_error(e.what());
    return FW_ERR_CALLBACK;
  }
}

fw_status LmObjective::evaluate(int32_t term, const fw_tensor *params, size_t n, fw_tensor *grads,
                                double *loss) {
  ++evaluations_;
  Weights w = base_;
  std::vector<at::Tensor> leaves(n);
  for (size_t i = 0; i < n; ++i) {
    if (!base_.count(params[i].name)) {
      fw_set_callback_error((std::string("the model has no tensor ") + params[i].name).c_str());
      return FW_ERR_CALLBACK;
    }
    // zero-copy view of the library's tensor; autograd only reads it
    leaves[i] = at::from_blob(
        params[i].data, std::vector<int64_t>(params[i].shape, params[i].shape + params[i].ndim),
        at::kFloat);
    if (grads) leaves[i].set_requires_grad(true);
    w[params[i].name] = leaves[i];
  }
  const double share = 1.0 / double(calib_.size());
  double total = 0;
  for (size_t j = 0; j < calib_.size(); ++j) {
    if (term != FW_ALL_TERMS && static_cast<size_t>(term) != j) continue;
    if (!grads) {
      total += mean_loss(config_, w, calib_[j]) * share;
      continue;
    }
    // One backward per domain (the gradients add up in the leaves): a quarter of the activations.
    const at::Tensor l = lm_loss(config_, w, calib_[j]) * share;
    l.backward();
    total += l.item<double>();
  }
  if (grads) {
    for (size_t i = 0; i < n; ++i)
      at::from_blob(grads[i].data,
                    std::vector<int64_t>(grads[i].shape, grads[i].shape + grads[i].ndim),
                    at::kFloat)
          .copy_(leaves[i].grad());
  }
  *loss = total;
  return FW_OK;
}

}  // namespace lm
