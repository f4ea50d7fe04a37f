// Streams a data-free merge over checkpoints: for each base tensor, the base and the n members'
// tensors are read (Checkpoint::load_f32), each member is reduced to its prepared form and its
// raw tensor dropped at once, then the prepared tensors are combined. Resident: O(n x largest
// tensor) plus whatever the sink keeps.
#pragma once

#include <ATen/ATen.h>

#include <cstddef>
#include <functional>
#include <vector>

#include "io/checkpoint.h"
#include "merge/merge_spec.h"

namespace fw {

// Receives each merged fp32 tensor (fresh, not aliasing any mapping), in base order.
using MergedSink = std::function<void(size_t index, const TensorMeta &meta, at::Tensor merged)>;

// Members must have been checked against the base (check_compatible). Sets the ATen thread count to
// spec.threads for the duration when it is > 0.
void merge_streaming(const MergeSpec &spec, const Checkpoint &base,
                     const std::vector<const Checkpoint *> &pool, const MergedSink &sink);

}  // namespace fw
