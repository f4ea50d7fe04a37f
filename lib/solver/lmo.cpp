// The linear minimization oracle (eq. 7): scores <grad, theta_i> per vertex and block, computed by
// streaming each vertex once, tensor by tensor, and releasing its pages right after: resident
// memory does not depend on the pool size.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "solver/step_internal.h"

namespace fw {
Solver::LmoScores Solver::lmo_pass(const std::vector<at::Tensor> &grad,
                                   const std::vector<Vertex> &verts) const {
  const auto &metas = base_->tensors();
  const size_t n_blocks = block_names_.size();
  const bool cosine = params_.score == FW_SCORE_COSINE;

  LmoScores s;
  s.theta_inner.assign(n_blocks, 0.0);
  std::vector<double> grad_norm(metas.size(), 0.0);
  for (size_t t = 0; t < metas.size(); ++t) {
    s.theta_inner[block_of_tensor_[t]] += inner_product(grad[t], theta_[t]);
    if (cosine) grad_norm[t] = std::sqrt(inner_product(grad[t], grad[t]));
  }

  s.score.assign(verts.size(), std::vector<double>(n_blocks, 0.0));
  s.inner.assign(verts.size(), std::vector<double>(n_blocks, 0.0));
  for (size_t v = 0; v < verts.size(); ++v) {
    const Checkpoint &ckpt = *verts[v].checkpoint;
    for (size_t t = 0; t < metas.size(); ++t) {
      poll_abort();
      const at::Tensor x = ckpt.load_f32(metas[t].name);
      const double inner = inner_product(grad[t], x);
      const int b = block_of_tensor_[t];
      s.inner[v][b] += inner;
      if (cosine) {
        // Authors' code: per-tensor cosine, summed over the block's tensors.
        const double norms = grad_norm[t] * std::sqrt(inner_product(x, x));
        s.score[v][b] += norms > 0 ? inner / norms : 0.0;
      } else {
        s.score[v][b] += inner;
      }
      ckpt.release(metas[t].name);
    }
  }

  s.ranking.resize(n_blocks);
  for (size_t b = 0; b < n_blocks; ++b) {
    std::vector<int> order(verts.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int a, int c) { return s.score[a][b] < s.score[c][b]; });
    s.ranking[b] = std::move(order);
  }
  return s;
}

}  // namespace fw
