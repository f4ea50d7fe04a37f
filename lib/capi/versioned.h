// The one implementation of the header's "Versioned structs" rule (include/fwmerge.h): the sizes
// each public struct has shipped with, reading an input struct of any shipped size, and filling an
// output struct no further than the caller's struct_size.
//
// These ladders are the ABI promise of libfwmerge.so.0 (docs/abi.md): one SONAME for every 0.x
// release, so a library accepts the structs of every 0.x header, back to 0.2.0's v1. Dropping a
// shipped size is a break, for a new major version only. CTest abi_check compares the public
// layouts with the previous release's and refuses growth of a struct passed by value. The input
// structs reach callers through fw_X_init(&x, sizeof x) (init_api.cpp); the by-value
// fw_default_X() that the library exported up to 0.4 stay, frozen at the 0.4 layout
// (frozen_defaults.cpp), and the header's fw_default_X() are inlines over fw_X_init.
//
// Appending a field to a public struct:
//  1. append it in include/fwmerge.h (never insert, reorder or resize a field);
//  2. in its StructVersions below, keep the old newest entry's value by spelling it
//     FW_SIZE_THROUGH(struct, last field of that version), and append FW_SIZE_THROUGH(struct, new
//     field) (the static_asserts require strictly growing sizes, the last one == sizeof: a field
//     that fits in the old tail padding needs explicit padding before it);
//  3. give the field its default in the struct's defaults (defaults.h; inputs), or fill it
//     (outputs); an input struct's first growth after 0.4 also gives frozen_defaults.cpp its 0.4
//     layout to return (the abi check says so).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "fwmerge.h"
#include "util/error.h"

// Size of a struct's version that ends with `field`: the end of the field, rounded up to the
// struct's alignment (what sizeof of that version was).
#define FW_SIZE_THROUGH(type, field)                                                           \
  ((offsetof(type, field) + sizeof(static_cast<type *>(nullptr)->field) + alignof(type) - 1) / \
   alignof(type) * alignof(type))

