// C entry points for stepping: the host-callback objective, fw_solver_step / fw_solver_run,
// ask/tell.
#include <cstring>
#include <string>

#include "capi/config_map.h"
#include "capi/enums.h"
#include "capi/guard.h"
#include "capi/handle.h"
#include "capi/status_map.h"
#include "capi/versioned.h"
#include "solver/host_views.h"
#include "util/error.h"

namespace {

using fw::capi::guard;

// Adapts the host's fw_objective_fn or fw_objective_terms_fn to the solver's Evaluator: zero-copy
// views, status and message mapping.
class CallbackEvaluator : public fw::Evaluator {
 public:
  CallbackEvaluator(const fw_solver &handle) : handle_(handle) {}
  double evaluate(const std::vector<at::Tensor> &point, std::vector<at::Tensor> *grad) override {
    return call(FW_ALL_TERMS, point, grad);
  }
  int n_terms() const override { return handle_.objective_terms ? handle_.objective_n_terms : 1; }
  double evaluate_term(int term, const std::vector<at::Tensor> &point,
                       std::vector<at::Tensor> *grad) override {
    if (!handle_.objective_terms) return fw::Evaluator::evaluate_term(term, point, grad);
    return call(term, point, grad);
  }

 private:
  double call(int32_t term, const std::vector<at::Tensor> &point, std::vector<at::Tensor> *grad) {
    const auto &metas = handle_.solver.tensors();
    std::vector<fw_tensor> params = fw::capi::make_views(metas, point);
    std::vector<fw_tensor> grads;
    if (grad) grads = fw::capi::make_views(metas, *grad);
    double loss = 0;
    fw::capi::take_callback_error();  // a stale message from an earlier call must not leak in
    // The host may return any int: kept as bytes and read as an integer (lib/capi/enums.h).
    fw_tensor *grad_views = grad ? grads.data() : nullptr;
    const fw_status returned =
        handle_.objective_terms
            ? handle_.objective_terms(term, params.data(), params.size(), grad_views, &loss,
                                      handle_.objective_user_data)
            : handle_.objective(params.data(), params.size(), grad_views, &loss,
                                handle_.objective_user_data);
    const int32_t status = fw::capi::raw_enum(&returned);
    if (status != FW_OK) {
      const std::string reason = fw::capi::take_callback_error();
      const std::string name = fw::capi::enum_in_range<fw_status>(status)
                                   ? fw::capi::status_name(status)
                                   : "unknown status " + std::to_string(status);
      const std::string which = term == FW_ALL_TERMS ? "" : " (term " + std::to_string(term) + ")";
      fw::fail(::fw::Status::Callback, "objective callback" + which + " returned " + name +
                                           (reason.empty() ? std::string() : ": " + reason));
    }
    return loss;
  }

