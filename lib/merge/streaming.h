// Streams a data-free merge over checkpoints inside each tensor: the base's and the members'
// tensors are read (pread, no mapping) in chunks of kMergeChunk elements into buffers reused
// across chunks, and each chunk of the result is handed on (to a file writer, or into an fp32
// tensor) as soon as it is computed. Resident per merge: O(n x chunk) for n members, whatever the
// tensor sizes, plus whatever the sink keeps. (Members that compute their tensors, PEFT adapters,
// are read whole once per tensor instead: O(tensor) each.)
//
// Methods that trim by magnitude (TIES, breadcrumbs) first run two selection passes over the
// chunks (lib/merge/magnitude_select.h) to find each member's exact threshold; model stock runs one
// pass for the Gram matrix of the task vectors. DELLA ranks magnitudes within groups along dim 1
// (merge/della.h), so its chunks are whole slabs (one index of dim 0: a row of a matrix), a slab
// alone when it is longer than kMergeChunk, and one pass first sums each member's L1 norms for
// the rescale. The result is bit-identical to merging the whole
// tensors (merge_tensor in methods.h) for any thread count: the same fp32 operations in the same
// order, the same tie rule at trim thresholds, the same DARE draws, the same blocked dot products.
#pragma once

#include <ATen/ATen.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "io/checkpoint.h"
#include "merge/merge_spec.h"

namespace fw {

// Elements per chunk (DELLA: whole slabs, see chunk_elements in streaming.cpp): 512 KiB of fp32 per
// buffer (below the 1 MiB mmap threshold that fw_set_malloc_mmap_threshold recommends, so
// temporaries come from the heap, reused), and a multiple of model stock's dot-product block.
constexpr int64_t kMergeChunk = int64_t{1} << 17;

// Receives consecutive chunks of one merged tensor, flattened, fp32: elements [begin, begin +
// merged.numel()). `merged` is only valid during the call.
using ChunkSink = std::function<void(int64_t begin, const at::Tensor &merged)>;

class StreamingMerge {
 public:
  // Checks the spec against the pool (count of weights, model stock's n >= 2). Members must have
  // been checked against the base (check_compatible). The references must outlive this object.
  StreamingMerge(const MergeSpec &spec, const Checkpoint &base,
                 const std::vector<const Checkpoint *> &pool);

  // Merges tensor `t` (base order) into `sink`, chunk by chunk in order. spec.stop is polled before
  // each chunk. Uses the current ATen thread count.
  void merge_tensor(size_t t, const ChunkSink &sink) const;

 private:
  const MergeSpec &spec_;
  const Checkpoint &base_;
  const std::vector<const Checkpoint *> &pool_;
};

// Receives each merged fp32 tensor (fresh, not aliasing any mapping), in base order.
using MergedSink = std::function<void(size_t index, const TensorMeta &meta, at::Tensor merged)>;

// Every tensor through StreamingMerge, each collected whole before `sink` gets it. Sets the ATen
// thread count to spec.threads for the duration when it is > 0.
void merge_streaming(const MergeSpec &spec, const Checkpoint &base,
                     const std::vector<const Checkpoint *> &pool, const MergedSink &sink);

}  // namespace fw