namespace fw::capi {

// Specialised per versioned struct: `static constexpr const char *name` and
// `static constexpr uint32_t sizes[]`, the shipped sizes, oldest first (v1, v2, ...).
template <typename T>
struct StructVersions;

template <typename T>
constexpr bool versions_are_valid() {
  constexpr size_t n = sizeof(StructVersions<T>::sizes) / sizeof(StructVersions<T>::sizes[0]);
  if (StructVersions<T>::sizes[0] < sizeof(uint32_t)) return false;
  for (size_t i = 1; i < n; ++i)
    if (StructVersions<T>::sizes[i] <= StructVersions<T>::sizes[i - 1]) return false;
  return StructVersions<T>::sizes[n - 1] == sizeof(T);
}

template <typename T>
constexpr uint32_t first_version_size() {
  return StructVersions<T>::sizes[0];
}

// "112 (v1), 120 (v2)"
template <typename T>
std::string accepted_sizes() {
  std::string out;
  const size_t n = sizeof(StructVersions<T>::sizes) / sizeof(StructVersions<T>::sizes[0]);
  for (size_t i = 0; i < n; ++i) {
    if (i > 0) out += ", ";
    out += std::to_string(StructVersions<T>::sizes[i]) + " (v" + std::to_string(i + 1) + ")";
  }
  return out;
}

// The caller's struct_size, read as bytes (the caller's struct may be shorter than T).
template <typename T>
uint32_t given_size(const T *caller) {
  static_assert(offsetof(T, struct_size) == 0, "struct_size must be the first field");
  static_assert(versions_are_valid<T>(), "StructVersions: sizes must grow; the last is sizeof");
  uint32_t size;
  std::memcpy(&size, caller, sizeof size);
  return size;
}

// Whether `size` is one of T's shipped sizes.
template <typename T>
bool is_shipped_size(size_t size) {
  for (const uint32_t known : StructVersions<T>::sizes)
    if (size == known) return true;
  return false;
}

// The size of an input struct, if it is one of the shipped versions; FW_ERR_INVALID_ARGUMENT
// naming the struct, the size given and the sizes accepted otherwise.
template <typename T>
uint32_t input_size(const T *caller) {
  const uint32_t size = given_size(caller);
  for (const uint32_t known : StructVersions<T>::sizes)
    if (size == known) return size;
  const char *why = size == 0                 ? " (not set)"
                    : size > sizeof(T)        ? " (newer than this library)"
                    : size < sizeof(uint32_t) ? " (not a struct size)"
                                              : "";
  fail(::fw::Status::InvalidArgument, std::string(StructVersions<T>::name) + ".struct_size is " +
                                          std::to_string(size) + why + "; this library accepts " +
                                          accepted_sizes<T>() + " (start from " +
                                          StructVersions<T>::how_to_init + "(&x, sizeof x))");
}

// An input struct as this library's version of it: the caller's fields (of the size checked by
// input_size), and `defaults` for the fields appended after the caller's version. struct_size of
// the result is sizeof(T). Enum fields are not validated here (see enums.h).
template <typename T>
T read_input(const T *caller, uint32_t size, const T &defaults) {
  T out = defaults;
  std::memcpy(static_cast<void *>(&out), caller, size);
  out.struct_size = sizeof(T);
  return out;
}

template <typename T>
T read_input(const T *caller, const T &defaults) {
  return read_input(caller, input_size(caller), defaults);
}

// The number of bytes the library may write into an output struct: min(struct_size, sizeof(T)).
// FW_ERR_INVALID_ARGUMENT for 0 or a size below the first version. Call it before the call does
// anything, so that a bad struct fails the call with nothing changed.
template <typename T>
size_t output_size(const T *caller) {
  const uint32_t size = given_size(caller);
  if (size < first_version_size<T>())
    fail(::fw::Status::InvalidArgument,
         std::string(StructVersions<T>::name) + ".struct_size is " + std::to_string(size) +
             (size == 0 ? " (not set)" : "") + "; set it to sizeof(" + StructVersions<T>::name +
             ") (at least " + std::to_string(first_version_size<T>()) + ")");
  return size < sizeof(T) ? size : sizeof(T);
}

// Writes `full` into the caller's struct: the first output_size() bytes, nothing past them;
// struct_size becomes the number of bytes written.
template <typename T>
void write_output(T *caller, const T &full) {
  const size_t size = output_size(caller);
  T copy = full;
  copy.struct_size = static_cast<uint32_t>(size);
  std::memcpy(static_cast<void *>(caller), &copy, size);
}

// ---- the shipped sizes of the public structs (v1: the 0.2.0 layout; later: the release named)
// ----

template <>
struct StructVersions<fw_params> {
  static constexpr const char *name = "fw_params";
  static constexpr const char *how_to_init = "fw_params_init";
  static constexpr uint32_t sizes[] = {
      FW_SIZE_THROUGH(fw_params, seed),                     // 0.2.0
      FW_SIZE_THROUGH(fw_params, host_views),               // 0.3.0
      FW_SIZE_THROUGH(fw_params, n_exclude_tensors),        // 0.3.1
      FW_SIZE_THROUGH(fw_params, max_evaluations),          // 0.3.2
      FW_SIZE_THROUGH(fw_params, topk_rule),                // 0.3.3
      FW_SIZE_THROUGH(fw_params, allow_outside_links),      // 0.3.5
      FW_SIZE_THROUGH(fw_params, fill_missing_from_base)};  // 0.3.6
};

template <>
struct StructVersions<fw_dist_params> {
  static constexpr const char *name = "fw_dist_params";
  static constexpr const char *how_to_init = "fw_dist_params_init";
  static constexpr uint32_t sizes[] = {FW_SIZE_THROUGH(fw_dist_params, loss),     // 0.3.4
                                       FW_SIZE_THROUGH(fw_dist_params, secret)};  // 0.3.6
};

template <>
struct StructVersions<fw_merge_params> {
  static constexpr const char *name = "fw_merge_params";
  static constexpr const char *how_to_init = "fw_merge_params_init";
  static constexpr uint32_t sizes[] = {
      FW_SIZE_THROUGH(fw_merge_params, threads),
      FW_SIZE_THROUGH(fw_merge_params, abort_user_data),
      FW_SIZE_THROUGH(fw_merge_params, betas),
      FW_SIZE_THROUGH(fw_merge_params, compute_dtype),
      FW_SIZE_THROUGH(fw_merge_params, n_overrides),             // v5: 0.3.2
      FW_SIZE_THROUGH(fw_merge_params, allow_outside_links),     // v6: 0.3.5
      FW_SIZE_THROUGH(fw_merge_params, fill_missing_from_base),  // v7: 0.3.6
      FW_SIZE_THROUGH(fw_merge_params, nuslerp_row_wise)};       // v8: 0.5.0
};

template <>
struct StructVersions<fw_export_options> {
  static constexpr const char *name = "fw_export_options";
  static constexpr const char *how_to_init = "fw_export_options_init";
  static constexpr uint32_t sizes[] = {FW_SIZE_THROUGH(fw_export_options, max_shard_bytes),
                                       FW_SIZE_THROUGH(fw_export_options, model_card),    // 0.3.2
                                       FW_SIZE_THROUGH(fw_export_options, rank_shards)};  // 0.3.4
};

template <>
struct StructVersions<fw_torchscript_objective> {
  static constexpr const char *name = "fw_torchscript_objective";
  static constexpr const char *how_to_init = "fw_torchscript_objective_init";
  static constexpr uint32_t sizes[] = {FW_SIZE_THROUGH(fw_torchscript_objective, n_terms)};
};

template <>
struct StructVersions<fw_step_info> {
  static constexpr const char *name = "fw_step_info";
  static constexpr uint32_t sizes[] = {FW_SIZE_THROUGH(fw_step_info, leaves_hull)};
};

template <>
struct StructVersions<fw_request> {
  static constexpr const char *name = "fw_request";
  static constexpr uint32_t sizes[] = {FW_SIZE_THROUGH(fw_request, grads),
                                       FW_SIZE_THROUGH(fw_request, term)};  // 0.3.3
};

}  // namespace fw::capi
