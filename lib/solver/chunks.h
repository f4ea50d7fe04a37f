// Model-sized arithmetic done chunk by chunk in fp32, whatever the working dtype and device: the
// FW updates (line-search trial, next iterate, soft-FW point) and the inner products. Vertices
// stream from disk through one chunk-sized buffer, so an update holds the output tensor and a few
// chunks, not fp32 copies of whole tensors.
#pragma once

#include <ATen/ATen.h>

#include <functional>
#include <string>
#include <vector>

#include "io/checkpoint.h"
#include "solver/placement.h"

namespace fw {

// One vertex tensor as an update reads it: streamed from a checkpoint, or resident (soft-FW
// candidates kept within the memory budget; any dtype and device).
struct Source {
  const Checkpoint *checkpoint = nullptr;
  at::Tensor resident;
};

// Elements per chunk of the updates and inner products: 512 KiB of fp32, so that the few
// temporaries of a chunk stay below the 1 MiB mmap threshold fw_set_malloc_mmap_threshold
// recommends and come from the heap, reused. At 4 MiB (0.3.0 before this) each temporary was a
// fresh mmap: 3.6 M minor page faults for one schedule step of a 0.3 G-parameter model.
constexpr int64_t kUpdateChunk = int64_t{1} << 17;

// fn(theta chunk, source chunks) -> result chunk, all fp32 on theta's device; fn must not write
// to its arguments.
using ChunkFn =
    std::function<at::Tensor(const at::Tensor &theta, const std::vector<at::Tensor> &sources)>;

// A new tensor shaped like theta, in placement `p`, whose elements are fn over matching chunks of
// theta and of tensor `name` of each source. chunk = 0: one chunk, the whole tensor (merge
// functions that are not elementwise). `poll` runs before each chunk (abort, interrupt).
at::Tensor map_chunks(const at::Tensor &theta, const std::vector<Source> &sources,
                      const std::string &name, int64_t chunk, const Placement &p, const ChunkFn &fn,
                      const std::function<void()> &poll);

// <a, b> in fp32 chunks, summed in double (a, b: same numel, any float dtype, same device).
double dot_f32(const at::Tensor &a, const at::Tensor &b);

// <a, source tensor `name`>, reading the source chunk by chunk like map_chunks.
double dot_source(const at::Tensor &a, const Source &source, const std::string &name,
                  const std::function<void()> &poll);

}  // namespace fw
