/* The CUDA path checked against the CPU path: the same merges (hard FW with line search and with
 * the schedule, soft FW, layer-wise; F32 and BF16 working copies) on FW_DEVICE_TYPE_CUDA and on the
 * CPU choose the same vertices and end at the same iterate within fp32 rounding (BF16: within
 * 16-bit rounding). A standalone C program over the public API, without GoogleTest, so that
 * scripts/gpu-check.sh can build it on a GPU machine that has none.
 *
 *   fw_cuda_check [DIR]     exit 0: all checks passed; 1: a check failed; 77: no CUDA (skipped)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fwmerge.h"

/* The big tensor spans several 32 MiB chunks of the GPU stream (BF16 file: 16 M elements each). */
#define BIG (20 * 1000 * 1000 + 17)
#define N_MEMBERS 3

static int failures = 0;

static void check(int ok, const char *what) {
  printf("%s %s\n", ok ? "ok  " : "FAIL", what);
  if (!ok) ++failures;
}

static float bf16_to_f32(uint16_t bits) {
  uint32_t x = (uint32_t)bits << 16;
  float f;
  memcpy(&f, &x, sizeof f);
  return f;
}

static uint16_t f32_to_bf16(float f) {
  uint32_t x;
  memcpy(&x, &f, sizeof x);
  x += 0x7FFFu + ((x >> 16) & 1u); /* round to nearest even (finite values) */
  return (uint16_t)(x >> 16);
}

static float get(const fw_tensor *t, int64_t e) {
  return t->dtype == FW_DTYPE_BF16 ? bf16_to_f32(((const uint16_t *)t->data)[e])
                                   : ((const float *)t->data)[e];
}

static void set(fw_tensor *t, int64_t e, float v) {
  if (t->dtype == FW_DTYPE_BF16)
    ((uint16_t *)t->data)[e] = f32_to_bf16(v);
  else
    ((float *)t->data)[e] = v;
}

/* Deterministic values in [-1, 1): member m, element e. */
static float value(int m, int64_t e) {
  uint64_t z = (uint64_t)e * 0x9E3779B97F4A7C15ull + (uint64_t)(m + 2) * 0xBF58476D1CE4E5B9ull;
  z ^= z >> 31;
  z *= 0x94D049BB133111EBull;
  z ^= z >> 29;
  return (float)((double)(z >> 40) / (double)(1ull << 23)) - 1.0f;
}

/* l = 1/2 sum (x - target)^2 with target = 0.3 * value(7, e): every tensor in host memory. */
static fw_status quadratic(const fw_tensor *params, size_t n, fw_tensor *grads, double *loss,
                           void *user_data) {
  (void)user_data;
  double l = 0;
  for (size_t t = 0; t < n; ++t) {
    if (params[t].device != FW_DEVICE_TYPE_CPU) {
      fw_set_callback_error("view not in host memory");
      return FW_ERR_INVALID_ARGUMENT;
    }
    for (int64_t e = 0; e < params[t].numel; ++e) {
      const double d = (double)get(&params[t], e) - 0.3 * (double)value(7 + (int)t, e);
      l += 0.5 * d * d;
      if (grads) set(&grads[t], e, (float)d);
    }
  }
  *loss = l;
  return FW_OK;
}

/* Records the device of the views it is given and fails the evaluation. */
static fw_status device_probe(const fw_tensor *params, size_t n, fw_tensor *grads, double *loss,
                              void *user_data) {
  (void)n;
  (void)grads;
  (void)loss;
  *(fw_device_type *)user_data = params[0].device;
  fw_set_callback_error("probe");
  return FW_ERR_IO;
}

static const char *names[3] = {"big", "layer.0.weight", "layer.1.weight"};
static const int64_t numels[3] = {BIG, 20, 6};

