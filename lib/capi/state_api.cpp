// C entry points for resuming a run: fw_solver_state_save / fw_solver_state_load
// (lib/solver/state_file.h).
#include "capi/guard.h"
#include "capi/handle.h"
#include "solver/state_file.h"
#include "util/error.h"

using fw::capi::guard;

extern "C" {

FW_API fw_status fw_solver_state_save(fw_solver *solver, const char *path) {
  return guard([&] {
    FW_REQUIRE_ARG(solver && path, "solver or path is NULL");
    const fw::capi::InUse in_use(solver->user, "fw_solver_state_save");
    fw::capi::require_idle(solver);
    const fw::Solver &s = solver->solver;
    s.base();  // FW_ERR_STATE without a base
    if (s.comm())
      fw::fail(::fw::Status::Unsupported,
               "[dist] fw_solver_state_save of a sharded solver is not in this version");
    fw::save_state(s, path, [&s] { s.poll_abort(); });
  });
}

FW_API fw_status fw_solver_state_load(fw_solver *solver, const char *path) {
  return guard([&] {
    FW_REQUIRE_ARG(solver && path, "solver or path is NULL");
    const fw::capi::InUse in_use(solver->user, "fw_solver_state_load");
    fw::capi::require_idle(solver);
    if (solver->solver.comm())
      fw::fail(::fw::Status::Unsupported,
               "[dist] fw_solver_state_load of a sharded solver is not in this version");
    fw::load_state(solver->solver, path);
  });
}

}  // extern "C"
