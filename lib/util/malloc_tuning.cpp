#include "util/malloc_tuning.h"

#include <string>

#include "util/error.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace fw {

void set_malloc_mmap_threshold(uint64_t bytes) {
#if defined(__GLIBC__)
  // glibc's HEAP_MAX_SIZE / 2 on 64-bit; mallopt refuses larger values.
  constexpr uint64_t kCap = uint64_t{32} << 20;
  if (bytes > kCap)
    fail(Status::InvalidArgument, "malloc mmap threshold " + std::to_string(bytes) +
                                      " is above glibc's cap of " + std::to_string(kCap));
  // In range, glibc accepts; a refusal means another allocator answers for malloc (ASan's,
  // jemalloc, tcmalloc), which has no such threshold.
  if (mallopt(M_MMAP_THRESHOLD, static_cast<int>(bytes)) != 1)
    fail(Status::Unsupported, "mallopt(M_MMAP_THRESHOLD, " + std::to_string(bytes) +
                                  ") was refused: malloc is not glibc's here (a sanitizer or "
                                  "another allocator replaced it)");
#else
  (void)bytes;
  fail(Status::Unsupported,
       "the malloc mmap threshold is a glibc setting; this C library lacks it");
#endif
}

}  // namespace fw
