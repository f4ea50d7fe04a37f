// safetensors dtype strings and their sizes; the solver itself computes in fp32.
#pragma once

#include <ATen/ATen.h>

#include <cstddef>
#include <string>

#include "fwmerge.h"

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
DType from_public(fw_dtype dtype);  // FW_DTYPE_F32/F16/BF16
fw_dtype to_public(DType dtype);    // mergeable dtypes only

// Every storage dtype fw_dtype names (fw_save_tensors / fw_load_tensors: floats, integers, BOOL).
// storage_from_public: Status::InvalidArgument for FW_DTYPE_DEFAULT and values outside the enum;
// storage_to_public: false for dtypes fw_dtype does not name (F8, F6, F4, C64).
DType storage_from_public(fw_dtype dtype);
bool storage_to_public(DType dtype, fw_dtype *out);
// F32, F16, BF16, F64: what an export dtype may convert.
bool is_floating(DType dtype);

}  // namespace fw
