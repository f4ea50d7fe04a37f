/*
 * A pure C99 host of the installed library: proves the ABI is C and runs a merge whose every number
 * is known in closed form.
 *
 * Base theta_0 = 0 in R^3, pool {e1, e2, e3}, objective l = 1/2 ||theta - (1,1,0)||^2, hard FW,
 * task-wise, line search. The hull of {0, e1, e2, e3} is {x >= 0, sum x <= 1}; the projection of
 * (1,1,0) onto it is (0.5, 0.5, 0). By hand:
 *  t=0: theta=0, grad=(-1,-1,0), scores <grad,v>: e1 -1, e2 -1, e3 0, base 0 -> e1 (first of the
 * tie), gap = <grad,theta> - (-1) = 1; phi(g) = l(g e1) = 1/2((g-1)^2 + 1): phi(0)=1, phi(1)=0.5,
 *       slope -1 -> gamma = 1 (2 evaluations), theta_1 = (1,0,0), l = 0.5.
 *  t=1: grad=(0,-1,0) -> e2, gap = 0 - (-1) = 1; phi(g) = l((1-g, g, 0)) = 1/2((1-g)^2 + (g-1)^2):
 *       phi(1)=0.5, curvature 0.5-0.5+1 = 1, gamma = 1/2 (3 evaluations), theta_2 = (0.5,0.5,0).
 *  t=2: grad=(-0.5,-0.5,0): <grad,theta> = -0.5 = min score -> gap 0: converged, theta unchanged.
 * Usage: closed_form_merge WORK_DIR (an existing, writable folder).
 */
#include <fwmerge.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;

