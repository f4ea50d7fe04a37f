/*
 * Resume across processes (fw_solver_state_save / fw_solver_state_load), driven by
 * tests/c/resume.cmake: resume_run pool   DIR               writes DIR/base.safetensors and
 * DIR/m0..m3.safetensors resume_run full   DIR LMO OUT       T steps, export OUT resume_run half
 * DIR LMO STATE     T/2 steps, save STATE resume_run resume DIR LMO STATE OUT load STATE, steps up
 * to T in total, export OUT LMO is "hard" (layer-wise, line search) or "soft" (layer-wise, capped
 * simplex, TIES merge function: seeded by the iteration). The script checks that OUT of "full" and
 * of "resume" are the same bytes.
 */
#include <fwmerge.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T_STEPS 6
#define N_MEMBERS 4

static const char *kNames[3] = {"layer0.weight", "layer0.bias", "layer1.weight"};
static const int64_t kShapes[3][2] = {{8, 5}, {8, 1}, {3, 8}};
static const int32_t kNdim[3] = {2, 1, 2};

static int fail(const char *what) {
  fprintf(stderr, "resume_run: %s failed: %s\n", what, fw_last_error());
  return 1;
}

static int64_t numel(int t) { return kShapes[t][0] * (kNdim[t] == 2 ? kShapes[t][1] : 1); }

static int write_model(const char *dir, const char *file, int member) {
  float data[3][40];
  fw_tensor views[3];
  char path[4096];
  int t;
  int64_t i;
  memset(views, 0, sizeof views); /* device FW_DEVICE_TYPE_CPU, reserved words zero */
  for (t = 0; t < 3; ++t) {
    for (i = 0; i < numel(t); ++i) {
      /* deterministic, distinct per member and entry */
      const unsigned h = (unsigned)(i * 2654435761u + (unsigned)(t * 97 + member * 31));
      data[t][i] = (member < 0 ? 0.0f : 0.25f) * ((float)(h % 1000) / 500.0f - 1.0f);
    }
    views[t].name = kNames[t];
    views[t].dtype = FW_DTYPE_F32;
    views[t].ndim = kNdim[t];
    views[t].shape = kShapes[t];
    views[t].numel = numel(t);
    views[t].data = data[t];
  }
  snprintf(path, sizeof path, "%s/%s", dir, file);
  return fw_save_tensors(path, views, 3, FW_DTYPE_F32, NULL, 0) == FW_OK ? 0 : fail("save");
}

/* l = 1/2 ||theta - 0.05||^2 + 0.1 sum theta^3 / 3 (not quadratic: the line search backtracks). */
static fw_status objective(const fw_tensor *params, size_t n, fw_tensor *grads, double *loss,
                           void *user_data) {
  double l = 0;
  size_t j;
  int64_t i;
  (void)user_data;
  for (j = 0; j < n; ++j) {
    const float *x = (const float *)params[j].data;
    for (i = 0; i < params[j].numel; ++i) {
      const double d = (double)x[i] - 0.05;
      l += 0.5 * d * d + 0.1 * (double)x[i] * x[i] * x[i] / 3.0;
      if (grads) ((float *)grads[j].data)[i] = (float)(d + 0.1 * (double)x[i] * x[i]);
    }
  }
  *loss = l;
  return FW_OK;
}

static fw_solver *give_up(fw_solver *s, const char *what) {
  fail(what);
  fw_solver_free(s); /* NULL is a no-op */
  return NULL;
}

static fw_solver *setup(const char *dir, const char *lmo) {
  fw_params p = fw_default_params();
  fw_solver *s = NULL;
  char path[4096];
  int i;
  p.granularity = FW_GRANULARITY_LAYERWISE;
  p.max_iters = T_STEPS;
  p.epsilon = 0;
  p.threads = 1;
  if (strcmp(lmo, "soft") == 0) {
    p.lmo = FW_LMO_SOFT;
    p.soft_solver = FW_SOFT_SOLVER_CAPPED;
    p.soft_iters = 4;
  }
  if (fw_solver_new(&p, &s) != FW_OK) return give_up(NULL, "fw_solver_new");
  snprintf(path, sizeof path, "%s/base.safetensors", dir);
  if (fw_solver_set_base(s, path) != FW_OK) return give_up(s, "fw_solver_set_base");
  for (i = 0; i < N_MEMBERS; ++i) {
    snprintf(path, sizeof path, "%s/m%d.safetensors", dir, i);
    if (fw_solver_pool_add(s, path, NULL) != FW_OK) return give_up(s, "fw_solver_pool_add");
  }
  if (strcmp(lmo, "soft") == 0) {
    fw_merge_params mp = fw_default_merge_params(FW_MERGE_METHOD_TIES);
    mp.density = 0.5;
    if (fw_solver_set_merge_function(s, &mp) != FW_OK)
      return give_up(s, "fw_solver_set_merge_function");
  }
  if (fw_solver_set_objective_callback(s, objective, NULL) != FW_OK)
    return give_up(s, "fw_solver_set_objective_callback");
  return s;
}

static int steps(fw_solver *s, int n) {
  int i;
  for (i = 0; i < n; ++i)
    if (fw_solver_step(s, NULL) != FW_OK) return fail("fw_solver_step");
  return 0;
}

int main(int argc, char **argv) {
  fw_solver *s;
  int rc = 0;
  if (argc == 3 && strcmp(argv[1], "pool") == 0) {
    int i;
    char file[64];
    if (write_model(argv[2], "base.safetensors", -1)) return 1;
    for (i = 0; i < N_MEMBERS; ++i) {
      snprintf(file, sizeof file, "m%d.safetensors", i);
      if (write_model(argv[2], file, i)) return 1;
    }
    return 0;
  }
  if (argc < 5) {
    fprintf(stderr, "usage: see the comment at the top of resume_run.c\n");
    return 2;
  }
  s = setup(argv[2], argv[3]);
  if (!s) return 1;
  if (strcmp(argv[1], "full") == 0) {
    rc = steps(s, T_STEPS);
    if (!rc && fw_solver_export(s, argv[4], NULL) != FW_OK) rc = fail("fw_solver_export");
  } else if (strcmp(argv[1], "half") == 0) {
    rc = steps(s, T_STEPS / 2);
    if (!rc && fw_solver_state_save(s, argv[4]) != FW_OK) rc = fail("fw_solver_state_save");
  } else if (strcmp(argv[1], "resume") == 0 && argc == 6) {
    if (fw_solver_state_load(s, argv[4]) != FW_OK) {
      rc = fail("fw_solver_state_load");
    } else if (fw_solver_history_size(s) != T_STEPS / 2) {
      fprintf(stderr, "resume_run: loaded %d steps\n", (int)fw_solver_history_size(s));
      rc = 1;
    } else if (fw_solver_run(s, NULL) != FW_OK) { /* max_iters = T in total */
      rc = fail("fw_solver_run");
    } else if (fw_solver_history_size(s) != T_STEPS) {
      fprintf(stderr, "resume_run: %d steps after fw_solver_run\n", (int)fw_solver_history_size(s));
      rc = 1;
    } else if (fw_solver_export(s, argv[5], NULL) != FW_OK) {
      rc = fail("fw_solver_export");
    }
  } else {
    fprintf(stderr, "resume_run: unknown mode %s\n", argv[1]);
    rc = 2;
  }
  fw_solver_free(s);
  return rc;
}
