/* Writes a small pool for the quadratic example: DIR/base.safetensors and
 * DIR/member0..3.safetensors (F32; tensors layer0.weight [4,3], layer0.bias [4], layer1.weight
 * [2,4]). Every binding's example merges this pool, so their exports can be compared byte for byte.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fwmerge.h"

#define N_TENSORS 3

static const char *names[N_TENSORS] = {"layer0.weight", "layer0.bias", "layer1.weight"};
static const int64_t shapes[N_TENSORS][2] = {{4, 3}, {4, 0}, {2, 4}};
static const int32_t ndims[N_TENSORS] = {2, 1, 2};

static int write_model(const char *dir, const char *file, int member) {
  float data[N_TENSORS][12];
  fw_tensor views[N_TENSORS];
  char path[4096];
  memset(views, 0, sizeof views); /* device FW_DEVICE_TYPE_CPU, reserved words zero */
  for (int j = 0; j < N_TENSORS; ++j) {
    int64_t numel = shapes[j][0] * (ndims[j] == 2 ? shapes[j][1] : 1);
    for (int64_t i = 0; i < numel; ++i) {
      float base = 0.01f * (float)((i * 5 + j) % 13) - 0.05f;
      float delta = member < 0 ? 0.0f : 0.1f * (float)(((i + 3 * member + j) % 7) - 3);
      data[j][i] = base + delta;
    }
    views[j].name = names[j];
    views[j].dtype = FW_DTYPE_F32;
    views[j].ndim = ndims[j];
    views[j].shape = shapes[j];
    views[j].numel = numel;
    views[j].data = data[j];
  }
  snprintf(path, sizeof path, "%s/%s", dir, file);
  if (fw_save_tensors(path, views, N_TENSORS, FW_DTYPE_F32, NULL, 0) != FW_OK) {
    fprintf(stderr, "make_pool: %s\n", fw_last_error());
    return 1;
  }
  return 0;
}

int main(int argc, char **argv) {
  char file[64];
  if (argc != 2) {
    fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  if (write_model(argv[1], "base.safetensors", -1)) return 1;
  for (int m = 0; m < 4; ++m) {
    snprintf(file, sizeof file, "member%d.safetensors", m);
    if (write_model(argv[1], file, m)) return 1;
  }
  return 0;
}
