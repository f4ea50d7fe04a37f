// One FW iteration: gradient at theta_t, LMO, gap test, then the hard or soft update. Everything is
// built in locals; the iterate and history change only in the last lines (transactional step).
#include <algorithm>
#include <cmath>

#include "solver/chunks.h"
#include "solver/step_internal.h"
#include "util/error.h"
#include "util/thread_scope.h"

namespace fw {

double inner_product(const at::Tensor &a, const at::Tensor &b) { return dot_f32(a, b); }

namespace {

void check_finite(double loss, const std::vector<at::Tensor> *grad,
                  const std::vector<TensorMeta> &metas) {
  if (!std::isfinite(loss))
    fail(Status::NonFinite, "objective returned a non-finite loss (" + std::to_string(loss) + ")");
  if (grad) {
    for (size_t t = 0; t < grad->size(); ++t)
      if (!at::isfinite((*grad)[t]).all().item<bool>())
        fail(Status::NonFinite,
             "objective returned a non-finite gradient for tensor '" + metas[t].name + "'");
  }
}

}  // namespace

double checked_evaluate(Evaluator &evaluator, const std::vector<at::Tensor> &point,
                        std::vector<at::Tensor> *grad, const std::vector<TensorMeta> &metas,
                        Comm *comm, int term) {
  if (grad)
    for (at::Tensor &g : *grad) g.zero_();
  const auto local = [&] {
    const double loss =
        term < 0 ? evaluator.evaluate(point, grad) : evaluator.evaluate_term(term, point, grad);
    check_finite(loss, grad, metas);  // before the exchange: a bad rank fails every rank
    return loss;
  };
  if (!comm) return local();
  const double agreed = comm->agree_loss(local);
  check_finite(agreed, nullptr, metas);  // the ranks' parts can add up to an overflow
  return agreed;
}

namespace {

// The step's evaluations against SolverConfig::max_evaluations: the call that would exceed the
// budget is not made.
class BudgetedEvaluator : public Evaluator {
 public:
  BudgetedEvaluator(Evaluator &inner, int64_t budget, int64_t spent, size_t steps)
      : inner_(inner), budget_(budget), spent_(spent), steps_(steps) {}
  double evaluate(const std::vector<at::Tensor> &point, std::vector<at::Tensor> *grad) override {
    charge();
    return inner_.evaluate(point, grad);
  }
  int n_terms() const override { return inner_.n_terms(); }
  double evaluate_term(int term, const std::vector<at::Tensor> &point,
                       std::vector<at::Tensor> *grad) override {
    charge();
    return inner_.evaluate_term(term, point, grad);
  }

 private:
  void charge() {
    if (spent_ + used_ >= budget_)
      throw BudgetSpent(Status::State,
                        "[budget] max_evaluations (" + std::to_string(budget_) + ") is spent: " +
                            std::to_string(spent_) + " evaluations in " + std::to_string(steps_) +
                            " steps, and this step would need more than " + std::to_string(used_));
    ++used_;
  }

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
  BudgetedEvaluator budgeted(host_objective, config_.max_evaluations, evaluations_spent(),
                             history_.size());
  Evaluator &evaluator =
      config_.max_evaluations > 0 ? static_cast<Evaluator &>(budgeted) : host_objective;
  require_base();
  if (pool_.empty())
    fail(Status::State, "the pool is empty: add checkpoints with fw_solver_pool_add");
  const ThreadScope threads(config_.threads);
  const auto &metas = base_->tensors();
  std::vector<double> none;
  exchange("the checks before its step", none, [&] {
    poll_abort();
    check_files_unchanged();
  });
  const std::vector<Vertex> verts = vertices();

  const auto zeros = [&] {
    std::vector<at::Tensor> g;
    g.reserve(theta_.size());
    for (const at::Tensor &t : theta_) g.push_back(at::zeros_like(t));
    return g;
  };
  std::vector<at::Tensor> grad = zeros();
  // Per-term top-k (fw_topk_rule): each term's gradient, and their sums as l(theta_t) and its
  // gradient.
  const bool soft = config_.lmo == Lmo::Soft;
  const int n_terms = soft && config_.topk_rule == TopkRule::PerTerm ? evaluator.n_terms() : 1;
  std::vector<std::vector<at::Tensor>> term_grads;
  double loss = 0;
  if (n_terms > 1) {
    for (int j = 0; j < n_terms; ++j) {
      term_grads.push_back(zeros());
      loss += checked_evaluate(evaluator, theta_, &term_grads.back(), metas, comm_.get(), j);
      for (size_t t = 0; t < grad.size(); ++t) grad[t].add_(term_grads.back()[t]);
    }
  } else {
    loss = checked_evaluate(evaluator, theta_, &grad, metas, comm_.get());
  }
  std::vector<const std::vector<at::Tensor> *> grads{&grad};
  for (const auto &g : term_grads) grads.push_back(&g);
  std::vector<LmoScores> all_scores = lmo_pass(grads, verts);
  const LmoScores scores = std::move(all_scores.front());
  all_scores.erase(all_scores.begin());  // the terms' scores
  // The scores are all the update needs of the gradients: free them before the trial points and
  // the next iterate are built (one model-sized copy less at the step's peak).
  grad.clear();
  term_grads.clear();
  double gap = 0;
  for (size_t b = 0; b < block_names_.size(); ++b)
    gap += scores.theta_inner[b] - scores.inner[scores.ranking[b][0]][b];

  std::vector<at::Tensor> next;
  StepRecord record;
  if (gap <= config_.epsilon) {
    record.converged = true;
    record.k = 1;
    for (size_t b = 0; b < block_names_.size(); ++b) {
      record.chosen.push_back(verts[scores.ranking[b][0]].id);
      record.lambdas.push_back(0.0);
    }
    record.loss_after = loss;
    record.evaluations = n_terms;
  } else if (config_.lmo == Lmo::Hard) {
    record = hard_step(evaluator, loss, scores, verts, &next);
  } else {
    const size_t k = n_terms > 1 ? std::max<size_t>(config_.top_k, n_terms) : config_.top_k;
    record =
        soft_step(evaluator, loss, select_candidates(scores, all_scores, k), n_terms, verts, &next);
  }
  record.iteration = static_cast<int>(history_.size());
  record.loss = loss;
  record.gap = gap;
  // Unconstrained Adam lambdas and the box (sum > 1) may also leave the hull.
  const bool unbounded = config_.lmo == Lmo::Soft && (config_.soft_solver == SoftSolver::Adam ||
                                                      config_.soft_solver == SoftSolver::Box);
  record.leaves_hull = (merge_fn_->leaves_hull() || unbounded) && !record.converged;
  log(LogLevel::Info, "step " + std::to_string(record.iteration) + ": loss " +
                          std::to_string(loss) + ", gap " + std::to_string(gap) + ", gamma " +
                          std::to_string(record.gamma));

  // Commit (the move of theta cannot throw, so push the record first).
  const bool converged = record.converged;
  history_.push_back(std::move(record));
  if (!converged) theta_ = std::move(next);
  return history_.back();
}

}  // namespace fw