  const fw_solver &handle_;
};

// The objective of a step: the built-in one (it runs on the solver's device), or the host's
// callback, behind host copies when fw_params.host_views asks for them on a GPU.
fw::Evaluator &objective_of(fw_solver *solver, std::unique_ptr<fw::Evaluator> *holder,
                            std::unique_ptr<fw::Evaluator> *host_views) {
  if (solver->builtin_objective) return *solver->builtin_objective;
  if (!solver->objective && !solver->objective_terms)
    fw::fail(::fw::Status::State, "no objective: call fw_solver_set_objective_callback first");
  *holder = std::make_unique<CallbackEvaluator>(*solver);
  if (!fw::uses_host_views(solver->solver)) return **holder;
  *host_views = std::make_unique<fw::HostViews>(**holder);
  return **host_views;
}

void report_progress(fw_solver *solver, const fw::StepRecord &record) {
  if (!solver->progress) return;
  fw_step_info info;
  info.struct_size = sizeof info;
  fw::capi::fill_step_info(record, &info);
  solver->progress(&info, solver->progress_user_data);
}

const fw::StepRecord &step_once(fw_solver *solver) {
  std::unique_ptr<fw::Evaluator> holder, host_views;
  fw::Evaluator &evaluator = objective_of(solver, &holder, &host_views);
  const fw::StepRecord &record = solver->solver.step(evaluator);
  report_progress(solver, record);
  return record;
}

// An interrupt that arrives while an ask/tell step waits for the host ends the step here (the
// worker polls it itself while it runs).
bool honour_interrupt(fw_solver *solver) {
  if (!solver->pending->pending() || !solver->solver.take_interrupt()) return false;
  solver->pending->cancel("interrupted by fw_solver_interrupt");
  return true;
}

void deliver_logs(fw_solver *solver) {
  for (const auto &line : solver->pending->take_logs())
    if (solver->log)
      solver->log(fw::capi::to_public_enum<fw_log_level>(line.first), line.second.c_str(),
                  solver->log_user_data);
}

void fill_request(fw_solver *solver, fw_request *request) {
  const fw::StepRunner::Request *pending = solver->pending->pending();
  fw_request full;
  std::memset(&full, 0, sizeof full);
  full.struct_size = sizeof full;
  full.done = pending ? 0 : 1;
  full.need_gradient = pending && pending->grad ? 1 : 0;
  full.n = 0;
  full.params = nullptr;
  full.grads = nullptr;
  if (pending) {
    const auto &metas = solver->solver.tensors();
    fw::capi::cached_views(solver->request_params, metas, *pending->point);
    if (pending->grad) fw::capi::cached_views(solver->request_grads, metas, *pending->grad);
    full.n = solver->request_params.size();
    full.params = solver->request_params.data();
    full.grads = pending->grad ? solver->request_grads.data() : nullptr;
    full.term = pending->term;
  } else {
    full.term = FW_ALL_TERMS;
  }
  fw::capi::write_output(request, full);
}

}  // namespace

