/*
 * The objective and the hooks as C++ classes that SWIG turns into directors: a Java or Go type
 * overrides evaluate() (or the hooks' methods), and the trampolines adapt them to the library's
 * function pointers (fw_objective_fn, fw_objective_terms_fn, fw_progress_fn, fw_log_fn,
 * fw_abort_fn).
 *
 * Header-only on purpose: the Go toolchain compiles only the files of the package directory plus
 * the SWIG-generated wrapper, so everything the wrapper needs must come in through #include.
 */
#ifndef FW_OBJECTIVE_DIRECTOR_H
#define FW_OBJECTIVE_DIRECTOR_H

#include <exception>
#include <string>

#include "fwmerge.h"

namespace fwswig {

class Objective {
 public:
  Objective() = default;
  Objective(const Objective &) = delete;
  Objective &operator=(const Objective &) = delete;
  virtual ~Objective() = default;

  /* Returns the loss at params[0..n). grads is NULL when only the loss is wanted; otherwise n
   * zero-filled views to write the gradient into. All views die when this call returns.
   * To fail, call fail(message) and return (the returned value is then ignored). */
  virtual double evaluate(const fw_tensor *params, fw_tensor *grads, size_t n) = 0;

  /* Marks the running evaluation as failed; the step then ends with FW_ERR_CALLBACK and
   * fw_last_error() carries the message. */
  void fail(const char *message) {
    failed_ = true;
    message_ = message ? message : "";
  }

  /* Used by objective_trampoline(); not part of the host's surface. */
  void begin_evaluation() {
    failed_ = false;
    message_.clear();
  }
  bool failed() const { return failed_; }
  const char *failure_message() const { return message_.c_str(); }

 private:
  bool failed_ = false;
  std::string message_;
};

/* Runs one host evaluation (host: an Objective or a TermsObjective; evaluate: returns the loss)
 * and maps its outcome to a status. No C++ exception leaves this function: the library is C and
 * would terminate. A SWIG director exception (a Java throwable that escaped the host's evaluate)
 * lands here too, with the Java exception already cleared by SWIG. */
template <class Host, class Evaluate>
inline fw_status run_host_evaluation(Host *host, double *loss, Evaluate evaluate) {
  host->begin_evaluation();
  try {
    const double value = evaluate();
    if (host->failed()) {
      fw_set_callback_error(host->failure_message());
      return FW_ERR_CALLBACK;
    }
    *loss = value;
    return FW_OK;
  } catch (const std::exception &e) {
    fw_set_callback_error(e.what());
  } catch (...) {
    fw_set_callback_error("the host objective threw an unknown exception");
  }
  return FW_ERR_CALLBACK;
}

/* fw_objective_fn over an Objective passed as user_data. */
inline fw_status objective_trampoline(const fw_tensor *params, size_t n, fw_tensor *grads,
                                      double *loss, void *user_data) {
  auto *objective = static_cast<Objective *>(user_data);
  return run_host_evaluation(objective, loss,
                             [&] { return objective->evaluate(params, grads, n); });
}

/* Installs (or, with NULL, removes) a host objective. The caller keeps the object alive while
 * the solver may call it. */
inline fw_status set_objective(fw_solver *solver, Objective *objective) {
  if (objective == nullptr) return fw_solver_set_objective_callback(solver, nullptr, nullptr);
  return fw_solver_set_objective_callback(solver, objective_trampoline, objective);
}

/* A multi-term objective l = l_0 + ... + l_{n_terms-1} (fw_objective_terms_fn) as a director: the
 * host overrides evaluate(term, ...), told which term to evaluate (FW_ALL_TERMS: the whole
 * objective; else term alone). Failing works as for Objective. */
class TermsObjective {
 public:
  TermsObjective() = default;
  TermsObjective(const TermsObjective &) = delete;
  TermsObjective &operator=(const TermsObjective &) = delete;
  virtual ~TermsObjective() = default;

  /* As Objective::evaluate, for term (FW_ALL_TERMS or 0 <= term < n_terms). */
  virtual double evaluate(int32_t term, const fw_tensor *params, fw_tensor *grads, size_t n) = 0;

