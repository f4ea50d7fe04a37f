#include "merge/data_free.h"

#include <map>
#include <memory>

#include "io/safetensors_writer.h"
#include "merge/streaming.h"
#include "util/error.h"
#include "util/thread_scope.h"

namespace fw {

std::string data_free_recipe(const MergeSpec &spec, const std::string &base_path,
                             const std::vector<std::string> &pool_paths) {
  nlohmann::json recipe = {
      {"kind", "data_free"},      {"library", "fwmerge " FW_VERSION_STRING},
      {"merge", spec_json(spec)}, {"leaves_hull", method_leaves_hull(spec.method)},
      {"base", base_path},        {"pool", pool_paths}};
  return recipe.dump();
}

void merge_to_file(const MergeSpec &spec, const std::string &base_path,
                   const std::vector<std::string> &pool_paths, const std::string &out_path,
                   fw_dtype dtype, uint64_t max_shard_bytes) {
  if (dtype != FW_DTYPE_DEFAULT && dtype != FW_DTYPE_F32 && dtype != FW_DTYPE_F16 &&
      dtype != FW_DTYPE_BF16)
    fail(FW_ERR_INVALID_ARGUMENT, "export dtype " + std::to_string(static_cast<int>(dtype)) +
                                      " is not one of FW_DTYPE_DEFAULT/F32/F16/BF16");
  const std::unique_ptr<Checkpoint> base = open_checkpoint(base_path, nullptr);
  std::vector<std::unique_ptr<Checkpoint>> owned;
  std::vector<const Checkpoint *> pool;
  for (const std::string &path : pool_paths) {
    owned.push_back(open_checkpoint(path, base.get()));
    check_compatible(*base, *owned.back());
    pool.push_back(owned.back().get());
  }

  // Nothing model-sized is held: the writer asks for each tensor in file order and every merged
  // chunk goes to the file as soon as it is computed, converted to the export dtype.
  const StreamingMerge merge(spec, *base, pool);
  const std::vector<TensorMeta> &metas = base->tensors();
  std::vector<OutTensor> out;
  for (const TensorMeta &meta : metas) {
    const DType out_dtype = dtype == FW_DTYPE_DEFAULT ? meta.dtype : from_public(dtype);
    const uint64_t nbytes =
        static_cast<uint64_t>(meta.numel) * static_cast<uint64_t>(dtype_bits(out_dtype) / 8);
    out.push_back(OutTensor{meta.name, out_dtype, meta.shape, nullptr, nbytes});
  }
  const TensorProducer produce = [&](size_t t, const ByteEmitter &emit) {
    const at::ScalarType type = to_scalar_type(out[t].dtype);
    merge.merge_tensor(t, [&](int64_t, const at::Tensor &merged) {
      const at::Tensor bytes = merged.to(type).contiguous();
      emit(bytes.data_ptr(), bytes.nbytes());
    });
  };
  const std::map<std::string, std::string> metadata = {
      {"format", "pt"}, {"fwmerge.recipe", data_free_recipe(spec, base_path, pool_paths)}};
  ThreadScope threads(spec.threads);
  if (max_shard_bytes == 0)
    write_safetensors(out_path, out, metadata, produce, spec.stop);
  else
    write_sharded(out_path, out, metadata, max_shard_bytes, produce, spec.stop);
}

std::vector<std::pair<std::string, at::Tensor>> merge_to_tensors(
    const MergeSpec &spec, const Checkpoint &base, const std::vector<const Checkpoint *> &pool) {
  std::vector<std::pair<std::string, at::Tensor>> result(base.tensors().size());
  merge_streaming(spec, base, pool, [&](size_t i, const TensorMeta &meta, at::Tensor merged) {
    result[i] = {meta.name, merged.contiguous()};
  });
  return result;
}

}  // namespace fw