#define CHECK(cond)                                                                            \
  do {                                                                                         \
    if (!(cond)) {                                                                             \
      fprintf(stderr, "%s:%d: check failed: %s (fw_last_error: \"%s\")\n", __FILE__, __LINE__, \
              #cond, fw_last_error());                                                         \
      ++failures;                                                                              \
    }                                                                                          \
  } while (0)

static const double kTarget[3] = {1.0, 1.0, 0.0};

/* l = 1/2 ||x - target||^2, grad = x - target; user_data counts the evaluations. */
static fw_status quadratic(const fw_tensor *params, size_t n, fw_tensor *grads, double *loss,
                           void *user_data) {
  const float *x = (const float *)params[0].data;
  double l = 0.0;
  int64_t e;
  if (n != 1 || params[0].numel != 3 || params[0].dtype != FW_DTYPE_F32) {
    fw_set_callback_error("unexpected parameter layout");
    return FW_ERR_INVALID_ARGUMENT;
  }
  for (e = 0; e < 3; ++e) {
    const double d = (double)x[e] - kTarget[e];
    l += 0.5 * d * d;
    if (grads) ((float *)grads[0].data)[e] = (float)d;
  }
  *loss = l;
  ++*(int *)user_data;
  return FW_OK;
}

static void path_join(char *out, size_t size, const char *dir, const char *name) {
  snprintf(out, size, "%s/%s", dir, name);
}

static int save_vector(const char *path, float a, float b, float c) {
  static const int64_t shape[1] = {3};
  float values[3];
  fw_tensor t;
  memset(&t, 0, sizeof t); /* device FW_DEVICE_TYPE_CPU, reserved words zero */
  values[0] = a;
  values[1] = b;
  values[2] = c;
  t.name = "w";
  t.dtype = FW_DTYPE_F32;
  t.ndim = 1;
  t.shape = shape;
  t.numel = 3;
  t.data = values;
  return fw_save_tensors(path, &t, 1, FW_DTYPE_F32, NULL, 0) == FW_OK;
}

static int current_equals(const fw_solver *solver, float a, float b, float c) {
  const fw_tensor *views = NULL;
  size_t n = 0;
  const float *x;
  if (fw_solver_current(solver, &views, &n) != FW_OK || n != 1 || views[0].numel != 3) return 0;
  x = (const float *)views[0].data;
  return x[0] == a && x[1] == b && x[2] == c;
}

static void check_step(const fw_step_info *info, int t, double loss, double gap, double gamma,
                       int chosen, int evaluations, double loss_after, int converged) {
  CHECK(info->iteration == t);
  CHECK(info->loss == loss);
  CHECK(info->gap == gap);
  CHECK(info->converged == converged);
  CHECK(info->n_blocks == 1);
  CHECK(info->k == 1);
  CHECK(info->chosen != NULL && info->chosen[0] == chosen);
  CHECK(info->leaves_hull == 0);
  if (!converged) {
    CHECK(info->gamma == gamma);
    CHECK(info->lambdas != NULL && info->lambdas[0] == gamma);
    CHECK(info->evaluations == evaluations);
    CHECK(info->loss_after == loss_after);
  }
}

/* Size of the file, and its 8-byte little-endian header length. */
static int file_layout(const char *path, long *size, unsigned long long *header_len,
                       float last3[3]) {
  unsigned char len_bytes[8];
  FILE *f = fopen(path, "rb");
  int i;
  if (!f) return 0;
  if (fread(len_bytes, 1, 8, f) != 8) {
    fclose(f);
    return 0;
  }
  *header_len = 0;
  for (i = 7; i >= 0; --i) *header_len = (*header_len << 8) | len_bytes[i];
  if (fseek(f, 0, SEEK_END) != 0) {
    fclose(f);
    return 0;
  }
  *size = ftell(f);
  if (*size < 12 || fseek(f, *size - 12, SEEK_SET) != 0 || fread(last3, 4, 3, f) != 3) {
    fclose(f);
    return 0;
  }
  fclose(f);
  return 1;
}

int main(int argc, char **argv) {
  char base[1024], member[3][1024], out[1024], bad_out[1024];
  fw_solver *solver = NULL;
  fw_params params = fw_default_params();
  fw_step_info info;
  int evaluations = 0, i, index = -1;
  long size = 0;
  unsigned long long header_len = 0;
  float tail[3] = {-1, -1, -1};

  if (argc != 2) {
    fprintf(stderr, "usage: %s WORK_DIR\n", argv[0]);
    return 2;
  }
  CHECK(strcmp(fw_version(), FW_VERSION_STRING) == 0);
  CHECK(strcmp(fw_status_name(FW_ERR_STATE), "FW_ERR_STATE") == 0);
  CHECK(strcmp(fw_status_name(FW_OK), "FW_OK") == 0);

  path_join(base, sizeof base, argv[1], "base.safetensors");
  path_join(member[0], sizeof member[0], argv[1], "e1.safetensors");
  path_join(member[1], sizeof member[1], argv[1], "e2.safetensors");
  path_join(member[2], sizeof member[2], argv[1], "e3.safetensors");
  path_join(out, sizeof out, argv[1], "merged.safetensors");
  path_join(bad_out, sizeof bad_out, argv[1], "no_such_dir/merged.safetensors");
  CHECK(save_vector(base, 0, 0, 0));
  CHECK(save_vector(member[0], 1, 0, 0));
  CHECK(save_vector(member[1], 0, 1, 0));
  CHECK(save_vector(member[2], 0, 0, 1));

  /* NULL out-pointer: an argument error with a message, no crash. */
  CHECK(fw_solver_new(&params, NULL) == FW_ERR_INVALID_ARGUMENT);
  CHECK(fw_last_error()[0] != '\0');
  fw_solver_free(NULL);

  params.epsilon = 1e-9;
  CHECK(fw_solver_new(&params, &solver) == FW_OK);
  if (!solver) return 1;
  CHECK(fw_solver_pool_add(solver, member[0], NULL) == FW_ERR_STATE); /* no base yet */
  CHECK(fw_last_error()[0] != '\0');
  CHECK(fw_solver_set_base(solver, base) == FW_OK);
  for (i = 0; i < 3; ++i) {
    CHECK(fw_solver_pool_add(solver, member[i], &index) == FW_OK);
    CHECK(index == i);
  }
  CHECK(fw_solver_pool_size(solver) == 3);
  CHECK(fw_solver_step(solver, NULL) == FW_ERR_STATE); /* no objective yet */
  CHECK(strstr(fw_last_error(), "objective") != NULL);
  CHECK(fw_solver_history_size(solver) == 0);
  CHECK(fw_solver_set_objective_callback(solver, quadratic, &evaluations) == FW_OK);

  memset(&info, 0, sizeof info);
  info.struct_size = sizeof info;
  CHECK(fw_solver_step(solver, &info) == FW_OK);
  check_step(&info, 0, 1.0, 1.0, 1.0, 0, 2, 0.5, 0);
  CHECK(current_equals(solver, 1.0f, 0.0f, 0.0f));
  CHECK(fw_solver_step(solver, &info) == FW_OK);
  check_step(&info, 1, 0.5, 1.0, 0.5, 1, 3, 0.25, 0);
  CHECK(current_equals(solver, 0.5f, 0.5f, 0.0f));
  CHECK(fw_solver_step(solver, &info) == FW_OK);
  check_step(&info, 2, 0.25, 0.0, 0.0, 0, 1, 0.25, 1);
  CHECK(current_equals(solver, 0.5f, 0.5f, 0.0f));
  CHECK(evaluations == 2 + 3 + 1);
  /* fw_solver_run after convergence takes no step and reports the converged one. */
  CHECK(fw_solver_run(solver, &info) == FW_OK);
  CHECK(info.converged == 1 && fw_solver_history_size(solver) == 3);
  CHECK(fw_solver_history_get(solver, 1, &info) == FW_OK);
  CHECK(info.gamma == 0.5 && info.chosen[0] == 1);
  CHECK(fw_solver_history_get(solver, 3, &info) == FW_ERR_INVALID_ARGUMENT);

  /* Export (base dtype F32): 8-byte length, header, then exactly the 12 bytes of theta. */
  CHECK(fw_solver_export(solver, out, NULL) == FW_OK);
  CHECK(file_layout(out, &size, &header_len, tail));
  CHECK(header_len % 8 == 0);
  CHECK((unsigned long long)size == 8 + header_len + 12);
  CHECK(tail[0] == 0.5f && tail[1] == 0.5f && tail[2] == 0.0f);

  CHECK(fw_solver_export(solver, bad_out, NULL) == FW_ERR_IO);
  CHECK(fw_last_error()[0] != '\0');
  CHECK(strcmp(fw_status_name(FW_ERR_IO), "FW_ERR_IO") == 0);
  CHECK(strstr(fw_last_error(), "no_such_dir") != NULL); /* the message names the path */
  CHECK(fw_solver_pool_size(solver) == 3 &&
        fw_solver_history_size(solver) == 3); /* nothing changed */

  fw_solver_free(solver);
  if (failures) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  printf("closed_form_merge: all checks passed\n");
  return 0;
}
