// The linear minimization oracle (eq. 7): scores <grad, theta_i> per vertex and block, computed by
// streaming the vertices' tensors chunk by chunk and releasing their pages right after use:
// resident memory does not depend on the pool size.
#include <ATen/Parallel.h>

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
  // Tensor-major, chunk by chunk: each gradient chunk stays in cache while every vertex's matching
  // chunk streams past it through one reused buffer, so memory traffic is the checkpoints' bytes
  // (not n times the gradient's too) and memory is one chunk. Vertices whose tensors are computed
  // (adapters) are loaded whole, once per tensor.
  // Vertices are split across the intra-op threads, each with its own buffer: one thread's reads
  // overlap another's dot products, and each inner[v] is still summed in chunk order by one thread
  // (deterministic for a given thread count).
  constexpr int64_t kChunk = 1 << 16;  // 256 KiB of fp32: buffer and gradient chunk stay in L2
  std::vector<at::Tensor> buffers;
  for (int i = 0; i < at::get_num_threads(); ++i)
    buffers.push_back(at::empty({kChunk}, at::kFloat));
  std::vector<double> inner(verts.size()), sq_norm(verts.size());
  for (size_t t = 0; t < metas.size(); ++t) {
    const std::string &name = metas[t].name;
    const at::Tensor g = grad[t].reshape(-1);
    std::fill(inner.begin(), inner.end(), 0.0);
    std::fill(sq_norm.begin(), sq_norm.end(), 0.0);
    poll_abort();  // also for empty tensors
    for (int64_t begin = 0; begin < metas[t].numel; begin += kChunk) {
      if (begin > 0) poll_abort();  // an interrupt is honoured within one chunk
      const int64_t end = std::min(metas[t].numel, begin + kChunk);
      const at::Tensor g_chunk = g.slice(0, begin, end);
      at::parallel_for(0, static_cast<int64_t>(verts.size()), 1, [&](int64_t first, int64_t last) {
        at::Tensor x = buffers[at::get_thread_num()].slice(0, 0, end - begin);
        for (int64_t v = first; v < last; ++v) {
          const Checkpoint &ckpt = *verts[v].checkpoint;
          if (!ckpt.streams_ranges()) continue;
          ckpt.read_f32_range(name, begin, end, x);
          inner[v] += inner_product(g_chunk, x);
          if (cosine) sq_norm[v] += inner_product(x, x);
        }
      });
    }
    for (size_t v = 0; v < verts.size(); ++v) {
      const Checkpoint &ckpt = *verts[v].checkpoint;
      if (ckpt.streams_ranges()) continue;
      const at::Tensor x = ckpt.load_f32(name);
      inner[v] = inner_product(grad[t], x);
      if (cosine) sq_norm[v] = inner_product(x, x);
    }
    const int b = block_of_tensor_[t];
    for (size_t v = 0; v < verts.size(); ++v) {
      s.inner[v][b] += inner[v];
      if (cosine) {
        // Authors' code: per-tensor cosine, summed over the block's tensors.
        const double norms = grad_norm[t] * std::sqrt(sq_norm[v]);
        s.score[v][b] += norms > 0 ? inner[v] / norms : 0.0;
      } else {
        s.score[v][b] += inner[v];
      }
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
