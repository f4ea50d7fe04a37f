// Keeps peak RSS a function of the buffers the solver holds, not of heap fragmentation, when the
// host asks for it (fw_set_malloc_mmap_threshold): it is a process-wide setting.
#pragma once

#include <cstdint>

namespace fw {

// glibc raises its mmap threshold whenever a large mmapped block is freed, after which tensor-sized
// buffers come from the brk heap, whose high-water mark then depends on allocation order (measured:
// +24 % peak RSS at 32 vs 4 checkpoints with identical live buffers). Pinning the threshold (1 MiB
// recommended) makes every tensor-sized buffer its own mapping, returned to the OS on free.
// Status::InvalidArgument above glibc's cap (32 MiB on 64-bit), Status::Unsupported without glibc
// or when another allocator (ASan's, jemalloc) has replaced malloc and refuses the setting.
void set_malloc_mmap_threshold(uint64_t bytes);

}  // namespace fw