extern "C" {

FW_API fw_status fw_solver_set_objective_callback(fw_solver *solver, fw_objective_fn fn,
                                                  void *user_data) {
  return guard([&] {
    FW_REQUIRE_ARG(solver, "solver is NULL");
    const fw::capi::InUse in_use(solver->user, "fw_solver_set_objective_callback");
    fw::capi::require_idle(solver);
    solver->objective = fn;
    solver->objective_terms = nullptr;
    solver->objective_n_terms = 1;
    solver->objective_user_data = user_data;
    solver->builtin_objective.reset();  // the most recently set objective wins
  });
}

FW_API fw_status fw_solver_set_objective_terms_callback(fw_solver *solver, fw_objective_terms_fn fn,
                                                        int32_t n_terms, void *user_data) {
  return guard([&] {
    FW_REQUIRE_ARG(solver, "solver is NULL");
    const fw::capi::InUse in_use(solver->user, "fw_solver_set_objective_terms_callback");
    FW_REQUIRE_ARG(n_terms >= 1, "n_terms must be >= 1, got " + std::to_string(n_terms));
    fw::capi::require_idle(solver);
    solver->objective = nullptr;
    solver->objective_terms = fn;
    solver->objective_n_terms = fn ? n_terms : 1;
    solver->objective_user_data = user_data;
    solver->builtin_objective.reset();
  });
}

FW_API fw_status fw_solver_set_ask_tell_terms(fw_solver *solver, int32_t n_terms) {
  return guard([&] {
    FW_REQUIRE_ARG(solver, "solver is NULL");
    const fw::capi::InUse in_use(solver->user, "fw_solver_set_ask_tell_terms");
    FW_REQUIRE_ARG(n_terms >= 1, "n_terms must be >= 1, got " + std::to_string(n_terms));
    fw::capi::require_idle(solver);
    solver->ask_tell_terms = n_terms;
  });
}

FW_API fw_status fw_solver_step(fw_solver *solver, fw_step_info *info) {
  return guard([&] {
    FW_REQUIRE_ARG(solver, "solver is NULL");
    const fw::capi::InUse in_use(solver->user, "fw_solver_step");
    fw::capi::require_output(info);
    fw::capi::require_idle(solver);
    const fw::StepRecord &record = step_once(solver);
    if (info) fw::capi::fill_step_info(record, info);
  });
}

FW_API fw_status fw_solver_run(fw_solver *solver, fw_step_info *last) {
  return guard([&] {
    FW_REQUIRE_ARG(solver, "solver is NULL");
    const fw::capi::InUse in_use(solver->user, "fw_solver_run");
    fw::capi::require_output(last);
    fw::capi::require_idle(solver);
    const auto &history = solver->solver.history();
    if (!history.empty() && history.back().converged) {
      if (last) fw::capi::fill_step_info(history.back(), last);
      return;
    }
    while (static_cast<int>(history.size()) < solver->solver.config().max_iters) {
      try {
        const fw::StepRecord &record = step_once(solver);
        if (last) fw::capi::fill_step_info(record, last);
        if (record.converged) break;
      } catch (const fw::BudgetSpent &) {
        if (history.empty()) throw;  // not even one step fits
        if (last) fw::capi::fill_step_info(history.back(), last);
        break;
      }
    }
  });
}

FW_API fw_status fw_solver_step_begin(fw_solver *solver) {
  return guard([&] {
    FW_REQUIRE_ARG(solver, "solver is NULL");
    const fw::capi::InUse in_use(solver->user, "fw_solver_step_begin");
    fw::capi::require_idle(solver);
    solver->solver.base();  // fails early without a base
    solver->pending = std::make_unique<fw::StepRunner>(solver->solver, solver->ask_tell_terms);
    deliver_logs(solver);
  });
}

FW_API fw_status fw_solver_step_ask(fw_solver *solver, fw_request *request) {
  return guard([&] {
    FW_REQUIRE_ARG(solver && request, "solver or request is NULL");
    const fw::capi::InUse in_use(solver->user, "fw_solver_step_ask");
    fw::capi::output_size(request);
    if (!solver->pending)
      fw::fail(::fw::Status::State, "no step in progress: call fw_solver_step_begin");
    honour_interrupt(solver);  // the request then reads done = 1; fw_solver_step_finish reports it
    fill_request(solver, request);
  });
}

FW_API fw_status fw_solver_step_tell(fw_solver *solver, fw_status host_status, double loss) {
  return guard([&] {
    FW_REQUIRE_ARG(solver, "solver is NULL");
    const fw::capi::InUse in_use(solver->user, "fw_solver_step_tell");
    // Rejected before anything else: the evaluation stays pending.
    const fw_status status =
        fw::capi::checked_enum(&host_status, "fw_solver_step_tell: host_status");
    if (!solver->pending)
      fw::fail(::fw::Status::State, "no step in progress: call fw_solver_step_begin");
    if (honour_interrupt(solver)) solver->pending->result();  // throws its FW_ERR_ABORTED
    const std::string reason = status == FW_OK ? "" : fw::capi::take_callback_error();
    solver->pending->answer(fw::capi::to_core(status), loss, reason);
    deliver_logs(solver);
    // When the step has ended, report its failure right away (fw_solver_step_finish returns it
    // again).
    if (!solver->pending->pending()) solver->pending->result();
  });
}

FW_API fw_status fw_solver_step_finish(fw_solver *solver, fw_step_info *info) {
  return guard([&] {
    FW_REQUIRE_ARG(solver, "solver is NULL");
    const fw::capi::InUse in_use(solver->user, "fw_solver_step_finish");
    fw::capi::require_output(info);  // a rejected info leaves the step pending
    if (!solver->pending)
      fw::fail(::fw::Status::State, "no step in progress: call fw_solver_step_begin");
    if (solver->pending->pending())
      fw::fail(::fw::Status::State,
               "the step still waits for an evaluation: fw_solver_step_tell first");
    std::unique_ptr<fw::StepRunner> runner = std::move(solver->pending);
    const fw::StepRecord &record = runner->result();  // rethrows the step's error
    report_progress(solver, record);
    if (info) fw::capi::fill_step_info(record, info);
  });
}

FW_API fw_status fw_solver_step_cancel(fw_solver *solver) {
  return guard([&] {
    FW_REQUIRE_ARG(solver, "solver is NULL");
    const fw::capi::InUse in_use(solver->user, "fw_solver_step_cancel");
    if (!solver->pending) fw::fail(::fw::Status::State, "no step in progress");
    solver->pending.reset();  // cancels and joins; the solver is unchanged
  });
}

}  // extern "C"