static int write_model(const char *path, int m, float *scratch) {
  static const int64_t shape_big[1] = {BIG}, shape_a[2] = {4, 5}, shape_b[2] = {2, 3};
  const int64_t *shapes[3] = {shape_big, shape_a, shape_b};
  const int32_t ndims[3] = {1, 2, 2};
  fw_tensor t[3];
  memset(t, 0, sizeof t);
  int64_t offset = 0;
  for (int i = 0; i < 3; ++i) {
    for (int64_t e = 0; e < numels[i]; ++e) scratch[offset + e] = m < 0 ? 0.0f : value(m, e + i);
    t[i].name = names[i];
    t[i].dtype = FW_DTYPE_F32;
    t[i].ndim = ndims[i];
    t[i].shape = shapes[i];
    t[i].numel = numels[i];
    t[i].data = scratch + offset;
    offset += numels[i];
  }
  return fw_save_tensors(path, t, 3, FW_DTYPE_BF16, NULL, 0) == FW_OK;
}

struct config {
  const char *name;
  fw_lmo lmo;
  fw_step_rule rule;
  fw_granularity granularity;
  fw_dtype dtype;
};

/* Runs `steps` steps; copies theta (as float) and the chosen vertices out. */
static int run(const char *dir, const struct config *c, fw_device_type device, float *theta,
               int32_t *chosen, int *n_chosen) {
  char path[4096];
  fw_params p = fw_default_params();
  p.lmo = c->lmo;
  p.step_rule = c->rule;
  p.granularity = c->granularity;
  p.work_dtype = c->dtype;
  p.device = device;
  p.host_views = 1;
  p.threads = 4;
  fw_solver *s = NULL;
  if (fw_solver_new(&p, &s) != FW_OK) return 0;
  snprintf(path, sizeof path, "%s/base.safetensors", dir);
  int ok = fw_solver_set_base(s, path) == FW_OK;
  for (int m = 0; ok && m < N_MEMBERS; ++m) {
    snprintf(path, sizeof path, "%s/member%d.safetensors", dir, m);
    ok = fw_solver_pool_add(s, path, NULL) == FW_OK;
  }
  ok = ok && fw_solver_set_objective_callback(s, quadratic, NULL) == FW_OK;
  *n_chosen = 0;
  for (int step = 0; ok && step < 3; ++step) {
    fw_step_info info;
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    ok = fw_solver_step(s, &info) == FW_OK;
    for (int j = 0; ok && j < info.n_blocks * info.k && *n_chosen < 64; ++j)
      chosen[(*n_chosen)++] = info.chosen[j];
  }
  const fw_tensor *views = NULL;
  size_t n = 0;
  ok = ok && fw_solver_current(s, &views, &n) == FW_OK && n == 3;
  int64_t offset = 0;
  for (size_t t = 0; ok && t < n; ++t) {
    ok = views[t].device == FW_DEVICE_TYPE_CPU && views[t].dtype == c->dtype;
    for (int64_t e = 0; ok && e < views[t].numel; ++e) theta[offset + e] = get(&views[t], e);
    offset += views[t].numel;
  }
  if (!ok) fprintf(stderr, "  %s: %s\n", c->name, fw_last_error());
  fw_solver_free(s);
  return ok;
}

