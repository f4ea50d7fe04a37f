// C entry points of the data-free merges and of the FW solver's merge function / merged start.
#include <cstring>
#include <string>
#include <vector>

#include "capi/enums.h"
#include "capi/guard.h"
#include "capi/handle.h"
#include "capi/read_merge_params.h"
#include "merge/data_free.h"
#include "merge/merge_fns.h"
#include "merge/merge_spec.h"
#include "util/error.h"

using fw::capi::guard;

namespace {

void require_no_steps(const fw_solver *solver, const char *what) {
  fw::capi::require_idle(solver);
  if (!solver->solver.history().empty())
    fw::fail(::fw::Status::State, std::string(what) + " is only allowed before the first step");
}

}  // namespace

extern "C" {

FW_API fw_status fw_merge(const fw_merge_params *params, const char *base_path,
                          const char *const *pool_paths, size_t n, const char *out_path,
                          const fw_export_options *opts) {
  return guard([&] {
    FW_REQUIRE_ARG(params, "params is NULL");
    FW_REQUIRE_ARG(base_path && out_path, "base_path or out_path is NULL");
    FW_REQUIRE_ARG(n > 0, "the pool is empty (n == 0)");
    FW_REQUIRE_ARG(pool_paths, "pool_paths is NULL");
    std::vector<std::string> paths;
    for (size_t i = 0; i < n; ++i) {
      FW_REQUIRE_ARG(pool_paths[i], "pool path " + std::to_string(i) + " is NULL");
      paths.emplace_back(pool_paths[i]);
    }
    const fw::MergeSpec spec = fw::capi::read_merge_params(params, n);
    const fw_export_options o = fw::capi::read_export_options(opts);
    FW_REQUIRE_ARG(o.rank_shards == 0,
                   "fw_export_options.rank_shards is for fw_solver_export only");
    fw::merge_to_file(spec, base_path, paths, out_path, fw::capi::export_dtype(o.dtype),
                      fw::capi::output_layout(o));
  });
}

FW_API fw_status fw_solver_set_merge_function(fw_solver *solver, const fw_merge_params *params) {
  return guard([&] {
    FW_REQUIRE_ARG(solver, "solver is NULL");
    const fw::capi::InUse in_use(solver->user, "fw_solver_set_merge_function");
    require_no_steps(solver, "changing the merge function");
    if (params == nullptr) {
      solver->solver.set_merge_fn(fw::make_convex_merge_fn());
      return;
    }
    const fw::MergeSpec spec = fw::capi::read_merge_params(params, 0);
    solver->solver.set_merge_fn(spec.method == fw::MergeMethod::Linear
                                    ? fw::make_convex_merge_fn()
                                    : fw::make_method_merge_fn(spec));
  });
}

FW_API fw_status fw_solver_set_start_merge(fw_solver *solver, const fw_merge_params *params) {
  return guard([&] {
    FW_REQUIRE_ARG(solver && params, "solver or params is NULL");
    const fw::capi::InUse in_use(solver->user, "fw_solver_set_start_merge");
    require_no_steps(solver, "changing the start point");
    fw::Solver &s = solver->solver;
    if (!s.has_base())
      fw::fail(::fw::Status::State, "fw_solver_set_start_merge: set the base first");
    if (s.pool().empty())
      fw::fail(::fw::Status::State, "fw_solver_set_start_merge: the pool is empty");
    fw::MergeSpec spec = fw::capi::read_merge_params(params, s.pool().size());
    // DARE's random masks are keyed by the tensor's position in the (here: this rank's) list.
    if (s.comm() && fw::is_dare(spec.method))
      fw::fail(::fw::Status::Unsupported,
               "[dist] a DARE start merge on a sharded solver is not in this version (its masks "
               "would differ from the single-process run's)");
    // fw_solver_interrupt and the solver's abort hook stop it; the params' own hook as well.
    spec.stop = [&s, own = spec.stop] {
      s.poll_abort();
      fw::poll(own);
    };
    std::vector<const fw::Checkpoint *> pool;
    for (const auto &member : s.pool()) pool.push_back(member.get());
    s.set_start_tensors(fw::merge_to_tensors(spec, s.base(), pool),
                        "data-free merge " + fw::spec_json(spec).dump());
  });
}

}  // extern "C"
