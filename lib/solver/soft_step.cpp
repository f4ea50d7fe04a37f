// Soft FW update (Section 3.3, eq. 9): the top-k vertices per block and coefficients lambda
// minimizing l(theta_t + sum_j lambda_j (s_j - theta_t)). dl/dlambda_j = <grad, s_j - theta_t>, so
// each inner iteration needs one loss+gradient evaluation and two streaming passes over the k
// candidates (build the point, then the k inner products), unless they fit the memory budget.
#include <algorithm>
#include <cmath>
#include <limits>

#include "solver/simplex.h"
#include "solver/step_internal.h"
#include "util/error.h"

namespace fw {

// Candidate tensors c[t][j]: streamed from disk each time, or resident (working dtype, solver's
// device) when the k candidates fit the configured memory budget.
class Solver::CandidateCache {
 public:
  CandidateCache(const Solver &solver, const std::vector<std::vector<const Checkpoint *>> &sources,
                 uint64_t budget) {
    const auto &metas = solver.base_->tensors();
    const uint64_t itemsize = at::elementSize(solver.place_.dtype);
    uint64_t bytes = 0;
    for (size_t t = 0; t < metas.size(); ++t)
      bytes += sources[t].size() * static_cast<uint64_t>(metas[t].numel) * itemsize;
    const bool resident = budget > 0 && bytes <= budget;
    sources_.resize(metas.size());
    for (size_t t = 0; t < metas.size(); ++t)
      for (const Checkpoint *c : sources[t]) {
        Source source{c, at::Tensor()};
        // load_f32 reads into fresh memory (an in-memory start point hands out its own storage,
        // which the cache only reads): no copy on top in fp32 on the CPU.
        if (resident) source.resident = to_placement(c->load_f32(metas[t].name), solver.place_);
        sources_[t].push_back(std::move(source));
      }
  }
  const std::vector<Source> &of(size_t t) const { return sources_[t]; }

