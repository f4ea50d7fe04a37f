// C entry points for writing safetensors: the merge (fw_export) and host tensors (fw_save_tensors).
#include <cstring>

#include "capi/enums.h"
#include "capi/guard.h"
#include "capi/handle.h"
#include "capi/versioned.h"
#include "io/safetensors_writer.h"
#include "solver/export.h"
#include "util/error.h"

using fw::capi::guard;

namespace fw::capi {

fw_export_options read_export_options(const fw_export_options *opts) {
  const fw_export_options defaults = fw_default_export_options();
  if (!opts) return defaults;
  const fw_export_options o = read_input(opts, defaults);
  checked_enum(&o.dtype, "fw_export_options.dtype");
  return o;
}

}  // namespace fw::capi

extern "C" {

FW_API fw_export_options fw_default_export_options(void) {
  fw_export_options o;
  std::memset(&o, 0, sizeof o);
  o.struct_size = sizeof(fw_export_options);
  o.dtype = FW_DTYPE_DEFAULT;
  o.max_shard_bytes = 0;
  return o;
}

FW_API fw_status fw_export(fw_solver *solver, const char *path, const fw_export_options *opts) {
  return guard([&] {
    FW_REQUIRE_ARG(solver && path, "solver or path is NULL");
    fw::capi::require_idle(solver);
    const fw_export_options o = fw::capi::read_export_options(opts);
    fw::export_iterate(solver->solver, path, o.dtype, o.max_shard_bytes);
  });
}

FW_API fw_status fw_save_tensors(const char *path, const fw_tensor *tensors, size_t n,
                                 fw_dtype dtype, const char *const *metadata_kv,
                                 size_t n_metadata) {
  return guard([&] {
    FW_REQUIRE_ARG(path, "path is NULL");
    FW_REQUIRE_ARG(tensors || n == 0, "tensors is NULL");
    FW_REQUIRE_ARG(metadata_kv || n_metadata == 0, "metadata_kv is NULL");
    fw_dtype to = fw::capi::checked_enum(&dtype, "fw_save_tensors: dtype");
    if (to == FW_DTYPE_DEFAULT) to = FW_DTYPE_F32;
    const fw::DType target = fw::from_public(to);
    std::vector<at::Tensor> converted;
    std::vector<fw::OutTensor> out;
    converted.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      const fw_tensor &t = tensors[i];
      FW_REQUIRE_ARG(t.name, "tensor " + std::to_string(i) + " has no name");
      FW_REQUIRE_ARG(fw::capi::raw_enum(&t.dtype) == FW_DTYPE_F32,
                     std::string("tensor '") + t.name + "': fw_save_tensors takes fp32 data");
      FW_REQUIRE_ARG(t.ndim >= 0 && (t.shape || t.ndim == 0),
                     std::string("tensor '") + t.name + "' has no shape");
      std::vector<int64_t> shape(t.shape, t.shape + t.ndim);
      int64_t numel = 1;
      for (int64_t d : shape) {
        FW_REQUIRE_ARG(d >= 0, std::string("tensor '") + t.name + "' has a negative dimension");
        numel *= d;
      }
      FW_REQUIRE_ARG(numel == t.numel,
                     std::string("tensor '") + t.name + "': numel does not match its shape");
      FW_REQUIRE_ARG(t.data || numel == 0, std::string("tensor '") + t.name + "' has no data");
      at::Tensor source =
          numel == 0 ? at::zeros(shape, at::kFloat) : at::from_blob(t.data, shape, at::kFloat);
      converted.push_back(source.to(fw::to_scalar_type(target)).contiguous());
      const at::Tensor &c = converted.back();
      out.push_back({t.name, target, shape, c.data_ptr(),
                     static_cast<uint64_t>(c.numel()) * c.element_size()});
    }
    std::map<std::string, std::string> metadata;
    for (size_t i = 0; i < n_metadata; ++i) {
      FW_REQUIRE_ARG(metadata_kv[2 * i] && metadata_kv[2 * i + 1], "metadata entry is NULL");
      metadata[metadata_kv[2 * i]] = metadata_kv[2 * i + 1];
    }
    fw::write_safetensors(path, out, metadata);
  });
}

}  // extern "C"
