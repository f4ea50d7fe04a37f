/*
 * Small accessors SWIG cannot express on its own: indexing into C arrays, and calls with
 * out-pointers (fw_solver **, const fw_tensor **) turned into boxes the host allocates.
 * Header-only for the same reason as fw_objective_director.h.
 */
#ifndef FW_SWIG_HELPERS_H
#define FW_SWIG_HELPERS_H

#include "fwmerge.h"

namespace fwswig {

/* Receives a solver handle from solver_new(). */
struct SolverBox {
  fw_solver *handle = nullptr;
};

/* An array of tensor views owned by the library (fw_current). */
struct TensorArray {
  const fw_tensor *items = nullptr;
  size_t n = 0;
};

/* A tensor's bytes as (address, length), so each host can build its own no-copy view. */
struct Bytes {
  void *data = nullptr;
  int64_t size = 0;
};

inline fw_status solver_new(const fw_params *params, SolverBox *out) {
  if (out == nullptr) return fw_solver_new(params, nullptr);
  return fw_solver_new(params, &out->handle);
}

inline fw_status current(const fw_solver *solver, TensorArray *out) {
  if (out == nullptr) return fw_current(solver, nullptr, nullptr);
  return fw_current(solver, &out->items, &out->n);
}

/* Element i of an array of n views (the caller checks i < n). */
inline const fw_tensor *tensor_at(const fw_tensor *array, size_t i) { return array + i; }
inline fw_tensor *grad_at(fw_tensor *array, size_t i) { return array + i; }

inline int64_t shape_at(const fw_tensor *tensor, int32_t dim) { return tensor->shape[dim]; }

/* fp32 data of a view: numel * 4 bytes. */
inline Bytes tensor_bytes(const fw_tensor *tensor) {
  Bytes b;
  b.data = tensor->data;
  b.size = tensor->numel * static_cast<int64_t>(sizeof(float));
  return b;
}

/* chosen/lambdas of a step info: n_blocks * k entries. */
inline int32_t chosen_at(const fw_step_info *info, int32_t i) { return info->chosen[i]; }
inline double lambda_at(const fw_step_info *info, int32_t i) { return info->lambdas[i]; }

/* The output structs' sizes as compiled into the binding (their struct_size, see "Versioned
 * structs" in fwmerge.h): a host sets them before each call that fills the struct. */
inline uint32_t step_info_size() { return static_cast<uint32_t>(sizeof(fw_step_info)); }
inline uint32_t request_size() { return static_cast<uint32_t>(sizeof(fw_request)); }

}  // namespace fwswig

#endif /* FW_SWIG_HELPERS_H */
