// C entry points for writing safetensors: the merge (fw_solver_export) and host tensors
// (fw_save_tensors).
#include <cstring>
#include <optional>

#include "capi/defaults.h"
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
  const fw_export_options defaults = fw::capi::default_export_options();
  if (!opts) return defaults;
  const fw_export_options o = read_input(opts, defaults);
  checked_enum(&o.dtype, "fw_export_options.dtype");
  if (o.rank_shards < 0)
    fail(::fw::Status::InvalidArgument, "fw_export_options.rank_shards must be >= 0");
  return o;
}

std::optional<DType> export_dtype(fw_dtype dtype) {
  if (dtype == FW_DTYPE_DEFAULT) return std::nullopt;
  if (dtype != FW_DTYPE_F32 && dtype != FW_DTYPE_F16 && dtype != FW_DTYPE_BF16)
    fail(::fw::Status::InvalidArgument, "export dtype must be FW_DTYPE_DEFAULT, F32, F16 or BF16");
  return from_public(dtype);
}

OutputLayout output_layout(const fw_export_options &o) {
  OutputLayout layout;
  layout.max_shard_bytes = o.max_shard_bytes;
  layout.hf_folder = o.hf_folder != 0;
  if (o.model_card != nullptr) {
    FW_REQUIRE_ARG(layout.hf_folder, "fw_export_options.model_card is set without hf_folder");
    layout.card_given = true;
    layout.model_card = o.model_card;
  }
  return layout;
}

}  // namespace fw::capi

