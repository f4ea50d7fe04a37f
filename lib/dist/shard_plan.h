// Which rank holds which merged tensor (include/fwmerge.h, "tensor-sharded solving"): a pure
// function of the tensor list and the world size, so every rank computes the same plan alone.
#pragma once

#include <vector>

#include "io/checkpoint.h"

namespace fw {

// rank_of[t] for each tensor of `tensors` (base order): largest first (bytes in the file dtype,
// ties by position) to the rank with the fewest bytes so far (ties to the lower rank). Greedy
// longest-processing-time: the heaviest rank holds at most 4/3 of the optimum. Every rank gets a
// tensor when world <= tensors.size(); Status::InvalidArgument otherwise.
std::vector<int> shard_plan(const std::vector<TensorMeta> &tensors, int world);

}  // namespace fw
