#include "dist/shard_plan.h"

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <string>

#include "io/dtype.h"
#include "util/error.h"

namespace fw {

std::vector<int> shard_plan(const std::vector<TensorMeta> &tensors, int world) {
  if (world < 1) fail(Status::InvalidArgument, "[dist] world_size must be >= 1");
  if (static_cast<size_t>(world) > tensors.size())
    fail(Status::InvalidArgument, "[dist] " + std::to_string(world) + " ranks but only " +
                                      std::to_string(tensors.size()) +
                                      " merged tensors: every rank must hold one");
  std::vector<uint64_t> bytes(tensors.size());
  for (size_t t = 0; t < tensors.size(); ++t)
    bytes[t] = static_cast<uint64_t>(tensors[t].numel) *
               static_cast<uint64_t>(dtype_bits(tensors[t].dtype)) / 8;
  std::vector<size_t> order(tensors.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return bytes[a] > bytes[b]; });
  std::vector<uint64_t> load(static_cast<size_t>(world), 0);
  std::vector<int> rank_of(tensors.size(), 0);
  for (size_t t : order) {
    const auto lightest = std::min_element(load.begin(), load.end());  // first of the ties
    rank_of[t] = static_cast<int>(lightest - load.begin());
    *lightest += bytes[t];
  }
  return rank_of;
}

}  // namespace fw
