/*
 * The objective as a C++ class that SWIG turns into a director: a Java or Go type overrides
 * evaluate(), and objective_trampoline() adapts it to fw_objective_fn.
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

/* fw_objective_fn over an Objective passed as user_data. No C++ exception leaves this function:
 * the library is C and would terminate. A SWIG director exception (a Java throwable that escaped
 * the host's evaluate) lands here too, with the Java exception already cleared by SWIG. */
inline fw_status objective_trampoline(const fw_tensor *params, size_t n, fw_tensor *grads,
                                      double *loss, void *user_data) {
  auto *objective = static_cast<Objective *>(user_data);
  objective->begin_evaluation();
  try {
    const double value = objective->evaluate(params, grads, n);
    if (objective->failed()) {
      fw_set_callback_error(objective->failure_message());
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

/* Installs (or, with NULL, removes) a host objective. The caller keeps the object alive while
 * the solver may call it. */
inline fw_status set_objective(fw_solver *solver, Objective *objective) {
  if (objective == nullptr) return fw_set_objective_callback(solver, nullptr, nullptr);
  return fw_set_objective_callback(solver, objective_trampoline, objective);
}

}  // namespace fwswig

#endif /* FW_OBJECTIVE_DIRECTOR_H */
