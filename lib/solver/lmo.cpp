// The linear minimization oracle (eq. 7): scores <grad, theta_i> per vertex and block, computed by
// streaming the vertices' tensors chunk by chunk through a few reused buffers (pread, no mapping):
// resident memory does not depend on the pool size. On a GPU the chunks go through pinned host
// buffers (lib/solver/device_stream.h).
#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <numeric>
#include <thread>

#include "solver/device_stream.h"
#include "solver/dot_kernels.h"
#include "solver/step_internal.h"
#include "util/error.h"

namespace fw {
Solver::LmoScores Solver::lmo_pass(const std::vector<at::Tensor> &grad,
                                   const std::vector<Vertex> &verts) const {
  return std::move(lmo_pass(std::vector<const std::vector<at::Tensor> *>{&grad}, verts).front());
}

std::vector<Solver::LmoScores> Solver::lmo_pass(
    const std::vector<const std::vector<at::Tensor> *> &grads,
    const std::vector<Vertex> &verts) const {
  const auto &metas = base_->tensors();
  const size_t n_blocks = block_names_.size();
  const bool cosine = config_.score == Score::Cosine;
  const size_t n_grads = grads.size(), n_verts = verts.size();

  std::vector<LmoScores> out(n_grads);
  for (LmoScores &s : out) {
    s.theta_inner.assign(n_blocks, 0.0);
    s.score.assign(n_verts, std::vector<double>(n_blocks, 0.0));
    s.inner.assign(n_verts, std::vector<double>(n_blocks, 0.0));
  }
  // Per tensor (global position), what the scores are sums of: for each gradient
  // <g, theta>, |g| and <g, vertex> for each vertex, then |vertex|^2 for each vertex. This rank
  // fills its tensors' rows; a sharded solver then sums the rows over the ranks (each row comes
  // from one rank: exact), and every rank forms the block sums below in tensor order.
  const size_t per_grad = 2 + n_verts, stride = n_grads * per_grad + n_verts;
  std::vector<double> rows(global_tensors().size() * stride, 0.0);
  exchange("its LMO pass", rows, [&] {
    for (size_t t = 0; t < metas.size(); ++t) {
      double *row = rows.data() + global_index(t) * stride;
      for (size_t gi = 0; gi < n_grads; ++gi) {
        row[gi * per_grad] = inner_product((*grads[gi])[t], theta_[t]);
        if (cosine)
          row[gi * per_grad + 1] = std::sqrt(inner_product((*grads[gi])[t], (*grads[gi])[t]));
      }
    }
    local_lmo_pass(grads, verts, stride, &rows);
  });
  const auto &all = global_tensors();
  for (size_t gt = 0; gt < all.size(); ++gt) {
    const double *row = rows.data() + gt * stride;
    const int b = global_block_[gt];
    for (size_t gi = 0; gi < n_grads; ++gi) {
      const double *g_row = row + gi * per_grad;
      out[gi].theta_inner[b] += g_row[0];
      for (size_t v = 0; v < n_verts; ++v) {
        const double iv = g_row[2 + v];
        out[gi].inner[v][b] += iv;
        if (cosine) {
          // Authors' code: per-tensor cosine, summed over the block's tensors.
          const double norms = g_row[1] * std::sqrt(row[n_grads * per_grad + v]);
          out[gi].score[v][b] += norms > 0 ? iv / norms : 0.0;
        } else {
          out[gi].score[v][b] += iv;
        }
      }
    }
  }

  for (LmoScores &s : out) {
    s.ranking.resize(n_blocks);
    for (size_t b = 0; b < n_blocks; ++b) {
      std::vector<int> order(n_verts);
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(),
                       [&](int a, int c) { return s.score[a][b] < s.score[c][b]; });
      s.ranking[b] = std::move(order);
    }
  }
  return out;
}

