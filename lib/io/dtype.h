// safetensors dtype strings and their sizes; the solver itself computes in fp32.
#pragma once

#include <ATen/ATen.h>

#include <cstddef>
#include <string>

namespace fw {

enum class DType {
  BOOL,
  U8,
  I8,
  I16,
  U16,
  F16,
  BF16,
  I32,
  U32,
  F32,
  F64,
  I64,
  U64,
  C64,
  F8_E5M2,
  F8_E4M3,
  F8_E8M0,
  F8_E4M3FNUZ,
  F8_E5M2FNUZ,
  F6_E2M3,
  F6_E3M2,
  F4
};

// Parses a safetensors dtype string; false if unknown.
bool parse_dtype(const std::string &text, DType *out);
const char *dtype_name(DType dtype);
// Size in bits (sub-byte floats have 4 or 6).
int dtype_bits(DType dtype);
// Floating types the solver merges (F32, F16, BF16).
bool is_mergeable(DType dtype);
at::ScalarType to_scalar_type(DType dtype);  // only for mergeable dtypes
// The mergeable dtype of a tensor type; false for other types (out untouched).
bool from_scalar_type(at::ScalarType type, DType *out);
// The storage dtypes a host tensor set holds (fw_save_tensors / fw_load_tensors): the floats, the
// integers and BOOL, not F8, F6, F4 or C64 (lib/capi/dtype_map.h names each as fw_dtype).
bool is_host_storage(DType dtype);
// F32, F16, BF16, F64: what an export dtype may convert.
bool is_floating(DType dtype);

}  // namespace fw