int main(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : "fw_cuda_check_pool";
  fw_params probe = fw_default_params();
  probe.device = FW_DEVICE_TYPE_CUDA;
  fw_solver *s = NULL;
  if (fw_solver_new(&probe, &s) != FW_OK) {
    printf("skipped: %s\n", fw_last_error());
    return 77;
  }
  fw_solver_free(s);

  probe.device_index = 4096;
  check(fw_solver_new(&probe, &s) == FW_ERR_INVALID_ARGUMENT && s == NULL,
        "an ordinal past the last device is FW_ERR_INVALID_ARGUMENT");

  mkdir(dir, 0755);
  const int64_t total = numels[0] + numels[1] + numels[2];
  float *scratch = malloc(sizeof(float) * (size_t)total);
  float *a = malloc(sizeof(float) * (size_t)total), *b = malloc(sizeof(float) * (size_t)total);
  if (!scratch || !a || !b) return 1;
  char path[4096];
  snprintf(path, sizeof path, "%s/base.safetensors", dir);
  int ok = write_model(path, -1, scratch);
  for (int m = 0; ok && m < N_MEMBERS; ++m) {
    snprintf(path, sizeof path, "%s/member%d.safetensors", dir, m);
    ok = write_model(path, m, scratch);
  }
  check(ok, "pool written (BF16 files)");
  if (!ok) return 1;

  /* Views on the device by default: the callback sees FW_DEVICE_TYPE_CUDA. */
  {
    fw_params p = fw_default_params();
    p.device = FW_DEVICE_TYPE_CUDA;
    fw_solver *d = NULL;
    fw_device_type seen = FW_DEVICE_TYPE_CPU;
    snprintf(path, sizeof path, "%s/base.safetensors", dir);
    int fine = fw_solver_new(&p, &d) == FW_OK && fw_solver_set_base(d, path) == FW_OK;
    snprintf(path, sizeof path, "%s/member0.safetensors", dir);
    fine = fine && fw_solver_pool_add(d, path, NULL) == FW_OK &&
           fw_solver_set_objective_callback(d, device_probe, &seen) == FW_OK;
    fine = fine && fw_solver_step(d, NULL) == FW_ERR_CALLBACK && fw_solver_history_size(d) == 0;
    check(fine && seen == FW_DEVICE_TYPE_CUDA, "default views live on the device");
    fw_solver_free(d);
  }

  const struct config configs[] = {
      {"hard, line search, F32", FW_LMO_HARD, FW_STEP_RULE_LINE_SEARCH, FW_GRANULARITY_TASKWISE,
       FW_DTYPE_F32},
      {"hard, schedule, F32", FW_LMO_HARD, FW_STEP_RULE_SCHEDULE, FW_GRANULARITY_TASKWISE,
       FW_DTYPE_F32},
      {"soft, F32", FW_LMO_SOFT, FW_STEP_RULE_LINE_SEARCH, FW_GRANULARITY_TASKWISE, FW_DTYPE_F32},
      {"hard, layer-wise, F32", FW_LMO_HARD, FW_STEP_RULE_LINE_SEARCH, FW_GRANULARITY_LAYERWISE,
       FW_DTYPE_F32},
      {"hard, line search, BF16", FW_LMO_HARD, FW_STEP_RULE_LINE_SEARCH, FW_GRANULARITY_TASKWISE,
       FW_DTYPE_BF16},
      {"soft, BF16", FW_LMO_SOFT, FW_STEP_RULE_LINE_SEARCH, FW_GRANULARITY_TASKWISE, FW_DTYPE_BF16},
  };
  for (size_t i = 0; i < sizeof configs / sizeof configs[0]; ++i) {
    const struct config *c = &configs[i];
    int32_t chosen_cpu[64], chosen_gpu[64];
    int n_cpu = 0, n_gpu = 0;
    const int ran = run(dir, c, FW_DEVICE_TYPE_CPU, a, chosen_cpu, &n_cpu) &&
                    run(dir, c, FW_DEVICE_TYPE_CUDA, b, chosen_gpu, &n_gpu);
    double worst = 0;
    for (int64_t e = 0; ran && e < total; ++e) {
      const double d = fabs((double)a[e] - (double)b[e]) / (1.0 + fabs((double)a[e]));
      if (d > worst) worst = d;
    }
    /* fp32: reductions in another order (about 1e-7 relative per value; the line search's gamma
     * moves with them); BF16: one 16-bit rounding either way (2^-8). */
    const double tolerance = c->dtype == FW_DTYPE_F32 ? 1e-5 : 1.0 / 128;
    char what[256];
    snprintf(what, sizeof what, "%s: same vertices, max relative difference %.3g (<= %.3g)",
             c->name, worst, tolerance);
    check(ran && n_cpu == n_gpu &&
              memcmp(chosen_cpu, chosen_gpu, sizeof(int32_t) * (size_t)n_cpu) == 0 &&
              worst <= tolerance,
          what);
  }
  free(scratch);
  free(a);
  free(b);
  printf("%s\n", failures ? "FAILED" : "all CUDA checks passed");
  return failures ? 1 : 0;
}
