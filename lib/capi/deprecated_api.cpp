// The 0.3 names of the functions on a solver (fw_step, fw_set_base, ...), renamed fw_solver_* in
// 0.4: each stays exported as a thin wrapper of its new name, so that binaries and bindings built
// against 0.3 keep loading and behave the same (the ABI never loses a symbol). Declared deprecated
// in include/fwmerge.h; tests/capi/test_deprecated_names.cpp checks them against the new names.
#ifndef FW_DISABLE_DEPRECATE_WARNINGS
#define FW_DISABLE_DEPRECATE_WARNINGS 1  // this file defines them: no warning about their use
#endif
#include "fwmerge.h"

extern "C" {
FW_API fw_status fw_set_base(fw_solver *solver, const char *path) {
  return fw_solver_set_base(solver, path);
}
FW_API fw_status fw_pool_add(fw_solver *solver, const char *path, int32_t *index_out) {
  return fw_solver_pool_add(solver, path, index_out);
}
FW_API size_t fw_pool_size(const fw_solver *solver) { return fw_solver_pool_size(solver); }
FW_API fw_status fw_set_start_member(fw_solver *solver, int32_t pool_index) {
  return fw_solver_set_start_member(solver, pool_index);
}
FW_API fw_status fw_set_start_file(fw_solver *solver, const char *path) {
  return fw_solver_set_start_file(solver, path);
}
FW_API fw_status fw_set_objective_callback(fw_solver *solver, fw_objective_fn fn, void *user_data) {
  return fw_solver_set_objective_callback(solver, fn, user_data);
}
FW_API fw_status fw_set_objective_terms_callback(fw_solver *solver, fw_objective_terms_fn fn,
                                                 int32_t n_terms, void *user_data) {
  return fw_solver_set_objective_terms_callback(solver, fn, n_terms, user_data);
}
FW_API fw_status fw_step(fw_solver *solver, fw_step_info *info) {
  return fw_solver_step(solver, info);
}
FW_API fw_status fw_run(fw_solver *solver, fw_step_info *last) {
  return fw_solver_run(solver, last);
}
FW_API int32_t fw_history_size(const fw_solver *solver) { return fw_solver_history_size(solver); }
FW_API fw_status fw_history_get(const fw_solver *solver, int32_t i, fw_step_info *info) {
  return fw_solver_history_get(solver, i, info);
}
FW_API const char *fw_block_name(const fw_solver *solver, int32_t block) {
  return fw_solver_block_name(solver, block);
}
FW_API fw_status fw_set_ask_tell_terms(fw_solver *solver, int32_t n_terms) {
  return fw_solver_set_ask_tell_terms(solver, n_terms);
}
FW_API fw_status fw_step_begin(fw_solver *solver) { return fw_solver_step_begin(solver); }
FW_API fw_status fw_step_ask(fw_solver *solver, fw_request *request) {
  return fw_solver_step_ask(solver, request);
}
FW_API fw_status fw_step_tell(fw_solver *solver, fw_status host_status, double loss) {
  return fw_solver_step_tell(solver, host_status, loss);
}
FW_API fw_status fw_step_finish(fw_solver *solver, fw_step_info *info) {
  return fw_solver_step_finish(solver, info);
}
FW_API fw_status fw_step_cancel(fw_solver *solver) { return fw_solver_step_cancel(solver); }
FW_API fw_status fw_current(const fw_solver *solver, const fw_tensor **tensors, size_t *n) {
  return fw_solver_current(solver, tensors, n);
}
FW_API fw_status fw_set_progress_callback(fw_solver *solver, fw_progress_fn fn, void *user_data) {
  return fw_solver_set_progress_callback(solver, fn, user_data);
}
FW_API fw_status fw_set_log_callback(fw_solver *solver, fw_log_fn fn, void *user_data) {
  return fw_solver_set_log_callback(solver, fn, user_data);
}
FW_API fw_status fw_set_abort_callback(fw_solver *solver, fw_abort_fn fn, void *user_data) {
  return fw_solver_set_abort_callback(solver, fn, user_data);
}
FW_API fw_status fw_state_save(fw_solver *solver, const char *path) {
  return fw_solver_state_save(solver, path);
}
FW_API fw_status fw_state_load(fw_solver *solver, const char *path) {
  return fw_solver_state_load(solver, path);
}
FW_API fw_status fw_export(fw_solver *solver, const char *path, const fw_export_options *opts) {
  return fw_solver_export(solver, path, opts);
}
FW_API fw_status fw_set_merge_function(fw_solver *solver, const fw_merge_params *params) {
  return fw_solver_set_merge_function(solver, params);
}
FW_API fw_status fw_set_start_merge(fw_solver *solver, const fw_merge_params *params) {
  return fw_solver_set_start_merge(solver, params);
}
FW_API fw_status fw_set_objective_torchscript(fw_solver *solver,
                                              const fw_torchscript_objective *objective) {
  return fw_solver_set_objective_torchscript(solver, objective);
}

}  // extern "C"
