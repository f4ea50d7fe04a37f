// safetensors dtype table: names, bit widths, and the three floating types the solver merges.
#include "io/dtype.h"

#include "util/error.h"

namespace fw {
namespace {

struct DTypeInfo {
  DType dtype;
  const char *name;
  int bits;
};

// Same order as the enum, so kTable[static_cast<int>(d)].dtype == d.
constexpr DTypeInfo kTable[] = {
    {DType::BOOL, "BOOL", 8},
    {DType::U8, "U8", 8},
    {DType::I8, "I8", 8},
    {DType::I16, "I16", 16},
    {DType::U16, "U16", 16},
    {DType::F16, "F16", 16},
    {DType::BF16, "BF16", 16},
    {DType::I32, "I32", 32},
    {DType::U32, "U32", 32},
    {DType::F32, "F32", 32},
    {DType::F64, "F64", 64},
    {DType::I64, "I64", 64},
    {DType::U64, "U64", 64},
    {DType::C64, "C64", 64},
    {DType::F8_E5M2, "F8_E5M2", 8},
    {DType::F8_E4M3, "F8_E4M3", 8},
    {DType::F8_E8M0, "F8_E8M0", 8},
    {DType::F8_E4M3FNUZ, "F8_E4M3FNUZ", 8},
    {DType::F8_E5M2FNUZ, "F8_E5M2FNUZ", 8},
    {DType::F6_E2M3, "F6_E2M3", 6},
    {DType::F6_E3M2, "F6_E3M2", 6},
    {DType::F4, "F4", 4},
};
constexpr int kCount = static_cast<int>(sizeof(kTable) / sizeof(kTable[0]));

const DTypeInfo &info(DType dtype) {
  const int index = static_cast<int>(dtype);
  if (index < 0 || index >= kCount) fail(Status::Internal, "invalid DType value");
  return kTable[index];
}

}  // namespace

bool parse_dtype(const std::string &text, DType *out) {
  for (const DTypeInfo &entry : kTable) {
    if (text == entry.name) {
      if (out != nullptr) *out = entry.dtype;
      return true;
    }
  }
  return false;
}

const char *dtype_name(DType dtype) { return info(dtype).name; }

int dtype_bits(DType dtype) { return info(dtype).bits; }

bool is_mergeable(DType dtype) {
  return dtype == DType::F32 || dtype == DType::F16 || dtype == DType::BF16;
}

at::ScalarType to_scalar_type(DType dtype) {
  switch (dtype) {
    case DType::F32:
      return at::kFloat;
    case DType::F16:
      return at::kHalf;
    case DType::BF16:
      return at::kBFloat16;
    default:
      fail(Status::Unsupported,
           std::string("dtype ") + dtype_name(dtype) + " is not mergeable (F32, F16, BF16 only)");
  }
}

bool from_scalar_type(at::ScalarType type, DType *out) {
  switch (type) {
    case at::kFloat:
      *out = DType::F32;
      return true;
    case at::kHalf:
      *out = DType::F16;
      return true;
    case at::kBFloat16:
      *out = DType::BF16;
      return true;
    default:
      return false;
  }
}

bool is_host_storage(DType dtype) {
  switch (dtype) {
    case DType::BOOL:
    case DType::U8:
    case DType::I8:
    case DType::I16:
    case DType::U16:
    case DType::F16:
    case DType::BF16:
    case DType::I32:
    case DType::U32:
    case DType::F32:
    case DType::F64:
    case DType::I64:
    case DType::U64:
      return true;
    default:
      return false;
  }
}

bool is_floating(DType dtype) { return is_mergeable(dtype) || dtype == DType::F64; }

}  // namespace fw