void Solver::local_lmo_pass(const std::vector<const std::vector<at::Tensor> *> &grads,
                            const std::vector<Vertex> &verts, size_t stride,
                            std::vector<double> *rows) const {
  const auto &metas = base_->tensors();
  const bool cosine = config_.score == Score::Cosine;
  const size_t n_grads = grads.size(), n_verts = verts.size(), per_grad = 2 + n_verts;

  std::vector<const Checkpoint *> checkpoints;
  for (const Vertex &v : verts) checkpoints.push_back(v.checkpoint);
  const std::function<void()> poll = [this] { poll_abort(); };
  // On a GPU the chunks are moved by DeviceStream: one pass per tensor and gradient, all vertices.
  std::unique_ptr<DeviceStream> device;
  if (!place_.on_cpu()) device = std::make_unique<DeviceStream>(place_.device);
  // Tensor-major, chunk by chunk: each gradient chunk stays in cache while the matching chunks
  // of a thread's vertices stream past it through one reused buffer, so memory traffic is the
  // checkpoints' bytes (not n times the gradient's too) and memory is a few chunks. Several
  // gradients (per-term top-k) share each chunk read. Vertices whose
  // tensors are computed (adapters) are loaded whole, once per tensor.
  constexpr int64_t kChunk = 1 << 16;  // 256 KiB of fp32: buffer and gradient chunk stay in L2
  const int n_threads = at::get_num_threads();
  std::vector<at::Tensor> buffers;
  std::vector<std::vector<at::Tensor>> g_buffers(n_threads);  // [thread][gradient]
  std::vector<std::vector<float>> raw_buffers;  // float-typed so any dtype's bytes are aligned
  for (int i = 0; i < n_threads; ++i) {
    buffers.push_back(at::empty({kChunk}, at::kFloat));
    for (size_t gi = 0; gi < n_grads; ++gi) g_buffers[i].push_back(at::empty({kChunk}, at::kFloat));
    raw_buffers.emplace_back(kChunk);
  }
  const std::thread::id caller = std::this_thread::get_id();
  // inner[gi * n_verts + v]; sq_norm[v] (a vertex's norm does not depend on the gradient).
  std::vector<double> inner(n_grads * n_verts), sq_norm(n_verts);
  // Per thread: its chunks' sums for each (gradient, vertex), added in thread order after each
  // tensor.
  std::vector<std::vector<double>> partial(n_threads, std::vector<double>(inner.size())),
      partial_sq(n_threads, std::vector<double>(n_verts));
  for (size_t t = 0; t < metas.size(); ++t) {
    const std::string &name = metas[t].name;
    std::vector<at::Tensor> g(n_grads);
    std::vector<bool> g_f32(n_grads);
    for (size_t gi = 0; gi < n_grads; ++gi) {
      g[gi] = (*grads[gi])[t].reshape(-1);
      g_f32[gi] = g[gi].scalar_type() == at::kFloat && g[gi].is_contiguous();
    }
    std::fill(inner.begin(), inner.end(), 0.0);
    std::fill(sq_norm.begin(), sq_norm.end(), 0.0);
    poll_abort();  // also for empty tensors
    if (device) {
      std::vector<double> one(n_verts);
      for (size_t gi = 0; gi < n_grads; ++gi) {
        std::fill(one.begin(), one.end(), 0.0);
        std::fill(sq_norm.begin(), sq_norm.end(), 0.0);
        device->inner_products(checkpoints, metas[t], g[gi], cosine, &one, &sq_norm, poll);
        std::copy(one.begin(), one.end(), inner.begin() + static_cast<int64_t>(gi * n_verts));
      }
    }
    const int64_t numel = device ? 0 : metas[t].numel;
    const int64_t n_chunks = (numel + kChunk - 1) / kChunk;
    // Per vertex, once per tensor: its file dtype when the fused kernels take it, else nullptr.
    std::vector<const DType *> raw_dtype(n_verts, nullptr);
    for (size_t v = 0; v < n_verts; ++v) {
      const TensorMeta *meta = verts[v].checkpoint->find(name);
      if (meta != nullptr && dot_raw_supported(meta->dtype)) raw_dtype[v] = &meta->dtype;
    }
    std::atomic<bool> stop{false}, incomplete{false};
    std::exception_ptr stopped;  // the caller's poll_abort() exception
    for (auto &p : partial) std::fill(p.begin(), p.end(), 0.0);
    for (auto &p : partial_sq) std::fill(p.begin(), p.end(), 0.0);
    // Lane l takes chunks l, l + L, l + 2L, ...: the threads read neighbouring chunks of each file,
    // which the kernel's readahead sees as one sequential stream (contiguous halves per thread made
    // two streams per file descriptor and halved the cold throughput at 1.1 G parameters).
    const int lanes =
        static_cast<int>(std::min<int64_t>(n_threads, std::max<int64_t>(n_chunks, 1)));
    at::parallel_for(0, lanes, 1, [&](int64_t first_lane, int64_t last_lane) {
      for (int64_t lane = first_lane; lane < last_lane; ++lane) {
        void *raw = raw_buffers[lane].data();
        std::vector<double> &acc = partial[lane], &acc_sq = partial_sq[lane];
        const int thread = static_cast<int>(lane);
        std::vector<const float *> g_data(n_grads);
        std::vector<at::Tensor> g_chunk(n_grads);
        for (int64_t c = lane; c < n_chunks; c += lanes) {
          const int64_t begin = c * kChunk, end = std::min(numel, begin + kChunk);
          if (begin > 0 && std::this_thread::get_id() == caller) {
            try {
              poll_abort();  // an interrupt is honoured within one chunk
            } catch (...) {
              stopped = std::current_exception();
              stop.store(true);
            }
          }
          // Workers also see a pending fw_solver_interrupt (without consuming it: the caller's
          // poll below does, and throws).
          if (stop.load(std::memory_order_relaxed) || interrupt_.load(std::memory_order_relaxed)) {
            incomplete.store(true);
            return;
          }
          for (size_t gi = 0; gi < n_grads; ++gi) {
            if (g_f32[gi]) {
              g_chunk[gi] = g[gi].slice(0, begin, end);  // no copy
            } else {
              g_chunk[gi] = g_buffers[thread][gi].slice(0, 0, end - begin);
              g_chunk[gi].copy_(g[gi].slice(0, begin, end));
            }
            g_data[gi] = g_chunk[gi].data_ptr<float>();
          }
          at::Tensor x = buffers[thread].slice(0, 0, end - begin);
          for (size_t v = 0; v < n_verts; ++v) {
            const Checkpoint &ckpt = *verts[v].checkpoint;
            if (!ckpt.streams_ranges()) continue;
            if (const DType *dtype = raw_dtype[v]) {
              ckpt.read_raw_range(name, begin, end, raw);
              for (size_t gi = 0; gi < n_grads; ++gi)
                acc[gi * n_verts + v] += dot_raw(g_data[gi], raw, *dtype, end - begin);
              if (cosine) acc_sq[v] += sq_norm_raw(raw, *dtype, end - begin);
              continue;
            }
            ckpt.read_f32_range(name, begin, end, x);
            for (size_t gi = 0; gi < n_grads; ++gi)
              acc[gi * n_verts + v] += inner_product(g_chunk[gi], x);
            if (cosine) acc_sq[v] += inner_product(x, x);
          }
        }
      }
    });
    if (stopped) std::rethrow_exception(stopped);
    if (incomplete) {
      poll_abort();  // the interrupt a worker saw: throws Status::Aborted
      fail(Status::Internal, "LMO pass stopped without an interrupt");
    }
    for (int th = 0; th < n_threads; ++th) {  // lane order: deterministic for a thread count
      for (size_t i = 0; i < inner.size(); ++i) inner[i] += partial[th][i];
      for (size_t v = 0; v < n_verts; ++v) sq_norm[v] += partial_sq[th][v];
    }
    for (size_t v = 0; v < n_verts; ++v) {
      const Checkpoint &ckpt = *verts[v].checkpoint;
      if (ckpt.streams_ranges()) continue;
      const at::Tensor x = ckpt.load_f32(name).to(g.front().device());
      for (size_t gi = 0; gi < n_grads; ++gi)
        inner[gi * n_verts + v] = inner_product((*grads[gi])[t], x);
      if (cosine) sq_norm[v] = inner_product(x, x);
    }
    double *row = rows->data() + global_index(t) * stride;
    for (size_t gi = 0; gi < n_grads; ++gi)
      for (size_t v = 0; v < n_verts; ++v) row[gi * per_grad + 2 + v] = inner[gi * n_verts + v];
    for (size_t v = 0; v < n_verts; ++v) row[n_grads * per_grad + v] = sq_norm[v];
  }
}

}  // namespace fw
