// Keeps peak RSS a function of the buffers the solver holds, not of heap fragmentation.
#pragma once

namespace fw {

// glibc raises its mmap threshold whenever a large mmapped block is freed, after which tensor-sized
// buffers come from the brk heap, whose high-water mark then depends on allocation order (measured:
// +24 % peak RSS at 32 vs 4 checkpoints with identical live buffers). Pinning the threshold at 1
// MiB makes every tensor-sized buffer its own mapping, returned to the OS on free. Idempotent;
// no-op where glibc's mallopt is unavailable.
void pin_malloc_mmap_threshold();

}  // namespace fw
