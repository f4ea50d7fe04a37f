#include "solver/step_runner.h"

#include "solver/host_views.h"
#include "util/error.h"

namespace fw {

// The evaluator the worker's step sees: publishes a request and sleeps until the host answers.
class StepRunner::Bridge : public Evaluator {
 public:
  explicit Bridge(StepRunner &runner) : runner_(runner) {}
  double evaluate(const std::vector<at::Tensor> &point, std::vector<at::Tensor> *grad) override {
    return ask(point, grad, kAllTerms);
  }
  int n_terms() const override { return runner_.n_terms_; }
  double evaluate_term(int term, const std::vector<at::Tensor> &point,
                       std::vector<at::Tensor> *grad) override {
    return ask(point, grad, term);
  }

 private:
  double ask(const std::vector<at::Tensor> &point, std::vector<at::Tensor> *grad, int term) {
    std::unique_lock<std::mutex> lock(runner_.mutex_);
    if (runner_.cancelled_) fail(Status::Aborted, runner_.cancel_reason_);
    runner_.request_ = {&point, grad, term};
    runner_.waiting_ = true;
    runner_.answered_ = false;
    runner_.cv_.notify_all();
    runner_.cv_.wait(lock, [&] { return runner_.answered_ || runner_.cancelled_; });
    runner_.waiting_ = false;
    if (runner_.cancelled_) fail(Status::Aborted, runner_.cancel_reason_);
    if (runner_.answer_status_ != Status::Ok)
      fail(Status::Callback,
           "host reported " + std::string(status_name(runner_.answer_status_)) +
               (runner_.answer_message_.empty() ? std::string() : ": " + runner_.answer_message_));
    return runner_.answer_loss_;
  }

  StepRunner &runner_;
};

StepRunner::StepRunner(Solver &solver, int n_terms) : solver_(solver), n_terms_(n_terms) {
  worker_ = std::thread([this] {
    Bridge bridge(*this);
    HostViews host_views(bridge);  // fw_params.host_views on a GPU
    // Hooks run on the host's thread: the abort hook is replaced by fw_solver_step_cancel, logs
    // queue.
    auto saved_abort = solver_.abort_hook();
    auto saved_log = solver_.log_hook();
    solver_.set_abort_hook(nullptr);
    solver_.set_log_hook([this](LogLevel level, const std::string &message) {
      std::lock_guard<std::mutex> lock(mutex_);
      logs_.emplace_back(level, message);
    });
    const StepRecord *record = nullptr;
    std::exception_ptr error;
    try {
      record =
          &solver_.step(uses_host_views(solver_) ? static_cast<Evaluator &>(host_views) : bridge);
    } catch (...) {
      error = std::current_exception();
    }
    solver_.set_abort_hook(saved_abort);
    solver_.set_log_hook(saved_log);
    std::lock_guard<std::mutex> lock(mutex_);
    record_ = record;
    error_ = error;
    finished_ = true;
    cv_.notify_all();
  });
  std::unique_lock<std::mutex> lock(mutex_);
  wait_for_worker(lock);
}

StepRunner::~StepRunner() {
  cancel();
  if (worker_.joinable()) worker_.join();
}

void StepRunner::wait_for_worker(std::unique_lock<std::mutex> &lock) {
  cv_.wait(lock, [&] { return (waiting_ && !answered_) || finished_; });
}

void StepRunner::answer(Status status, double loss, const std::string &message) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (!waiting_ || answered_) fail(Status::State, "no evaluation is pending");
  answer_status_ = status;
  answer_loss_ = loss;
  answer_message_ = message;
  answered_ = true;
  cv_.notify_all();
  wait_for_worker(lock);
}

void StepRunner::cancel(const std::string &reason) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (finished_) return;
  cancelled_ = true;
  cancel_reason_ = reason;
  cv_.notify_all();
  cv_.wait(lock, [&] { return finished_; });
}

const StepRecord &StepRunner::result() const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!finished_) fail(Status::State, "the step has not ended: answer the pending request first");
  if (error_) std::rethrow_exception(error_);
  return *record_;
}

std::vector<std::pair<LogLevel, std::string>> StepRunner::take_logs() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::pair<LogLevel, std::string>> out;
  out.swap(logs_);
  return out;
}

}  // namespace fw
