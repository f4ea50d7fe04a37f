// C entry points of the built-in LibTorch objective (lib/objective): the C struct becomes a spec,
// the evaluator is plugged into the handle's objective seam.
#include <memory>
#include <string>

#include "capi/defaults.h"
#include "capi/guard.h"
#include "capi/handle.h"
#include "capi/versioned.h"
#include "fwmerge.h"
#include "objective/torchscript_objective.h"
#include "util/error.h"

using fw::capi::guard;

namespace {

std::string required(const char *text, const std::string &what) {
  if (!text || !*text) fw::fail(::fw::Status::InvalidArgument, what + " is NULL or empty");
  return text;
}

fw::TorchScriptObjectiveSpec to_spec(const fw_torchscript_objective &c) {
  fw::TorchScriptObjectiveSpec spec;
  spec.module_path = required(c.module_path, "module_path");
  spec.calibration_path = required(c.calibration_path, "calibration_path");
  if (c.n_param_map > 0 && !c.param_map)
    fw::fail(::fw::Status::InvalidArgument, "param_map is NULL but n_param_map > 0");
  for (size_t i = 0; i < c.n_param_map; ++i)
    spec.param_map.emplace_back(required(c.param_map[2 * i], "param_map entry"),
                                required(c.param_map[2 * i + 1], "param_map entry"));
  if (c.n_terms == 0 || !c.terms)
    fw::fail(::fw::Status::InvalidArgument, "the objective has no terms");
  for (size_t i = 0; i < c.n_terms; ++i) {
    const fw_objective_term &t = c.terms[i];
    fw::ObjectiveTerm term;
    if (t.method) term.method = t.method;
    term.inputs = required(t.inputs, "term inputs");
    if (t.labels) term.labels = t.labels;
    term.weight = t.weight;
    spec.terms.push_back(term);
  }
  return spec;
}

}  // namespace

extern "C" {

FW_API fw_status fw_solver_set_objective_torchscript(fw_solver *solver,
                                                     const fw_torchscript_objective *objective) {
  return guard([&] {
    FW_REQUIRE_ARG(solver, "solver is NULL");
    const fw::capi::InUse in_use(solver->user, "fw_solver_set_objective_torchscript");
    FW_REQUIRE_ARG(objective, "objective is NULL");
    const fw_torchscript_objective o =
        fw::capi::read_input(objective, fw::capi::default_torchscript_objective());
    fw::capi::require_idle(solver);
    if (!solver->solver.has_base())
      fw::fail(::fw::Status::State, "no base: call fw_solver_set_base first");
    if (solver->solver.comm())
      fw::fail(::fw::Status::Unsupported,
               "[dist] the built-in TorchScript objective needs the whole model; a sharded "
               "solver's rank holds only its shard: use a callback");
    auto evaluator =
        std::make_unique<fw::TorchScriptObjective>(to_spec(o), solver->solver.tensors());
    solver->builtin_objective = std::move(evaluator);
    solver->objective = nullptr;  // the most recently set objective wins
    solver->objective_terms = nullptr;
    solver->objective_user_data = nullptr;
  });
}

}  // extern "C"
