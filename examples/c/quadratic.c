/* The C host of the common example: FW-merges the pool written by make_pool with the objective
 * l(theta) = 1/2 ||theta - target||^2 and exports the result. The Go, Java and Rust examples do the
 * same and must produce byte-identical files.
 * usage: fw_example_quadratic POOL_DIR OUT.safetensors */
#include <stdio.h>

#include "fwmerge.h"

static fw_status quadratic(const fw_tensor *params, size_t n, fw_tensor *grads, double *loss,
                           void *user_data) {
  (void)user_data;
  double total = 0.0;
  for (size_t j = 0; j < n; ++j) {
    const float *theta = (const float *)params[j].data;
    for (int64_t i = 0; i < params[j].numel; ++i) {
      float target = (float)((int)((i * 7 + (int64_t)j * 3) % 11) - 5) * 0.125f;
      float d = theta[i] - target;
      total += 0.5 * (double)d * (double)d;
      if (grads) ((float *)grads[j].data)[i] = d;
    }
  }
  *loss = total;
  return FW_OK;
}

static int check(fw_status status, const char *what) {
  if (status == FW_OK) return 0;
  fprintf(stderr, "%s failed: %s: %s\n", what, fw_status_name(status), fw_last_error());
  return 1;
}

int main(int argc, char **argv) {
  char path[4096];
  fw_solver *solver = NULL;
  fw_params params = fw_default_params();
  fw_step_info info;
  int failed;
  if (argc != 3) {
    fprintf(stderr, "usage: %s POOL_DIR OUT.safetensors\n", argv[0]);
    return 2;
  }
  info.struct_size = sizeof info;
  params.max_iters = 10;
  if (check(fw_solver_new(&params, &solver), "fw_solver_new")) return 1;
  snprintf(path, sizeof path, "%s/base.safetensors", argv[1]);
  failed = check(fw_solver_set_base(solver, path), "fw_solver_set_base");
  for (int m = 0; m < 4 && !failed; ++m) {
    snprintf(path, sizeof path, "%s/member%d.safetensors", argv[1], m);
    failed = check(fw_solver_pool_add(solver, path, NULL), "fw_solver_pool_add");
  }
  if (!failed)
    failed = check(fw_solver_set_objective_callback(solver, quadratic, NULL), "objective");
  if (!failed) failed = check(fw_solver_run(solver, &info), "fw_solver_run");
  for (int t = 0; !failed && t < fw_solver_history_size(solver); ++t) {
    fw_solver_history_get(solver, t, &info);
    printf("step %d: loss %.6f gap %.6f gamma %.4f\n", info.iteration, info.loss, info.gap,
           info.gamma);
  }
  if (!failed) failed = check(fw_solver_export(solver, argv[2], NULL), "fw_solver_export");
  fw_solver_free(solver);
  return failed;
}
