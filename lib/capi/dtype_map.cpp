#include "capi/dtype_map.h"

#include <string>

#include "util/error.h"

namespace fw::capi {

DType from_public(fw_dtype dtype) {
  switch (dtype) {
    case FW_DTYPE_F32:
      return DType::F32;
    case FW_DTYPE_F16:
      return DType::F16;
    case FW_DTYPE_BF16:
      return DType::BF16;
    default:
      fail(::fw::Status::InvalidArgument,
           "fw_dtype " + std::to_string(static_cast<int>(dtype)) + " has no storage dtype");
  }
}

fw_dtype to_public(DType dtype) {
  switch (dtype) {
    case DType::F32:
      return FW_DTYPE_F32;
    case DType::F16:
      return FW_DTYPE_F16;
    case DType::BF16:
      return FW_DTYPE_BF16;
    default:
      fail(::fw::Status::Unsupported, std::string("dtype ") + dtype_name(dtype) +
                                          " has no public fw_dtype (F32, F16, BF16 only)");
  }
}

namespace {

struct PublicPair {
  fw_dtype pub;
  DType storage;
};

constexpr PublicPair kPublic[] = {
    {FW_DTYPE_F32, DType::F32},   {FW_DTYPE_F16, DType::F16}, {FW_DTYPE_BF16, DType::BF16},
    {FW_DTYPE_F64, DType::F64},   {FW_DTYPE_I64, DType::I64}, {FW_DTYPE_I32, DType::I32},
    {FW_DTYPE_I16, DType::I16},   {FW_DTYPE_I8, DType::I8},   {FW_DTYPE_U8, DType::U8},
    {FW_DTYPE_BOOL, DType::BOOL}, {FW_DTYPE_U16, DType::U16}, {FW_DTYPE_U32, DType::U32},
    {FW_DTYPE_U64, DType::U64}};

}  // namespace

DType storage_from_public(fw_dtype dtype) {
  for (const PublicPair &p : kPublic)
    if (p.pub == dtype) return p.storage;
  fail(::fw::Status::InvalidArgument,
       "fw_dtype " + std::to_string(static_cast<int>(dtype)) + " names no storage dtype");
}

// The table names exactly the core's host-storage dtypes (io/dtype.h is_host_storage):
// fw_load_tensors loads those and describes each with storage_to_public.
bool storage_to_public(DType dtype, fw_dtype *out) {
  for (const PublicPair &p : kPublic)
    if (p.storage == dtype) {
      *out = p.pub;
      return true;
    }
  return false;
}

}  // namespace fw::capi