  void fail(const char *message) {
    failed_ = true;
    message_ = message ? message : "";
  }

  /* Used by objective_terms_trampoline(); not part of the host's surface. */
  void begin_evaluation() {
    failed_ = false;
    message_.clear();
  }
  bool failed() const { return failed_; }
  const char *failure_message() const { return message_.c_str(); }

 private:
  bool failed_ = false;
  std::string message_;
};

/* fw_objective_terms_fn over a TermsObjective passed as user_data. */
inline fw_status objective_terms_trampoline(int32_t term, const fw_tensor *params, size_t n,
                                            fw_tensor *grads, double *loss, void *user_data) {
  auto *objective = static_cast<TermsObjective *>(user_data);
  return run_host_evaluation(objective, loss,
                             [&] { return objective->evaluate(term, params, grads, n); });
}

/* Installs (or, with NULL, removes) a multi-term host objective of n_terms terms. The caller keeps
 * the object alive while the solver may call it. */
inline fw_status set_objective_terms(fw_solver *solver, TermsObjective *objective,
                                     int32_t n_terms) {
  if (objective == nullptr)
    return fw_solver_set_objective_terms_callback(solver, nullptr, n_terms, nullptr);
  return fw_solver_set_objective_terms_callback(solver, objective_terms_trampoline, n_terms,
                                                objective);
}

/* The progress, log and abort hooks as one C++ class that SWIG turns into a director: a Java or
 * Go type overrides the methods it needs; progress_trampoline() and friends adapt them to
 * fw_progress_fn, fw_log_fn and fw_abort_fn. The same object may serve all three hooks of a
 * solver (set_progress / set_log / set_abort install one hook each) and fw_merge's abort hook.
 *
 * Failure policy (the same as the Rust crate's): no C++ exception leaves a trampoline. An
 * exception escaping progress() or log() is swallowed (the step has already succeeded; the host
 * layers catch their own throwables and panics before that and document what they do); one
 * escaping abort() counts as "abort" (the library then stops with FW_ERR_ABORTED). */
class Hooks {
 public:
  Hooks() = default;
  Hooks(const Hooks &) = delete;
  Hooks &operator=(const Hooks &) = delete;
  virtual ~Hooks() = default;

  /* After each completed step; info is valid during the call only. */
  virtual void progress(const fw_step_info *info) { (void)info; }
  /* A library log line; message is valid during the call only. */
  virtual void log(fw_log_level level, const char *message) {
    (void)level;
    (void)message;
  }
  /* Polled between tensors and evaluations; true stops the work with FW_ERR_ABORTED. */
  virtual bool abort() { return false; }
};

inline void progress_trampoline(const fw_step_info *info, void *user_data) {
  try {
    static_cast<Hooks *>(user_data)->progress(info);
  } catch (...) {
  }
}

inline void log_trampoline(fw_log_level level, const char *message, void *user_data) {
  try {
    static_cast<Hooks *>(user_data)->log(level, message ? message : "");
  } catch (...) {
  }
}

inline int abort_trampoline(void *user_data) {
  try {
    return static_cast<Hooks *>(user_data)->abort() ? 1 : 0;
  } catch (...) {
    return 1;
  }
}

/* Install (or, with NULL, remove) one hook of a solver. The caller keeps the object alive while
 * the solver may call it. */
inline fw_status set_progress(fw_solver *solver, Hooks *hooks) {
  if (hooks == nullptr) return fw_solver_set_progress_callback(solver, nullptr, nullptr);
  return fw_solver_set_progress_callback(solver, progress_trampoline, hooks);
}
inline fw_status set_log(fw_solver *solver, Hooks *hooks) {
  if (hooks == nullptr) return fw_solver_set_log_callback(solver, nullptr, nullptr);
  return fw_solver_set_log_callback(solver, log_trampoline, hooks);
}
inline fw_status set_abort(fw_solver *solver, Hooks *hooks) {
  if (hooks == nullptr) return fw_solver_set_abort_callback(solver, nullptr, nullptr);
  return fw_solver_set_abort_callback(solver, abort_trampoline, hooks);
}

}  // namespace fwswig

#endif /* FW_OBJECTIVE_DIRECTOR_H */
