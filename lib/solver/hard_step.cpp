// Hard FW update (Algorithm 1, lines 7-8): s_t is the argmin vertex per block, d_t = s_t - theta_t,
// gamma from a line search or a schedule, theta_{t+1} = MergeFn(theta_t, s_t, gamma).
#include <cmath>
#include <limits>

#include "solver/line_search.h"
#include "solver/step_internal.h"

namespace fw {

StepRecord Solver::hard_step(Evaluator &evaluator, double loss, const LmoScores &scores,
                             const std::vector<Vertex> &verts,
                             std::vector<at::Tensor> *next) const {
  const auto &metas = base_->tensors();
  const size_t n_blocks = block_names_.size();
  auto vertex_of = [&](size_t t) -> const Checkpoint & {
    return *verts[scores.ranking[block_of_tensor_[t]][0]].checkpoint;
  };
  double slope = 0;  // <grad, d_t> = -gap
  for (size_t b = 0; b < n_blocks; ++b)
    slope += scores.inner[scores.ranking[b][0]][b] - scores.theta_inner[b];

  const std::function<void()> poll = [this] { poll_abort(); };
  StepRecord record;
  record.evaluations = 1;
  record.loss_after = std::numeric_limits<double>::quiet_NaN();
  double gamma = 0;
  const double t = static_cast<double>(history_.size());
  switch (config_.step_rule) {
    case StepRule::Schedule:
      gamma = std::min(1.0, config_.step_scale * 2.0 / (t + 2.0));
      break;
    case StepRule::Constant:
      gamma = config_.step_scale;
      break;
    case StepRule::LineSearch: {
      auto phi = [&](double g) {
        std::vector<at::Tensor> trial;  // theta_t + g d_t, one model-sized buffer
        trial.reserve(metas.size());
        const ChunkFn lerp = [g](const at::Tensor &theta, const std::vector<at::Tensor> &s) {
          return at::lerp(theta, s[0], g);
        };
        for (size_t i = 0; i < metas.size(); ++i)
          trial.push_back(map_chunks(theta_[i], {source_of(vertex_of(i))}, metas[i].name,
                                     kUpdateChunk, place_, lerp, poll));
        return checked_evaluate(evaluator, trial, nullptr, metas, comm_.get());
      };
      const LineSearchResult ls =
          quadratic_line_search(loss, slope, config_.line_search_evals, phi);
      gamma = ls.gamma;
      record.evaluations += ls.evaluations;
      if (!merge_fn_->leaves_hull()) record.loss_after = ls.loss;
      break;
    }
  }

  next->clear();
  next->reserve(metas.size());
  // Elementwise merge functions (the convex one) run chunk by chunk; the others (TIES, DARE) see
  // whole tensors.
  const int64_t chunk = merge_fn_->elementwise() ? kUpdateChunk : 0;
  for (size_t i = 0; i < metas.size(); ++i) {
    const uint64_t seed = tensor_seed(i);
    const ChunkFn update = [&](const at::Tensor &theta, const std::vector<at::Tensor> &s) {
      return merge_fn_->apply(theta, {(s[0] - theta).mul_(gamma)}, seed);
    };
    next->push_back(map_chunks(theta_[i], {source_of(vertex_of(i))}, metas[i].name, chunk, place_,
                               update, poll));
  }
  record.gamma = gamma;
  record.k = 1;
  for (size_t b = 0; b < n_blocks; ++b) {
    record.chosen.push_back(verts[scores.ranking[b][0]].id);
    record.lambdas.push_back(gamma);
  }
  return record;
}

}  // namespace fw