extern "C" {

FW_API fw_status fw_solver_export(fw_solver *solver, const char *path,
                                  const fw_export_options *opts) {
  return guard([&] {
    FW_REQUIRE_ARG(solver && path, "solver or path is NULL");
    const fw::capi::InUse in_use(solver->user, "fw_solver_export");
    fw::capi::require_idle(solver);
    const fw_export_options o = fw::capi::read_export_options(opts);
    // A sharded solver always exports one shard per rank (rank_shards 0 means that too).
    const fw::Comm *comm = solver->solver.comm();
    if (comm && o.rank_shards != 0 && o.rank_shards != comm->world())
      fw::fail(::fw::Status::InvalidArgument,
               "[dist] a sharded solver of " + std::to_string(comm->world()) + " ranks exports " +
                   std::to_string(comm->world()) +
                   " rank shards; fw_export_options.rank_shards is " +
                   std::to_string(o.rank_shards));
    const int32_t rank_shards = comm ? comm->world() : o.rank_shards;
    if (rank_shards == 0) {
      fw::export_iterate(solver->solver, path, fw::capi::export_dtype(o.dtype),
                         fw::capi::output_layout(o));
      return;
    }
    if (o.max_shard_bytes != 0 || o.hf_folder != 0)
      fw::fail(::fw::Status::InvalidArgument,
               "rank shards (fw_export_options.rank_shards, or a sharded solver's export) need "
               "max_shard_bytes 0 and hf_folder 0");
    fw::export_rank_shards(solver->solver, path, fw::capi::export_dtype(o.dtype), rank_shards);
  });
}

FW_API fw_status fw_save_tensors(const char *path, const fw_tensor *tensors, size_t n,
                                 fw_dtype dtype, const char *const *metadata_kv,
                                 size_t n_metadata) {
  return guard([&] {
    FW_REQUIRE_ARG(path, "path is NULL");
    FW_REQUIRE_ARG(tensors || n == 0, "tensors is NULL");
    FW_REQUIRE_ARG(metadata_kv || n_metadata == 0, "metadata_kv is NULL");
    const fw_dtype to = fw::capi::checked_enum(&dtype, "fw_save_tensors: dtype");
    FW_REQUIRE_ARG(
        to == FW_DTYPE_DEFAULT || to == FW_DTYPE_F32 || to == FW_DTYPE_F16 || to == FW_DTYPE_BF16,
        "fw_save_tensors: dtype must be FW_DTYPE_DEFAULT, F32, F16 or BF16");
    std::vector<at::Tensor> converted;
    std::vector<fw::OutTensor> out;
    converted.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      const fw_tensor &t = tensors[i];
      FW_REQUIRE_ARG(t.name, "tensor " + std::to_string(i) + " has no name");
      const int32_t raw_dtype = fw::capi::raw_enum(&t.dtype);
      FW_REQUIRE_ARG(
          raw_dtype != FW_DTYPE_DEFAULT && fw::capi::enum_in_range<fw_dtype>(raw_dtype),
          std::string("tensor '") + t.name + "': unknown dtype " + std::to_string(raw_dtype));
      const int32_t raw_device = fw::capi::raw_enum(&t.device);
      FW_REQUIRE_ARG(raw_device == FW_DEVICE_TYPE_CPU || raw_device == FW_DEVICE_TYPE_CUDA,
                     std::string("tensor '") + t.name + "': unknown device");
      bool reserved_zero = true;
      for (uint64_t word : t.reserved) reserved_zero = reserved_zero && word == 0;
      FW_REQUIRE_ARG(reserved_zero, std::string("tensor '") + t.name + "': reserved is not zero");
      const fw::DType own = fw::capi::storage_from_public(static_cast<fw_dtype>(raw_dtype));
      // Only floating tensors convert; integers and BOOL keep their dtype (labels, masks).
      const bool convert =
          to != FW_DTYPE_DEFAULT && fw::is_floating(own) && fw::capi::from_public(to) != own;
      const fw::DType target = convert ? fw::capi::from_public(to) : own;
      at::Device device(at::kCPU);
      if (raw_device == FW_DEVICE_TYPE_CUDA) {
        // Whether the device exists, as for fw_params.device: FW_ERR_UNSUPPORTED /
        // FW_ERR_INVALID_ARGUMENT.
        FW_REQUIRE_ARG(t.device_index >= 0,
                       std::string("tensor '") + t.name + "': negative device_index");
        device = fw::placement_of(fw::DeviceKind::Cuda, t.device_index, fw::WorkDtype::F32).device;
      } else {
        FW_REQUIRE_ARG(t.device_index == 0,
                       std::string("tensor '") + t.name + "': device_index must be 0 on the CPU");
      }
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
      const uint64_t nbytes =
          static_cast<uint64_t>(numel) * static_cast<uint64_t>(fw::dtype_bits(own) / 8);
      if (convert) {
        const at::ScalarType from_type =
            own == fw::DType::F64 ? at::kDouble : fw::to_scalar_type(own);
        const at::TensorOptions where = at::TensorOptions().dtype(from_type).device(device);
        at::Tensor source =
            numel == 0 ? at::zeros(shape, where) : at::from_blob(t.data, shape, where);
        converted.push_back(source.to(at::kCPU, fw::to_scalar_type(target)).contiguous());
      } else {
        // The bytes as they are (copied off the device, or aliased in host memory).
        const at::TensorOptions where = at::TensorOptions().dtype(at::kByte).device(device);
        at::Tensor bytes = nbytes == 0
                               ? at::empty({0}, where)
                               : at::from_blob(t.data, {static_cast<int64_t>(nbytes)}, where);
        converted.push_back(bytes.to(at::kCPU).contiguous());
      }
      const at::Tensor &c = converted.back();
      out.push_back({t.name, target, shape, c.data_ptr(),
                     static_cast<uint64_t>(c.numel()) * c.element_size()});
      // BOOL: safetensors readers reject bytes other than 0 and 1.
      if (target == fw::DType::BOOL) {
        const uint8_t *b = static_cast<const uint8_t *>(c.data_ptr());
        for (int64_t e = 0; e < c.numel(); ++e)
          FW_REQUIRE_ARG(b[e] <= 1, std::string("tensor '") + t.name + "': BOOL byte " +
                                        std::to_string(b[e]) + " is not 0 or 1");
      }
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
