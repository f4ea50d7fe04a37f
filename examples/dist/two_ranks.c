/* One rank of a sharded FW merge (include/fwmerge.h, "tensor-sharded solving"): start it once per
 * rank, all with the same rendezvous, pool and arguments. Each rank holds only its shard of the
 * merged tensors: its objective sees only those (by name) and returns their part of
 * l(theta) = 1/2 ||theta - target||^2 (FW_DIST_LOSS_SUM); every rank takes the same steps, and
 * fw_solver_export writes one shard file per rank plus the index (rank 0) into OUT_DIR.
 * usage: fw_example_dist RANK WORLD RENDEZVOUS POOL_DIR OUT_DIR
 *   e.g. fw_example_dist 0 2 tcp://127.0.0.1:29511 pool out & fw_example_dist 1 2 ... ; wait
 * POOL_DIR: the pool of examples/c (fw_example_make_pool). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fwmerge.h"

/* The target of element i of the tensor called `name`: from the name, not the tensor's position,
 * which differs between ranks. */
static float target(const char *name, int64_t i) {
  unsigned h = 0;
  for (const char *c = name; *c; ++c) h = h * 31u + (unsigned char)*c;
  return (float)((int)((h + (unsigned)i * 7u) % 11u) - 5) * 0.125f;
}

static fw_status shard_loss(const fw_tensor *params, size_t n, fw_tensor *grads, double *loss,
                            void *user_data) {
  double total = 0.0;
  (void)user_data;
  for (size_t j = 0; j < n; ++j) {
    const float *theta = (const float *)params[j].data;
    for (int64_t i = 0; i < params[j].numel; ++i) {
      float d = theta[i] - target(params[j].name, i);
      total += 0.5 * (double)d * (double)d;
      if (grads) ((float *)grads[j].data)[i] = d;
    }
  }
  *loss = total;
  return FW_OK;
}

static int check(int rank, fw_status status, const char *what) {
  if (status == FW_OK) return 0;
  fprintf(stderr, "rank %d: %s failed: %s: %s\n", rank, what, fw_status_name(status),
          fw_last_error());
  return 1;
}

int main(int argc, char **argv) {
  char path[4096];
  fw_solver *solver = NULL;
  fw_params params = fw_default_params();
  fw_dist_params dist = fw_default_dist_params();
  fw_step_info info;
  const fw_tensor *views = NULL;
  size_t n = 0;
  int failed;
  if (argc != 6) {
    fprintf(stderr, "usage: %s RANK WORLD RENDEZVOUS POOL_DIR OUT_DIR\n", argv[0]);
    return 2;
  }
  dist.rank = atoi(argv[1]);
  dist.world_size = atoi(argv[2]);
  dist.rendezvous = argv[3];
  dist.loss = FW_DIST_LOSS_SUM;
  dist.timeout_ms = 30000;
  info.struct_size = sizeof info;
  params.max_iters = 10;
  params.granularity = FW_GRANULARITY_LAYERWISE;
  if (check(dist.rank, fw_solver_new(&params, &solver), "fw_solver_new")) return 1;
  /* Before fw_solver_set_base: blocks until every rank has joined. */
  failed = check(dist.rank, fw_solver_set_distributed(solver, &dist), "fw_solver_set_distributed");
  snprintf(path, sizeof path, "%s/base.safetensors", argv[4]);
  if (!failed) failed = check(dist.rank, fw_solver_set_base(solver, path), "fw_solver_set_base");
  for (int m = 0; m < 4 && !failed; ++m) {
    snprintf(path, sizeof path, "%s/member%d.safetensors", argv[4], m);
    failed = check(dist.rank, fw_solver_pool_add(solver, path, NULL), "fw_solver_pool_add");
  }
  if (!failed) {
    fw_solver_current(solver, &views, &n);
    for (size_t t = 0; t < n; ++t) printf("rank %d holds %s\n", dist.rank, views[t].name);
  }
  if (!failed)
    failed =
        check(dist.rank, fw_solver_set_objective_callback(solver, shard_loss, NULL), "objective");
  if (!failed) failed = check(dist.rank, fw_solver_run(solver, &info), "fw_solver_run");
  if (!failed)
    printf("rank %d: %d steps, loss %.6f (every rank prints the same)\n", dist.rank,
           fw_solver_history_size(solver), info.loss_after);
  if (!failed)
    failed = check(dist.rank, fw_solver_export(solver, argv[5], NULL), "fw_solver_export");
  fw_solver_free(solver);
  return failed;
}
