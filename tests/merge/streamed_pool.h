// The merge tests' common fixture: a base and members written as safetensors files and opened as
// checkpoints, and the check that a streamed merge equals a reference computed on the whole loaded
// tensors, byte for byte. Each test file keeps its own tensor shapes and its own reference (the
// method's merge_tensor, or geometric_merge in a reduced dtype).
#pragma once

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "io/checkpoint.h"
#include "merge/merge_spec.h"
#include "merge/streaming.h"
#include "merge_test_util.h"
#include "test_support.h"
#include "util/thread_scope.h"

namespace mt {

struct PoolFiles {
  std::string dir;
  std::unique_ptr<fw::Checkpoint> base;
  std::vector<std::unique_ptr<fw::Checkpoint>> members;
  std::vector<const fw::Checkpoint *> pool() const {
    std::vector<const fw::Checkpoint *> out;
    for (const auto &m : members) out.push_back(m.get());
    return out;
  }
};

// The whole-tensor merge a streamed tensor must equal: tensor index, name, the base's and the
// members' tensors loaded in fp32.
using WholeMerge =
    std::function<at::Tensor(size_t index, const std::string &name, const at::Tensor &base,
                             const std::vector<at::Tensor> &members)>;

// Every tensor of merge_streaming(spec) over f, with `threads` threads, equals whole(...) bytewise;
// `also` (when set) adds a check of each streamed tensor.
inline void expect_streamed_equals(
    const fw::MergeSpec &spec, const PoolFiles &f, int threads, const WholeMerge &whole,
    const std::function<void(const std::string &, const at::Tensor &)> &also = {}) {
  fw::ThreadScope scope(threads);
  std::vector<at::Tensor> streamed;
  fw::merge_streaming(spec, *f.base, f.pool(),
                      [&](size_t, const fw::TensorMeta &, at::Tensor t) { streamed.push_back(t); });
  const auto &metas = f.base->tensors();
  ASSERT_EQ(streamed.size(), metas.size());
  for (size_t t = 0; t < metas.size(); ++t) {
    std::vector<at::Tensor> members;
    for (const auto &m : f.members) members.push_back(m->load_f32(metas[t].name));
    const at::Tensor expected = whole(t, metas[t].name, f.base->load_f32(metas[t].name), members);
    EXPECT_TRUE(same_bytes(streamed[t], expected))
        << fw::merge_method_name(spec.method) << " tensor " << metas[t].name << " threads "
        << threads << " max |diff| " << (streamed[t] - expected).abs().max().item<float>();
    if (also) also(metas[t].name, streamed[t]);
  }
}

}  // namespace mt
