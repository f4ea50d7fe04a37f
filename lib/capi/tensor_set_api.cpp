// C entry points of fw_load_tensors: a loaded TensorSet plus the views handed out over it.
#include <string>
#include <utility>
#include <vector>

#include "capi/dtype_map.h"
#include "capi/guard.h"
#include "io/tensor_set.h"
#include "util/error.h"

using fw::capi::guard;

struct fw_tensor_set {
  fw::TensorSet set;
  std::vector<std::pair<std::string, std::string>> metadata;  // sorted by key (the map's order)
};

namespace {

const fw::LoadedTensor *at_index(const fw_tensor_set *set, size_t i) {
  return set != nullptr && i < set->set.tensors.size() ? &set->set.tensors[i] : nullptr;
}

}  // namespace

extern "C" {

FW_API fw_status fw_load_tensors(const char *path, uint32_t flags, fw_tensor_set **out) {
  if (out) *out = nullptr;
  return guard([&] {
    FW_REQUIRE_ARG(path && out, "path or out is NULL");
    FW_REQUIRE_ARG((flags & ~static_cast<uint32_t>(FW_LOAD_FLAG_HEADER_ONLY |
                                                   FW_LOAD_FLAG_ALLOW_OUTSIDE_LINKS)) == 0,
                   "fw_load_tensors: unknown flags " + std::to_string(flags));
    auto set = std::make_unique<fw_tensor_set>();
    set->set = fw::load_tensor_set(path, (flags & FW_LOAD_FLAG_HEADER_ONLY) != 0,
                                   (flags & FW_LOAD_FLAG_ALLOW_OUTSIDE_LINKS) != 0);
    for (const auto &kv : set->set.metadata) set->metadata.emplace_back(kv.first, kv.second);
    *out = set.release();
  });
}

FW_API size_t fw_tensor_set_count(const fw_tensor_set *set) {
  return set ? set->set.tensors.size() : 0;
}

FW_API fw_status fw_tensor_set_get(const fw_tensor_set *set, size_t i, fw_tensor *out) {
  return guard([&] {
    FW_REQUIRE_ARG(set && out, "set or out is NULL");
    const fw::LoadedTensor *t = at_index(set, i);
    FW_REQUIRE_ARG(t, "tensor index " + std::to_string(i) + " is out of range (" +
                          std::to_string(set->set.tensors.size()) + " tensors)");
    fw_tensor view{};
    view.name = t->name.c_str();
    fw_dtype pub = FW_DTYPE_DEFAULT;
    fw::capi::storage_to_public(t->dtype, &pub);  // FW_DTYPE_DEFAULT for dtypes it does not name
    view.dtype = pub;
    view.ndim = static_cast<int32_t>(t->shape.size());
    view.shape = t->shape.data();
    view.numel = t->numel;
    view.data = t->bytes.defined() ? t->bytes.data_ptr() : nullptr;
    view.device = FW_DEVICE_TYPE_CPU;
    *out = view;
  });
}

FW_API const char *fw_tensor_set_dtype_name(const fw_tensor_set *set, size_t i) {
  const fw::LoadedTensor *t = at_index(set, i);
  return t ? fw::dtype_name(t->dtype) : nullptr;
}

FW_API uint64_t fw_tensor_set_nbytes(const fw_tensor_set *set, size_t i) {
  const fw::LoadedTensor *t = at_index(set, i);
  return t ? t->nbytes : 0;
}

FW_API size_t fw_tensor_set_metadata_count(const fw_tensor_set *set) {
  return set ? set->metadata.size() : 0;
}

FW_API fw_status fw_tensor_set_metadata(const fw_tensor_set *set, size_t i, const char **key,
                                        const char **value) {
  return guard([&] {
    FW_REQUIRE_ARG(set && key && value, "set, key or value is NULL");
    FW_REQUIRE_ARG(i < set->metadata.size(), "metadata index " + std::to_string(i) +
                                                 " is out of range (" +
                                                 std::to_string(set->metadata.size()) + ")");
    *key = set->metadata[i].first.c_str();
    *value = set->metadata[i].second.c_str();
  });
}

FW_API void fw_tensor_set_free(fw_tensor_set *set) { delete set; }

}  // extern "C"
