// C entry points that change process-wide state, and only when the host calls them.
#include <ATen/Parallel.h>

#include "capi/guard.h"
#include "util/error.h"
#include "util/malloc_tuning.h"

using fw::capi::guard;

extern "C" {

FW_API fw_status fw_set_torch_threads(int32_t n) {
  return guard([&] {
    FW_REQUIRE_ARG(n >= 1, "fw_set_torch_threads: n must be >= 1, got " + std::to_string(n));
    at::set_num_threads(n);
  });
}

FW_API fw_status fw_set_malloc_mmap_threshold(uint64_t bytes) {
  return guard([&] { fw::set_malloc_mmap_threshold(bytes); });
}

}  // extern "C"
