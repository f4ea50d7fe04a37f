// One FW iteration: gradient at theta_t, LMO, gap test, then the hard or soft update. Everything is
// built in locals; the iterate and history change only in the last lines (transactional step).
#include <cmath>

#include "solver/chunks.h"
#include "solver/step_internal.h"
#include "util/error.h"
#include "util/thread_scope.h"

namespace fw {

double inner_product(const at::Tensor &a, const at::Tensor &b) { return dot_f32(a, b); }

double checked_evaluate(Evaluator &evaluator, const std::vector<at::Tensor> &point,
                        std::vector<at::Tensor> *grad, const std::vector<TensorMeta> &metas) {
  if (grad)
    for (at::Tensor &g : *grad) g.zero_();
  const double loss = evaluator.evaluate(point, grad);
  if (!std::isfinite(loss))
    fail(FW_ERR_NON_FINITE, "objective returned a non-finite loss (" + std::to_string(loss) + ")");
  if (grad) {
    for (size_t t = 0; t < grad->size(); ++t)
      if (!at::isfinite((*grad)[t]).all().item<bool>())
        fail(FW_ERR_NON_FINITE,
             "objective returned a non-finite gradient for tensor '" + metas[t].name + "'");
  }
  return loss;
}

namespace {

// The step's evaluations against fw_params.max_evaluations: the call that would exceed the budget
// is not made.
class BudgetedEvaluator : public Evaluator {
 public:
  BudgetedEvaluator(Evaluator &inner, int64_t budget, int64_t spent, size_t steps)
      : inner_(inner), budget_(budget), spent_(spent), steps_(steps) {}
  double evaluate(const std::vector<at::Tensor> &point, std::vector<at::Tensor> *grad) override {
    if (spent_ + used_ >= budget_)
      throw BudgetSpent(FW_ERR_STATE,
                        "[budget] max_evaluations (" + std::to_string(budget_) + ") is spent: " +
                            std::to_string(spent_) + " evaluations in " + std::to_string(steps_) +
                            " steps, and this step would need more than " + std::to_string(used_));
    ++used_;
    return inner_.evaluate(point, grad);
  }

 private:
  Evaluator &inner_;
  const int64_t budget_, spent_;
  const size_t steps_;
  int64_t used_ = 0;
};

}  // namespace

int64_t Solver::evaluations_spent() const {
  int64_t total = 0;
  for (const StepRecord &r : history_) total += r.evaluations;
  return total;
}

const StepRecord &Solver::step(Evaluator &host_objective) {
  BudgetedEvaluator budgeted(host_objective, params_.max_evaluations, evaluations_spent(),
                             history_.size());
  Evaluator &evaluator =
      params_.max_evaluations > 0 ? static_cast<Evaluator &>(budgeted) : host_objective;
  require_base();
  if (pool_.empty()) fail(FW_ERR_STATE, "the pool is empty: add checkpoints with fw_pool_add");
  const ThreadScope threads(params_.threads);
  poll_abort();
  check_files_unchanged();
  const auto &metas = base_->tensors();
  const std::vector<Vertex> verts = vertices();

  std::vector<at::Tensor> grad;
  grad.reserve(theta_.size());
  for (const at::Tensor &t : theta_) grad.push_back(at::zeros_like(t));
  const double loss = checked_evaluate(evaluator, theta_, &grad, metas);

  const LmoScores scores = lmo_pass(grad, verts);
  // The scores are all the update needs of the gradient: free it before the trial points and the
  // next iterate are built (one model-sized copy less at the step's peak).
  grad.clear();
  double gap = 0;
  for (size_t b = 0; b < block_names_.size(); ++b)
    gap += scores.theta_inner[b] - scores.inner[scores.ranking[b][0]][b];

  std::vector<at::Tensor> next;
  StepRecord record;
  if (gap <= params_.epsilon) {
    record.converged = true;
    record.k = 1;
    for (size_t b = 0; b < block_names_.size(); ++b) {
      record.chosen.push_back(verts[scores.ranking[b][0]].id);
      record.lambdas.push_back(0.0);
    }
    record.loss_after = loss;
    record.evaluations = 1;
  } else if (params_.lmo == FW_LMO_HARD) {
    record = hard_step(evaluator, loss, scores, verts, &next);
  } else {
    record = soft_step(evaluator, loss, scores, verts, &next);
  }
  record.iteration = static_cast<int>(history_.size());
  record.loss = loss;
  record.gap = gap;
  // Unconstrained Adam lambdas may also leave the hull.
  const bool adam = params_.lmo == FW_LMO_SOFT && params_.soft_solver == FW_SOFT_ADAM;
  record.leaves_hull = (merge_fn_->leaves_hull() || adam) && !record.converged;
  log(FW_LOG_INFO, "step " + std::to_string(record.iteration) + ": loss " + std::to_string(loss) +
                       ", gap " + std::to_string(gap) + ", gamma " + std::to_string(record.gamma));

  // Commit (the move of theta cannot throw, so push the record first).
  const bool converged = record.converged;
  history_.push_back(std::move(record));
  if (!converged) theta_ = std::move(next);
  return history_.back();
}

}  // namespace fw
