// The C handle behind fw_solver*: the C++ solver plus what only the C boundary needs (host
// callbacks, views handed out, the pending ask/tell step).
#pragma once

#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "capi/dtype_map.h"
#include "capi/in_use.h"
#include "fwmerge.h"
#include "io/hf_folder.h"
#include "solver/solver.h"
#include "solver/step_runner.h"

struct fw_solver {
  explicit fw_solver(fw::SolverConfig config) : solver(std::move(config)) {}

  fw::Solver solver;
  // The thread inside a call on this solver (lib/capi/in_use.h): others get FW_ERR_STATE.
  fw::capi::SolverUser user;
  // Objective: a host callback (one-term, or multi-term with objective_n_terms terms), or a C++
  // evaluator (built-in objectives, lib/objective). At most one is set.
  fw_objective_fn objective = nullptr;
  fw_objective_terms_fn objective_terms = nullptr;
  int32_t objective_n_terms = 1;
  void *objective_user_data = nullptr;
  int32_t ask_tell_terms = 1;  // fw_solver_set_ask_tell_terms
  std::unique_ptr<fw::Evaluator> builtin_objective;

  fw_progress_fn progress = nullptr;
  void *progress_user_data = nullptr;
  fw_log_fn log = nullptr;
  void *log_user_data = nullptr;
  fw_abort_fn abort = nullptr;
  void *abort_user_data = nullptr;

  std::unique_ptr<fw::StepRunner> pending;  // ask/tell step in progress
  std::vector<fw_tensor> request_params, request_grads;
  mutable std::vector<fw_tensor> current_views;  // fw_solver_current (a view cache)
  // fw_solver_current with host_views on a GPU: host copies of theta_t, and the tensors they copy.
  mutable std::vector<at::Tensor> current_host;
  mutable std::vector<const void *> current_host_of;
};

namespace fw::capi {

// Views over fp32 tensors in base order (names and shapes from the base's metadata).
std::vector<fw_tensor> make_views(const std::vector<TensorMeta> &metas,
                                  const std::vector<at::Tensor> &tensors);
// Like make_views, but keeps `cache` (and so the array a caller already holds) while it still
// describes the same tensors: views handed out stay valid for their documented lifetime.
const std::vector<fw_tensor> &cached_views(std::vector<fw_tensor> &cache,
                                           const std::vector<TensorMeta> &metas,
                                           const std::vector<at::Tensor> &tensors);
// Fills a public step info from a record (pointers alias the record), up to the caller's
// struct_size (lib/capi/versioned.h). Check the struct with require_output() before the call acts.
void fill_step_info(const StepRecord &record, fw_step_info *info);
// An output struct's struct_size check (FW_ERR_INVALID_ARGUMENT); a NULL struct passes.
void require_output(const fw_step_info *info);
// fw_export_options as this library's version (defaults when NULL), dtype validated.
fw_export_options read_export_options(const fw_export_options *opts);
// fw_export_options.dtype for fw_solver_export and fw_merge, checked (F32, F16, BF16): nullopt for
// FW_DTYPE_DEFAULT, each tensor's base dtype.
std::optional<DType> export_dtype(fw_dtype dtype);
// Where the options say the output goes (one file, shards, a Hugging Face folder).
// FW_ERR_INVALID_ARGUMENT for a model_card without hf_folder.
OutputLayout output_layout(const fw_export_options &o);
// FW_ERR_STATE while an ask/tell step is pending.
void require_idle(const fw_solver *solver);

}  // namespace fw::capi