 private:
  std::vector<std::vector<Source>> sources_;
};

namespace {

// Adam on unconstrained lambdas (the authors' inner solver).
struct AdamState {
  std::vector<double> m, v;
  int steps = 0;
};

}  // namespace

std::vector<std::vector<int>> select_candidates(const Solver::LmoScores &whole,
                                                const std::vector<Solver::LmoScores> &terms,
                                                size_t k) {
  std::vector<std::vector<int>> selected(whole.ranking.size());
  for (size_t b = 0; b < whole.ranking.size(); ++b) {
    const std::vector<int> &best = whole.ranking[b];
    k = std::min(k, best.size());
    if (terms.empty()) {
      selected[b].assign(best.begin(), best.begin() + static_cast<std::ptrdiff_t>(k));
      continue;
    }
    std::vector<bool> taken(best.size(), false);
    // Round r: term j takes its best vertex not yet taken (its r-th choice at most), so every
    // term brings its own vertex before any term brings a second one.
    for (size_t turn = 0; selected[b].size() < k; ++turn) {
      const std::vector<int> &ranking = terms[turn % terms.size()].ranking[b];
      for (int v : ranking)
        if (!taken[static_cast<size_t>(v)]) {
          taken[static_cast<size_t>(v)] = true;
          selected[b].push_back(v);
          break;
        }
    }
  }
  return selected;
}

StepRecord Solver::soft_step(Evaluator &evaluator, double loss,
                             const std::vector<std::vector<int>> &selected, int evaluations,
                             const std::vector<Vertex> &verts,
                             std::vector<at::Tensor> *next) const {
  const auto &metas = base_->tensors();
  const size_t n_tensors = metas.size();
  const size_t n_blocks = block_names_.size();
  const size_t k = selected.front().size();

  // sources[t][j]: the j-th selected vertex of tensor t's block.
  std::vector<std::vector<const Checkpoint *>> sources(n_tensors);
  for (size_t t = 0; t < n_tensors; ++t)
    for (size_t j = 0; j < k; ++j)
      sources[t].push_back(verts[selected[block_of_tensor_[t]][j]].checkpoint);
  const CandidateCache candidates(*this, sources, config_.soft_memory_budget);

  // lambda[b * k + j]
  const size_t n_lambda = n_blocks * k;
  const bool adam = config_.soft_solver == SoftSolver::Adam;
  double init = 1.0 / static_cast<double>(k);
  if (config_.soft_solver == SoftSolver::Capped || config_.soft_solver == SoftSolver::Box)
    init = 1.0 / static_cast<double>(k + 1);
  if (adam) init = history_.empty() ? 0.3 : 1e-8;  // authors' initialisation
  std::vector<double> lambda(n_lambda, init);

  const std::function<void()> poll = [this] { poll_abort(); };
  std::vector<at::Tensor> point(n_tensors), grad;
  for (const at::Tensor &t : theta_) grad.push_back(at::zeros_like(t));

  std::vector<double> best_lambda = lambda, best_grad, prev_lambda, prev_grad;
  double best_loss = std::numeric_limits<double>::infinity();
  std::vector<double> step(n_blocks, config_.soft_lr);
  AdamState adam_state{std::vector<double>(n_lambda, 0.0), std::vector<double>(n_lambda, 0.0)};

  for (int it = 0; it < config_.soft_iters; ++it) {
    // theta(lambda) = theta_t + sum_j lambda_j (c_j - theta_t), tensor by tensor.
    for (size_t t = 0; t < n_tensors; ++t) {
      const size_t b = block_of_tensor_[t];
      const ChunkFn combine = [&](const at::Tensor &theta, const std::vector<at::Tensor> &c) {
        at::Tensor p = theta.clone();
        for (size_t j = 0; j < k; ++j) p.add_(c[j] - theta, lambda[b * k + j]);
        return p;
      };
      point[t] = at::Tensor();  // the last point's memory goes before the new one is built
      point[t] = map_chunks(theta_[t], candidates.of(t), metas[t].name, kUpdateChunk, place_,
                            combine, poll);
    }
    const double value = checked_evaluate(evaluator, point, &grad, metas, comm_.get());
    ++evaluations;

    // dl/dlambda: each tensor's terms <grad_t, c_j - theta_t> (a sharded solver gathers every
    // rank's), added per block in tensor order.
    std::vector<double> terms(global_tensors().size() * k, 0.0);
    exchange("its soft-FW coefficient gradient", terms, [&] {
      for (size_t t = 0; t < n_tensors; ++t) {
        poll_abort();
        const double g_theta = inner_product(grad[t], theta_[t]);
        for (size_t j = 0; j < k; ++j)
          terms[global_index(t) * k + j] =
              dot_source(grad[t], candidates.of(t)[j], metas[t].name, poll) - g_theta;
      }
    });
    std::vector<double> g(n_lambda, 0.0);
    for (size_t gt = 0; gt < global_tensors().size(); ++gt)
      for (size_t j = 0; j < k; ++j)
        g[static_cast<size_t>(global_block_[gt]) * k + j] += terms[gt * k + j];

    if (value < best_loss) {
      best_loss = value;
      best_lambda = lambda;
      best_grad = g;
    } else if (!adam) {
      // Uphill: return to the best point and shorten the steps (safeguarded projected gradient).
      lambda = best_lambda;
      g = best_grad;
      for (double &s : step) s *= 0.5;
      prev_lambda.clear();
    }
    if (it + 1 == config_.soft_iters) break;

    if (adam) {
      const double lr = config_.soft_lr > 0 ? config_.soft_lr : 1e-3;
      ++adam_state.steps;
      const double c1 = 1.0 - std::pow(0.9, adam_state.steps);
      const double c2 = 1.0 - std::pow(0.999, adam_state.steps);
      for (size_t i = 0; i < n_lambda; ++i) {
        adam_state.m[i] = 0.9 * adam_state.m[i] + 0.1 * g[i];
        adam_state.v[i] = 0.999 * adam_state.v[i] + 0.001 * g[i] * g[i];
        lambda[i] -= lr * (adam_state.m[i] / c1) / (std::sqrt(adam_state.v[i] / c2) + 1e-8);
      }
      continue;
    }

    for (size_t b = 0; b < n_blocks; ++b) {
      if (config_.soft_lr <= 0) {
        if (!prev_lambda.empty()) {
          // Barzilai-Borwein step from the last move of this block's lambdas.
          double ss = 0, sy = 0;
          for (size_t j = 0; j < k; ++j) {
            const double ds = lambda[b * k + j] - prev_lambda[b * k + j];
            const double dy = g[b * k + j] - prev_grad[b * k + j];
            ss += ds * ds;
            sy += ds * dy;
          }
          if (sy > 0 && ss > 0) step[b] = ss / sy;
        } else if (step[b] <= 0) {
          // First move: at most 1/k of the simplex along the largest gradient component.
          double gmax = 0;
          for (size_t j = 0; j < k; ++j) gmax = std::max(gmax, std::fabs(g[b * k + j]));
          step[b] = gmax > 0 ? 1.0 / (static_cast<double>(k) * gmax) : 0.0;
        }
      }
    }
    prev_lambda = lambda;
    prev_grad = g;
    for (size_t b = 0; b < n_blocks; ++b) {
      std::vector<double> block(k);
      for (size_t j = 0; j < k; ++j) block[j] = lambda[b * k + j] - step[b] * g[b * k + j];
      switch (config_.soft_solver) {
        case SoftSolver::Simplex:
          block = project_to_simplex(block);
          break;
        case SoftSolver::Box:
          for (double &l : block) l = std::clamp(l, 0.0, 1.0);
          break;
        default:
          block = project_to_capped_simplex(block);
      }
      for (size_t j = 0; j < k; ++j) lambda[b * k + j] = block[j];
    }
  }

  // A step never raises the loss: when no inner iterate beat l(theta_t), lambda = 0 keeps theta_t.
  // With the capped simplex that point is feasible; on the simplex (a full step to the candidates'
  // face, theta_t infeasible) and with Adam it is the guard that keeps FW monotone.
  if (best_loss > loss) {
    std::fill(best_lambda.begin(), best_lambda.end(), 0.0);
    best_loss = loss;
  }

  // The inner loop's point and gradient are done with: free them before the next iterate.
  point.clear();
  grad.clear();
  next->clear();
  next->reserve(n_tensors);
  const int64_t chunk = merge_fn_->elementwise() ? kUpdateChunk : 0;
  for (size_t t = 0; t < n_tensors; ++t) {
    const size_t b = block_of_tensor_[t];
    const uint64_t seed = tensor_seed(t);
    const ChunkFn update = [&](const at::Tensor &theta, const std::vector<at::Tensor> &c) {
      std::vector<at::Tensor> deltas;
      for (size_t j = 0; j < k; ++j) deltas.push_back((c[j] - theta).mul_(best_lambda[b * k + j]));
      return merge_fn_->apply(theta, deltas, seed);
    };
    next->push_back(
        map_chunks(theta_[t], candidates.of(t), metas[t].name, chunk, place_, update, poll));
  }

  StepRecord record;
  record.k = static_cast<int>(k);
  record.evaluations = evaluations;
  record.loss_after =
      merge_fn_->leaves_hull() ? std::numeric_limits<double>::quiet_NaN() : best_loss;
  double lambda_sum = 0;
  for (size_t b = 0; b < n_blocks; ++b)
    for (size_t j = 0; j < k; ++j) {
      record.chosen.push_back(verts[selected[b][j]].id);
      record.lambdas.push_back(best_lambda[b * k + j]);
      lambda_sum += best_lambda[b * k + j];
    }
  record.gamma = lambda_sum / static_cast<double>(n_blocks);
  return record;
}

}  // namespace fw
