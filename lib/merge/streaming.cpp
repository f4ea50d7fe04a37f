#include "merge/streaming.h"

#include "merge/methods.h"
#include "util/error.h"
#include "util/thread_scope.h"

namespace fw {

void merge_streaming(const MergeSpec &spec, const Checkpoint &base,
                     const std::vector<const Checkpoint *> &pool, const MergedSink &sink) {
  if (pool.empty()) fail(FW_ERR_INVALID_ARGUMENT, "merge: the pool is empty");
  if (spec.method == FW_MERGE_MODEL_STOCK && pool.size() < 2)
    fail(FW_ERR_INVALID_ARGUMENT, "model_stock needs at least 2 pool members, got 1");
  if (!spec.weights.empty() && spec.weights.size() != pool.size())
    fail(FW_ERR_INVALID_ARGUMENT, "merge: " + std::to_string(spec.weights.size()) +
                                      " weights for " + std::to_string(pool.size()) + " members");
  ThreadScope threads(spec.threads);
  const std::vector<TensorMeta> &metas = base.tensors();
  for (size_t t = 0; t < metas.size(); ++t) {
    const TensorMeta &meta = metas[t];
    poll(spec.stop);
    const at::Tensor theta0 = base.load_f32(meta.name);
    std::vector<at::Tensor> prepared;
    prepared.reserve(pool.size());
    for (size_t i = 0; i < pool.size(); ++i) {
      if (i > 0) poll(spec.stop);
      const at::Tensor member = pool[i]->load_f32(meta.name);
      prepared.push_back(prepare_member(spec, theta0, member, t, i));
    }
    at::Tensor merged = combine_members(spec, theta0, prepared);
    prepared.clear();
    sink(t, meta, std::move(merged));
  }
}

}  // namespace fw
