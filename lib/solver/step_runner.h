// Ask/tell without callbacks: runs Solver::step on a worker thread and turns each objective
// evaluation into a request that the host answers from its own loop. The host is blocked whenever
// the worker runs and vice versa, so the solver is never touched by two threads at once.
#pragma once

#include <condition_variable>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "solver/solver.h"

namespace fw {

class StepRunner {
 public:
  struct Request {
    const std::vector<at::Tensor> *point;
    std::vector<at::Tensor> *grad;  // nullptr: loss only
    int term;                       // Evaluator::kAllTerms (-1) or one term
  };

  // Starts the step on an objective of n_terms terms (fw_solver_set_ask_tell_terms); returns once
  // the worker needs its first evaluation or has finished.
  StepRunner(Solver &solver, int n_terms);
  ~StepRunner();  // cancels a step still waiting and joins the worker
  StepRunner(const StepRunner &) = delete;
  StepRunner &operator=(const StepRunner &) = delete;

  // The evaluation the worker waits for, or nullptr once the step has ended.
  const Request *pending() const { return waiting_ ? &request_ : nullptr; }
  // Answers the pending request and waits for the next one or the end of the step.
  void answer(Status status, double loss, const std::string &message);
  // Ends a waiting step with Status::Aborted and `reason` (the solver is left unchanged).
  void cancel(const std::string &reason = "step cancelled by fw_solver_step_cancel");
  // After the end: the step's record, or rethrows its error.
  const StepRecord &result() const;
  // Log lines the step produced since the last call (delivered on the host's thread).
  std::vector<std::pair<LogLevel, std::string>> take_logs();

 private:
  class Bridge;
  void wait_for_worker(std::unique_lock<std::mutex> &lock);

  Solver &solver_;
  std::thread worker_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool waiting_ = false;   // the worker waits for an answer
  bool answered_ = false;  // the host has answered
  bool finished_ = false;
  bool cancelled_ = false;
  std::string cancel_reason_;
  const int n_terms_;
  Request request_{nullptr, nullptr, -1};
  Status answer_status_ = Status::Ok;
  double answer_loss_ = 0;
  std::string answer_message_;
  const StepRecord *record_ = nullptr;
  std::exception_ptr error_;
  std::vector<std::pair<LogLevel, std::string>> logs_;
};

}  // namespace fw
