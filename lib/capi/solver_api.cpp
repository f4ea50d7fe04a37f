// C entry points for the solver's life cycle, pool and hooks: argument checks and delegation only.
#include <cmath>
#include <cstring>

#include "capi/config_map.h"
#include "capi/defaults.h"
#include "capi/enums.h"
#include "capi/guard.h"
#include "capi/handle.h"
#include "capi/read_params.h"
#include "capi/versioned.h"
#include "solver/host_views.h"
#include "util/error.h"

namespace fw::capi {

std::vector<fw_tensor> make_views(const std::vector<TensorMeta> &metas,
                                  const std::vector<at::Tensor> &tensors) {
  std::vector<fw_tensor> views(metas.size());  // value-initialized: reserved words are zero
  for (size_t t = 0; t < metas.size(); ++t) {
    views[t].name = metas[t].name.c_str();
    DType dtype = DType::F32;  // the solver keeps F32, F16 or BF16 only (solver/placement.h)
    from_scalar_type(tensors[t].scalar_type(), &dtype);
    views[t].dtype = to_public(dtype);
    views[t].device = tensors[t].is_cuda() ? FW_DEVICE_TYPE_CUDA : FW_DEVICE_TYPE_CPU;
    views[t].device_index = tensors[t].is_cuda() ? tensors[t].device().index() : 0;
    views[t].ndim = static_cast<int32_t>(metas[t].shape.size());
    views[t].shape = metas[t].shape.data();
    views[t].numel = metas[t].numel;
    views[t].data = tensors[t].data_ptr();
  }
  return views;
}

const std::vector<fw_tensor> &cached_views(std::vector<fw_tensor> &cache,
                                           const std::vector<TensorMeta> &metas,
                                           const std::vector<at::Tensor> &tensors) {
  bool same = cache.size() == tensors.size();
  for (size_t t = 0; same && t < tensors.size(); ++t) same = cache[t].data == tensors[t].data_ptr();
  if (!same) cache = make_views(metas, tensors);
  return cache;
}

void fill_step_info(const StepRecord &r, fw_step_info *info) {
  fw_step_info full;
  std::memset(&full, 0, sizeof full);
  full.struct_size = sizeof(fw_step_info);
  full.iteration = r.iteration;
  full.loss = r.loss;
  full.loss_after = r.loss_after;
  full.gap = r.gap;
  full.gamma = r.gamma;
  full.converged = r.converged ? 1 : 0;
  full.evaluations = r.evaluations;
  full.k = r.k;
  full.n_blocks = static_cast<int32_t>(r.chosen.size() / static_cast<size_t>(r.k));
  full.chosen = r.chosen.data();
  full.lambdas = r.lambdas.data();
  full.leaves_hull = r.leaves_hull ? 1 : 0;
  write_output(info, full);
}

void require_output(const fw_step_info *info) {
  if (info) output_size(info);
}

void require_idle(const fw_solver *solver) {
  if (solver->pending)
    fail(::fw::Status::State, "an ask/tell step is in progress: finish or cancel it first");
}

}  // namespace fw::capi

using fw::capi::guard;

