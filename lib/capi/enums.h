// Enum values coming from the caller, validated as integers. A C caller can store any int in an
// enum-typed field or argument; in C++ loading a value outside the enum's range as the enum type
// is undefined (-fsanitize=enum flags it). So the C shim reads the object's bytes as int32_t,
// checks the range, and only then forms a value of the enum type.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>

#include "fwmerge.h"
#include "util/error.h"

namespace fw::capi {

// The range [first, last] of a public enum (all are contiguous). Update `last` when an enumerator
// is appended in include/fwmerge.h.
template <typename E>
struct EnumRange;

#define FW_ENUM_RANGE(type, lo, hi)                            \
  template <>                                                  \
  struct EnumRange<type> {                                     \
    static constexpr const char *name = #type;                 \
    static constexpr int32_t first = static_cast<int32_t>(lo); \
    static constexpr int32_t last = static_cast<int32_t>(hi);  \
  }

FW_ENUM_RANGE(fw_status, FW_ERR_INTERNAL, FW_OK);
FW_ENUM_RANGE(fw_dtype, FW_DTYPE_DEFAULT, FW_DTYPE_U64);
FW_ENUM_RANGE(fw_lmo, FW_LMO_HARD, FW_LMO_SOFT);
FW_ENUM_RANGE(fw_granularity, FW_GRANULARITY_TASKWISE, FW_GRANULARITY_LAYERWISE);
FW_ENUM_RANGE(fw_score, FW_SCORE_INNER, FW_SCORE_COSINE);
FW_ENUM_RANGE(fw_step_rule, FW_STEP_RULE_LINE_SEARCH, FW_STEP_RULE_CONSTANT);
FW_ENUM_RANGE(fw_soft_solver, FW_SOFT_SOLVER_SIMPLEX, FW_SOFT_SOLVER_BOX);
FW_ENUM_RANGE(fw_topk_rule, FW_TOPK_RULE_SUMMED, FW_TOPK_RULE_PER_TERM);
FW_ENUM_RANGE(fw_dist_loss, FW_DIST_LOSS_SHARED, FW_DIST_LOSS_SUM);
FW_ENUM_RANGE(fw_device_type, FW_DEVICE_TYPE_CPU, FW_DEVICE_TYPE_CUDA);
FW_ENUM_RANGE(fw_merge_method, FW_MERGE_METHOD_LINEAR, FW_MERGE_METHOD_ISO_CTS);
FW_ENUM_RANGE(fw_merge_field, FW_MERGE_FIELD_WEIGHT, FW_MERGE_FIELD_T);

#undef FW_ENUM_RANGE

// The integer stored in an enum object (a field or an argument), without loading it as the enum.
template <typename E>
int32_t raw_enum(const E *object) {
  static_assert(sizeof(E) == sizeof(int32_t), "public enums are int-sized");
  int32_t value;
  std::memcpy(&value, object, sizeof value);
  return value;
}

// Stores an integer into an enum object without forming a value of the enum type.
template <typename E>
void store_raw_enum(E *object, int32_t value) {
  static_assert(sizeof(E) == sizeof(int32_t), "public enums are int-sized");
  std::memcpy(static_cast<void *>(object), &value, sizeof value);
}

template <typename E>
bool enum_in_range(int32_t value) {
  return value >= EnumRange<E>::first && value <= EnumRange<E>::last;
}

// The enum value in *object, or FW_ERR_INVALID_ARGUMENT naming `what` (e.g. "fw_params.lmo") and
// the accepted range.
template <typename E>
E checked_enum(const E *object, const char *what) {
  const int32_t value = raw_enum(object);
  if (!enum_in_range<E>(value))
    fail(::fw::Status::InvalidArgument, std::string(what) + " is " + std::to_string(value) +
                                            ": not a valid " + EnumRange<E>::name + " (" +
                                            std::to_string(EnumRange<E>::first) + ".." +
                                            std::to_string(EnumRange<E>::last) + ")");
  return static_cast<E>(value);
}

}  // namespace fw::capi
