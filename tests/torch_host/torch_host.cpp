// A C++ host that computes its gradient with the pip torch's LibTorch (autograd on tensors that
// wrap the solver's views, no copies) and drives libfwmerge through its C API, both libraries in
// one process: the quadratic example of examples/c/quadratic.c. Its export must be byte-identical
// to the other hosts' (tests/torch_host/test_torch_host.py builds and runs it).
//   torch_host POOL_DIR OUT.safetensors
#include <torch/torch.h>

#include <cstdio>
#include <string>

#include "fwmerge.h"

namespace {

// l = 1/2 sum (theta - target)^2 with target_i = ((i*7 + j*3) % 11 - 5) * 0.125 (float32); the loss
// is summed in double element by element as the C example does; the gradient is autograd's.
fw_status quadratic(const fw_tensor *params, size_t n, fw_tensor *grads, double *loss, void *) {
  try {
    double total = 0.0;
    for (size_t j = 0; j < n; ++j) {
      const auto opts = torch::dtype(torch::kFloat32);
      // The solver's buffer itself: from_blob wraps it, and autograd only reads it.
      torch::Tensor theta = torch::from_blob(params[j].data, {params[j].numel}, opts)
                                .requires_grad_(grads != nullptr);
      torch::Tensor i = torch::arange(params[j].numel, torch::kInt64);
      torch::Tensor target =
          ((i * 7 + static_cast<int64_t>(j) * 3) % 11 - 5).to(torch::kFloat32) * 0.125;
      torch::Tensor d = theta - target;
      if (grads) {
        (0.5 * (d * d).sum()).backward();
        torch::from_blob(grads[j].data, {grads[j].numel}, opts).copy_(theta.grad());
      }
      const torch::Tensor dd = d.detach().contiguous();
      const float *v = dd.data_ptr<float>();
      for (int64_t k = 0; k < dd.numel(); ++k) total += 0.5 * double(v[k]) * double(v[k]);
    }
    *loss = total;
    return FW_OK;
  } catch (const std::exception &e) {
    fw_set_callback_error(e.what());
    return FW_ERR_CALLBACK;
  }
}

int check(fw_status status, const char *what) {
  if (status == FW_OK) return 0;
  std::fprintf(stderr, "%s failed: %s: %s\n", what, fw_status_name(status), fw_last_error());
  return 1;
}

}  // namespace

int main(int argc, char **argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s POOL_DIR OUT.safetensors\n", argv[0]);
    return 2;
  }
  std::fprintf(stderr, "libfwmerge %s on LibTorch %s; host LibTorch %s\n", fw_version(),
               fw_libtorch_version(), TORCH_VERSION);
  fw_params params = fw_default_params();
  params.max_iters = 10;
  fw_solver *solver = nullptr;
  if (check(fw_solver_new(&params, &solver), "fw_solver_new")) return 1;
  const std::string dir = argv[1];
  int failed =
      check(fw_solver_set_base(solver, (dir + "/base.safetensors").c_str()), "fw_solver_set_base");
  for (int m = 0; m < 4 && !failed; ++m)
    failed =
        check(fw_solver_pool_add(
                  solver, (dir + "/member" + std::to_string(m) + ".safetensors").c_str(), nullptr),
              "fw_solver_pool_add");
  if (!failed)
    failed = check(fw_solver_set_objective_callback(solver, quadratic, nullptr), "objective");
  fw_step_info info{};
  info.struct_size = sizeof info;
  if (!failed) failed = check(fw_solver_run(solver, &info), "fw_solver_run");
  for (int t = 0; !failed && t < fw_solver_history_size(solver); ++t) {
    fw_solver_history_get(solver, t, &info);
    std::printf("step %d: loss %.6f gap %.6f gamma %.4f\n", info.iteration, info.loss, info.gap,
                info.gamma);
  }
  if (!failed) failed = check(fw_solver_export(solver, argv[2], nullptr), "fw_solver_export");
  fw_solver_free(solver);
  return failed;
}
