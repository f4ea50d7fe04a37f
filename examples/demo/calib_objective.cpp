#include "calib_objective.h"

// NoGradGuard: ATen/ATen.h no longer brings it in LibTorch 2.x.
#include <ATen/core/grad_mode.h>

#include <exception>
#include <string>

namespace demo {

CalibObjective::CalibObjective(std::vector<CalibTask> tasks) : tasks_(std::move(tasks)) {}

at::Tensor CalibObjective::loss(const std::vector<at::Tensor> &backbone, int term) const {
  at::Tensor total;
  for (size_t i = 0; i < tasks_.size(); ++i) {
    if (term != FW_ALL_TERMS && static_cast<size_t>(term) != i) continue;
    const CalibTask &task = tasks_[i];
    const at::Tensor logits =
        head_forward(task.head, backbone_forward(backbone, task.calib.images));
    const at::Tensor term = at::cross_entropy_loss(logits, task.calib.labels);
    total = total.defined() ? total + term : term;
  }
  return total / double(tasks_.size());
}

fw_status CalibObjective::callback(int32_t term, const fw_tensor *params, size_t n,
                                   fw_tensor *grads, double *loss, void *user_data) {
  try {
    return static_cast<CalibObjective *>(user_data)->evaluate(term, params, n, grads, loss);
  } catch (const std::exception &e) {  // nothing may cross the C boundary
    fw_set_callback_error(e.what());
    return FW_ERR_CALLBACK;
  }
}

fw_status CalibObjective::evaluate(int32_t term, const fw_tensor *params, size_t n,
                                   fw_tensor *grads, double *loss) {
  ++evaluations_;
  const std::vector<std::string> &names = backbone_names();
  std::vector<at::Tensor> bb(names.size());
  std::vector<size_t> view_of(names.size(), n);
  for (size_t i = 0; i < n; ++i)
    for (size_t k = 0; k < names.size(); ++k)
      if (names[k] == params[i].name) view_of[k] = i;
  for (size_t k = 0; k < names.size(); ++k) {
    if (view_of[k] == n) {
      fw_set_callback_error(("the merged model has no tensor " + names[k]).c_str());
      return FW_ERR_CALLBACK;
    }
    const fw_tensor &v = params[view_of[k]];
    // zero-copy view of the library's tensor; autograd only reads it
    bb[k] = at::from_blob(v.data, std::vector<int64_t>(v.shape, v.shape + v.ndim), at::kFloat);
    if (grads) bb[k].set_requires_grad(true);
  }
  if (!grads) {
    at::NoGradGuard no_grad;
    *loss = this->loss(bb, term).item<double>();
    return FW_OK;
  }
  const at::Tensor value = this->loss(bb, term);
  value.backward();
  for (size_t k = 0; k < names.size(); ++k) {
    fw_tensor &g = grads[view_of[k]];
    at::from_blob(g.data, std::vector<int64_t>(g.shape, g.shape + g.ndim), at::kFloat)
        .copy_(bb[k].grad());
  }
  *loss = value.item<double>();
  return FW_OK;
}

}  // namespace demo
