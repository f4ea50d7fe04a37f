#include "merge/data_free.h"

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include "io/filled_checkpoint.h"
#include "io/safetensors_writer.h"
#include "merge/streaming.h"
#include "util/error.h"
#include "util/thread_scope.h"
#include "util/version.h"

namespace fw {

std::string data_free_recipe(const MergeSpec &spec, const std::string &base_path,
                             const std::vector<std::string> &pool_paths,
                             const std::set<std::string> &from_base,
                             const std::map<std::string, std::vector<std::string>> &filled) {
  nlohmann::json recipe = {
      {"kind", "data_free"},      {"library", "fwmerge " FWMERGE_CORE_VERSION},
      {"merge", spec_json(spec)}, {"leaves_hull", method_leaves_hull(spec.method)},
      {"base", base_path},        {"pool", pool_paths}};
  // The base's buffers, written as the base has them (not merged).
  if (!from_base.empty()) recipe["from_base"] = from_base;
  // Members' tensors read from the base (fill_missing_from_base): per member path.
  if (!filled.empty()) recipe["filled_from_base"] = filled;
  return recipe.dump();
}

void merge_to_file(const MergeSpec &spec, const std::string &base_path,
                   const std::vector<std::string> &pool_paths, const std::string &out_path,
                   std::optional<DType> dtype, OutputLayout layout) {
  if (layout.hf_folder) check_hf_folder_target(out_path);  // before anything is read
  // `base` is what the merge sees (the filter's tensors, without the base's integer and bool
  // buffers); `whole` all of the base's, which adapters are opened against and the other tensors
  // are copied from (buffers byte for byte, in their own dtype).
  std::unique_ptr<Checkpoint> opened =
      open_checkpoint(base_path, nullptr, spec.allow_outside_links);
  const std::set<std::string> carried = carried_from_base(*opened);
  const TensorFilter merged_filter = spec.filter.without_carried(carried);
  const std::unique_ptr<Checkpoint> base = filtered(std::move(opened), merged_filter);
  const auto *as_filtered = dynamic_cast<const FilteredCheckpoint *>(base.get());
  const Checkpoint &whole = as_filtered ? as_filtered->inner() : *base;
  std::vector<std::unique_ptr<Checkpoint>> owned;
  std::vector<const Checkpoint *> pool;
  std::map<std::string, std::vector<std::string>> filled;
  for (const std::string &path : pool_paths) {
    std::unique_ptr<Checkpoint> member = open_checkpoint(path, &whole, spec.allow_outside_links);
    check_carried_in_member(whole, *member, carried);
    member = filtered(std::move(member), merged_filter);
    if (spec.fill_missing_from_base) member = fill_from_base(std::move(member), *base);
    if (!filled_names(*member).empty()) filled[path] = filled_names(*member);
    owned.push_back(std::move(member));
    check_compatible(*base, *owned.back());
    pool.push_back(owned.back().get());
  }

  // Nothing model-sized is held: the writer asks for each tensor in file order and every merged
  // chunk goes to the file as soon as it is computed, converted to the export dtype. Tensors
  // outside the filter are copied from the base the same way, chunk by chunk.
  const StreamingMerge merge(spec, *base, pool);
  std::vector<OutTensor> out;
  std::vector<int64_t> merged_index;  // per output tensor: its index in `base`, or -1: copied
  std::map<std::string, size_t> index_of;
  for (size_t t = 0; t < base->tensors().size(); ++t) index_of[base->tensors()[t].name] = t;
  for (const TensorMeta &meta : whole.tensors()) {
    const auto it = index_of.find(meta.name);
    const bool buffer = carried.count(meta.name) != 0;
    if (it == index_of.end() && !buffer && !is_mergeable(meta.dtype))
      fail(Status::Unsupported, "base tensor \"" + meta.name +
                                    "\" (outside the tensor filter) has " + "dtype " +
                                    dtype_name(meta.dtype) + "; only F32, F16 and BF16 are copied");
    const DType out_dtype = buffer ? meta.dtype : dtype.value_or(meta.dtype);
    const uint64_t nbytes =
        static_cast<uint64_t>(meta.numel) * static_cast<uint64_t>(dtype_bits(out_dtype) / 8);
    out.push_back(OutTensor{meta.name, out_dtype, meta.shape, nullptr, nbytes});
    merged_index.push_back(it == index_of.end() ? -1 : static_cast<int64_t>(it->second));
  }
  const TensorProducer produce = [&](size_t t, const ByteEmitter &emit) {
    if (carried.count(out[t].name) != 0) {  // a buffer: the base's bytes, in bounded pieces
      const TensorMeta &meta = *whole.find(out[t].name);
      const int64_t item = dtype_bits(meta.dtype) / 8;
      std::vector<char> bytes(static_cast<size_t>(std::min(kMergeChunk, meta.numel) * item));
      for (int64_t begin = 0; begin < meta.numel; begin += kMergeChunk) {
        poll(spec.stop);
        const int64_t end = std::min(meta.numel, begin + kMergeChunk);
        whole.read_raw_range(meta.name, begin, end, bytes.data());
        emit(bytes.data(), static_cast<size_t>((end - begin) * item));
      }
      return;
    }
    const at::ScalarType type = to_scalar_type(out[t].dtype);
    const auto write = [&](const at::Tensor &chunk) {
      const at::Tensor bytes = chunk.to(type).contiguous();
      emit(bytes.data_ptr(), bytes.nbytes());
    };
    if (merged_index[t] >= 0) {
      merge.merge_tensor(static_cast<size_t>(merged_index[t]),
                         [&](int64_t, const at::Tensor &merged) { write(merged); });
      return;
    }
    const TensorMeta &meta = *whole.find(out[t].name);
    if (!whole.streams_ranges()) return write(whole.load_f32(meta.name).reshape(-1));
    at::Tensor buf = at::empty({std::min(kMergeChunk, meta.numel)}, at::kFloat);
    for (int64_t begin = 0; begin < meta.numel; begin += kMergeChunk) {
      poll(spec.stop);
      const int64_t end = std::min(meta.numel, begin + kMergeChunk);
      at::Tensor chunk = buf.narrow(0, 0, end - begin);
      whole.read_f32_range(meta.name, begin, end, chunk);
      write(chunk);
    }
  };
  const std::string recipe = data_free_recipe(spec, base_path, pool_paths, carried, filled);
  const std::map<std::string, std::string> metadata = {{"format", "pt"},
                                                       {"fwmerge.recipe", recipe}};
  ThreadScope threads(spec.threads);
  layout.base_path = base_path;
  layout.allow_outside_links = spec.allow_outside_links;
  write_output(out_path, out, metadata, produce, spec.stop, layout, [&] {
    return default_model_card(base_path,
                              std::string("Data-free merge (") + merge_method_name(spec.method) +
                                  ") of " + std::to_string(pool_paths.size()) + " models",
                              recipe);
  });
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