extern "C" {

FW_API fw_status fw_solver_new(const fw_params *params, fw_solver **out) {
  return guard([&] {
    FW_REQUIRE_ARG(out, "out is NULL");
    *out = nullptr;
    *out = new fw_solver(fw::capi::read_params(params));
  });
}

FW_API void fw_solver_free(fw_solver *solver) {
  // Freeing a solver that another thread is inside would pull its memory away mid-call: leave it
  // (a leak, reported in this thread's fw_last_error) rather than crash that thread.
  if (solver && solver->user.held_by_another_thread()) {
    fw::capi::set_last_error("fw_solver_free: the solver is in use by another thread; not freed");
    return;
  }
  delete solver;
}

FW_API fw_status fw_solver_set_params(fw_solver *solver, const fw_params *params) {
  return guard([&] {
    FW_REQUIRE_ARG(solver && params, "solver or params is NULL");
    const fw::capi::InUse in_use(solver->user, "fw_solver_set_params");
    fw::capi::require_idle(solver);
    solver->solver.set_config(fw::capi::read_params(params));
  });
}

FW_API fw_status fw_solver_set_distributed(fw_solver *solver, const fw_dist_params *dist) {
  return guard([&] {
    FW_REQUIRE_ARG(solver && dist, "solver or dist is NULL");
    const fw::capi::InUse in_use(solver->user, "fw_solver_set_distributed");
    fw::capi::require_idle(solver);
    const fw_dist_params d = fw::capi::read_input(dist, fw::capi::default_dist_params());
    const fw::DistLoss loss = fw::capi::to_core_enum<fw::DistLoss>(
        fw::capi::checked_enum(&d.loss, "fw_dist_params.loss"));
    FW_REQUIRE_ARG(d.rendezvous, "fw_dist_params.rendezvous is NULL");
    solver->solver.check_can_join();
    const std::chrono::milliseconds timeout(d.timeout_ms);
    fw::Comm::check_args(d.rank, d.world_size, d.rendezvous, timeout);
    if (d.world_size == 1) return;  // one rank: a plain solver, nothing to join
    solver->solver.set_distributed(
        std::make_shared<fw::Comm>(d.rank, d.world_size, d.rendezvous, timeout, loss, d.secret));
  });
}

FW_API fw_status fw_solver_set_base(fw_solver *solver, const char *path) {
  return guard([&] {
    FW_REQUIRE_ARG(solver && path, "solver or path is NULL");
    const fw::capi::InUse in_use(solver->user, "fw_solver_set_base");
    fw::capi::require_idle(solver);
    solver->solver.set_base(path);
    solver->current_views.clear();
    // A built-in objective was bound to the old base's tensors.
    solver->builtin_objective.reset();
  });
}

FW_API fw_status fw_solver_pool_add(fw_solver *solver, const char *path, int32_t *index_out) {
  return guard([&] {
    FW_REQUIRE_ARG(solver && path, "solver or path is NULL");
    const fw::capi::InUse in_use(solver->user, "fw_solver_pool_add");
    fw::capi::require_idle(solver);
    const int index = solver->solver.add_member(path);
    if (index_out) *index_out = index;
  });
}

FW_API size_t fw_solver_pool_size(const fw_solver *solver) {
  if (!solver) return 0;
  const fw::capi::TryUse use(solver->user, "fw_solver_pool_size");
  return use.ok() ? solver->solver.pool().size() : 0;
}

FW_API fw_status fw_solver_set_start_member(fw_solver *solver, int32_t pool_index) {
  return guard([&] {
    FW_REQUIRE_ARG(solver, "solver is NULL");
    const fw::capi::InUse in_use(solver->user, "fw_solver_set_start_member");
    fw::capi::require_idle(solver);
    solver->solver.set_start_member(pool_index);
  });
}

FW_API fw_status fw_solver_set_start_file(fw_solver *solver, const char *path) {
  return guard([&] {
    FW_REQUIRE_ARG(solver && path, "solver or path is NULL");
    const fw::capi::InUse in_use(solver->user, "fw_solver_set_start_file");
    fw::capi::require_idle(solver);
    solver->solver.set_start_file(path);
  });
}

FW_API fw_status fw_solver_set_progress_callback(fw_solver *solver, fw_progress_fn fn,
                                                 void *user_data) {
  return guard([&] {
    FW_REQUIRE_ARG(solver, "solver is NULL");
    const fw::capi::InUse in_use(solver->user, "fw_solver_set_progress_callback");
    solver->progress = fn;
    solver->progress_user_data = user_data;
  });
}

FW_API fw_status fw_solver_set_log_callback(fw_solver *solver, fw_log_fn fn, void *user_data) {
  return guard([&] {
    FW_REQUIRE_ARG(solver, "solver is NULL");
    const fw::capi::InUse in_use(solver->user, "fw_solver_set_log_callback");
    fw::capi::require_idle(solver);
    solver->log = fn;
    solver->log_user_data = user_data;
    if (!fn) return solver->solver.set_log_hook(nullptr);
    solver->solver.set_log_hook([solver](fw::LogLevel level, const std::string &message) {
      solver->log(fw::capi::to_public_enum<fw_log_level>(level), message.c_str(),
                  solver->log_user_data);
    });
  });
}

FW_API fw_status fw_solver_set_abort_callback(fw_solver *solver, fw_abort_fn fn, void *user_data) {
  return guard([&] {
    FW_REQUIRE_ARG(solver, "solver is NULL");
    const fw::capi::InUse in_use(solver->user, "fw_solver_set_abort_callback");
    fw::capi::require_idle(solver);
    solver->abort = fn;
    solver->abort_user_data = user_data;
    if (!fn) return solver->solver.set_abort_hook(nullptr);
    solver->solver.set_abort_hook([solver] { return solver->abort(solver->abort_user_data) != 0; });
  });
}

FW_API void fw_solver_interrupt(fw_solver *solver) {
  if (solver) solver->solver.interrupt();
}

FW_API int32_t fw_solver_history_size(const fw_solver *solver) {
  if (!solver) return 0;
  const fw::capi::TryUse use(solver->user, "fw_solver_history_size");
  return use.ok() ? static_cast<int32_t>(solver->solver.history().size()) : 0;
}

FW_API fw_status fw_solver_history_get(const fw_solver *solver, int32_t i, fw_step_info *info) {
  return guard([&] {
    FW_REQUIRE_ARG(solver && info, "solver or info is NULL");
    const fw::capi::InUse in_use(solver->user, "fw_solver_history_get");
    fw::capi::require_output(info);
    const auto &history = solver->solver.history();
    FW_REQUIRE_ARG(i >= 0 && static_cast<size_t>(i) < history.size(), "step index out of range");
    fw::capi::fill_step_info(history[i], info);
  });
}

FW_API const char *fw_solver_block_name(const fw_solver *solver, int32_t block) {
  if (!solver) return nullptr;
  const fw::capi::TryUse use(solver->user, "fw_solver_block_name");
  if (!use.ok()) return nullptr;
  const auto &names = solver->solver.block_names();
  if (block < 0 || static_cast<size_t>(block) >= names.size()) return nullptr;
  return names[block].c_str();
}

FW_API fw_status fw_solver_current(const fw_solver *solver, const fw_tensor **tensors, size_t *n) {
  return guard([&] {
    FW_REQUIRE_ARG(solver && tensors && n, "solver, tensors or n is NULL");
    const fw::capi::InUse in_use(solver->user, "fw_solver_current");
    const auto &theta = solver->solver.theta();
    if (!fw::uses_host_views(solver->solver)) {
      solver->current_host.clear();
      fw::capi::cached_views(solver->current_views, solver->solver.tensors(), theta);
    } else {
      // host_views on a GPU: host copies, kept while theta_t is the same tensors.
      bool same = solver->current_host_of.size() == theta.size();
      for (size_t t = 0; same && t < theta.size(); ++t)
        same = solver->current_host_of[t] == theta[t].data_ptr();
      if (!same) {
        std::vector<at::Tensor> host;
        std::vector<const void *> of;
        for (const at::Tensor &t : theta) {
          host.push_back(t.cpu());
          of.push_back(t.data_ptr());
        }
        solver->current_host = std::move(host);
        solver->current_host_of = std::move(of);
      }
      fw::capi::cached_views(solver->current_views, solver->solver.tensors(), solver->current_host);
    }
    *tensors = solver->current_views.data();
    *n = solver->current_views.size();
  });
}

}  // extern "C"
