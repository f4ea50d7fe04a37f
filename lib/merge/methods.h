// The data-free methods on one tensor, in two phases so a streaming driver can drop each member's
// input as soon as it has been read: prepare() turns member i's fp32 tensor into what the method
// keeps of it (a sparsified task vector, or the member itself for linear), combine() merges the
// prepared tensors. Definitions: merge/merge_method.h (MergeMethod) and lib/merge/*.h.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

#include "merge/merge_spec.h"

namespace fw {

// A fresh fp32 tensor (never aliasing `member`); tensor_index (base order) and member_index (pool
// order) key DARE's draws.
at::Tensor prepare_member(const MergeSpec &spec, const at::Tensor &base, const at::Tensor &member,
                          uint64_t tensor_index, uint64_t member_index);

// The merged fp32 tensor from the base and the prepared tensors (pool order).
at::Tensor combine_members(const MergeSpec &spec, const at::Tensor &base,
                           const std::vector<at::Tensor> &prepared);
// The same on matching chunks of the base and the prepared tensors (every method's combine is
// elementwise once model stock's factor t is known from the whole tensors; other methods ignore
// it).
at::Tensor combine_chunk(const MergeSpec &spec, const at::Tensor &base,
                         const std::vector<at::Tensor> &prepared, double model_stock_t);

// Both phases on resident tensors.
at::Tensor merge_tensor(const MergeSpec &spec, const at::Tensor &base,
                        const std::vector<at::Tensor> &members, uint64_t tensor_index);

}  // namespace fw
