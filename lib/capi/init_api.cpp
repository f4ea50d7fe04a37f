// fw_X_init (0.5.0): the defaults of an input struct, written up to the size the caller's header
// gives it. Unlike a by-value return, this works for a caller of any shipped version, so the
// struct can keep growing (docs/abi.md, "Versioned structs"). No LibTorch and no exceptions: the
// fuzz build links these with the CLI's recipe readers.
#include <cstring>
#include <string>

#include "capi/defaults.h"
#include "capi/enums.h"
#include "capi/guard.h"
#include "capi/versioned.h"

namespace fw::capi {
namespace {

// Copies the first `size` bytes of `defaults` into `out` and sets its struct_size; refuses NULL
// and a size that is not one of T's shipped versions, writing nothing.
template <typename T>
fw_status init_struct(T *out, size_t size, const T &defaults) {
  clear_last_error();
  const std::string fn = std::string(StructVersions<T>::how_to_init);
  if (!out) {
    set_last_error(fn + ": the struct pointer is NULL");
    return FW_ERR_INVALID_ARGUMENT;
  }
  if (!is_shipped_size<T>(size)) {
    set_last_error(fn + ": struct_size " + std::to_string(size) + " is not a size of " +
                   StructVersions<T>::name + "; this library accepts " + accepted_sizes<T>() +
                   " (pass sizeof(" + StructVersions<T>::name + "))");
    return FW_ERR_INVALID_ARGUMENT;
  }
  std::memcpy(static_cast<void *>(out), &defaults, size);
  const auto struct_size = static_cast<uint32_t>(size);
  std::memcpy(static_cast<void *>(out), &struct_size, sizeof struct_size);
  return FW_OK;
}

}  // namespace
}  // namespace fw::capi

extern "C" {

FW_API fw_status fw_params_init(fw_params *params, size_t struct_size) {
  return fw::capi::init_struct(params, struct_size, fw::capi::default_params());
}

FW_API fw_status fw_merge_params_init(fw_merge_params *params, fw_merge_method method,
                                      size_t struct_size) {
  // Read as the integer the caller stored: an unknown value is never loaded as the enum type.
  const int32_t raw = fw::capi::raw_enum(&method);
  const fw_status status =
      fw::capi::init_struct(params, struct_size, fw::capi::default_merge_params(raw));
  if (status != FW_OK) return status;
  // An unknown method: the struct holds LINEAR's defaults with that value, as
  // fw_default_merge_params gives it (fw_merge refuses it later); the status says so now.
  if (!fw::capi::enum_in_range<fw_merge_method>(raw)) {
    fw::capi::set_last_error("fw_merge_params_init: method " + std::to_string(raw) +
                             " is not an fw_merge_method");
    return FW_ERR_INVALID_ARGUMENT;
  }
  return FW_OK;
}

FW_API fw_status fw_export_options_init(fw_export_options *opts, size_t struct_size) {
  return fw::capi::init_struct(opts, struct_size, fw::capi::default_export_options());
}

FW_API fw_status fw_torchscript_objective_init(fw_torchscript_objective *objective,
                                               size_t struct_size) {
  return fw::capi::init_struct(objective, struct_size, fw::capi::default_torchscript_objective());
}

FW_API fw_status fw_dist_params_init(fw_dist_params *params, size_t struct_size) {
  return fw::capi::init_struct(params, struct_size, fw::capi::default_dist_params());
}

}  // extern "C"
