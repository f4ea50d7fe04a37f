#include "merge/streaming.h"

#include <ATen/Parallel.h>
#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include <algorithm>
#include <cmath>
#include <memory>

#include "merge/counter_rng.h"
#include "merge/della.h"
#include "merge/geometric.h"
#include "merge/magnitude_select.h"
#include "merge/mergekit_compat.h"
#include "merge/methods.h"
#include "merge/model_stock.h"
#include "merge/ram.h"
#include "merge/sce.h"
#include "merge/sparsify.h"
#include "merge/svd_merge.h"
#include "util/error.h"
#include "util/thread_scope.h"

namespace fw {

namespace {

// One tensor of one checkpoint, read by element ranges: pread of the file's own dtype converted
// to fp32, or, for checkpoints that compute their tensors (adapters), the whole tensor once.
class RangeReader {
 public:
  RangeReader(const Checkpoint &c, const TensorMeta &meta) : c_(c), name_(meta.name) {
    if (!c.streams_ranges()) whole_ = c.load_f32(meta.name).reshape(-1);
  }
  void read(int64_t begin, int64_t end, at::Tensor &out) const {
    if (whole_.defined())
      out.copy_(whole_.slice(0, begin, end));
    else
      c_.read_f32_range(name_, begin, end, out);
  }

 private:
  const Checkpoint &c_;
  std::string name_;
  at::Tensor whole_;
};

// Whether mergekit_compat changes the arithmetic: the task-arithmetic family's combine in the
// working dtype (mergekit_compat.h). Linear needs none; passthrough and SCE compute in fp32 as
// mergekit does on fp32 inputs, in either mode; RAM and the geometric methods take the dtype on
// their own (ram.h, geometric_in_recipe_dtype).
bool uses_mergekit_arithmetic(MergeMethod m) {
  // The geometric methods follow mergekit's arithmetic (fp32) in either mode; the SVD methods are
  // not mergekit's and compute in fp32 as their authors' code.
  return m != MergeMethod::Linear && m != MergeMethod::Passthrough && m != MergeMethod::Sce &&
         !is_ram(m) && !is_geometric(m) && !is_svd_merge(m);
}

// Elements per chunk. DELLA ranks magnitudes within groups that each lie in one slab of the
// tensor (della.h: one index of dim 0, or the whole of a 1-D tensor), so its chunks are whole
// slabs: as many as fit in kMergeChunk, or one slab when a slab is larger. Holding a slab per
// member (rather than the whole tensor) keeps the memory O(n x max(chunk, slab)); a slab is one
// row of a weight matrix, or a whole 1-D tensor (a bias or a norm: small).
int64_t chunk_elements(const MergeSpec &spec, const TensorMeta &meta) {
  if (!is_della(spec.method)) return kMergeChunk;
  const int64_t slab = std::max<int64_t>(1, della_layout(meta.shape).slab());
  return slab >= kMergeChunk ? slab : kMergeChunk / slab * slab;
}

// How many bytes of (bits, index) pairs argsort_ties may hold at once when it spreads members
// over threads: half of the 1 GB that a merge of LLM-sized checkpoints is meant to stay within
// (issue 10), and about what one member's pairs of a 32000 x 2048 embedding take anyway.
constexpr int64_t kTieOrderBudget = int64_t{512} << 20;

bool trims_by_magnitude(MergeMethod m) {
  return m == MergeMethod::Ties || m == MergeMethod::Breadcrumbs ||
         m == MergeMethod::BreadcrumbsTies;
}

// A member's trim for one tensor: TIES keeps its k largest magnitudes (`keep`); breadcrumbs keeps
// the `keep` largest minus the `drop` largest (sparsify.h: breadcrumbs_trim).
struct MemberTrim {
  std::unique_ptr<MagnitudeSelect> keep, drop;
};

MemberTrim member_trim(const MergeSpec &spec, size_t i, int64_t numel) {
  MemberTrim trim;
  const double density = spec.density_of(i);
  if (spec.mergekit) {
    const mergekit::TrimRanks r =
        spec.method == MergeMethod::Ties
            ? mergekit::ties_ranks(density, numel)
            : mergekit::breadcrumbs_ranks(density, spec.beta_of(i), numel);
    trim.keep = std::make_unique<MagnitudeSelect>(r.all ? numel : r.keep, numel);
    if (spec.method != MergeMethod::Ties)
      trim.drop = std::make_unique<MagnitudeSelect>(r.all ? 0 : r.drop, numel);
    return trim;
  }
  if (spec.method == MergeMethod::Ties) {
    trim.keep = std::make_unique<MagnitudeSelect>(
        std::max<int64_t>(1, fraction_count(density, numel)), numel);
    return trim;
  }
  const int64_t keep =
      std::min<int64_t>(numel, std::max<int64_t>(1, fraction_count(density, numel)));
  const int64_t top = std::min<int64_t>(fraction_count(spec.beta_of(i), numel), numel - keep);
  trim.keep = std::make_unique<MagnitudeSelect>(top + keep, numel);
  trim.drop = std::make_unique<MagnitudeSelect>(top, numel);
  return trim;
}

// Per-tensor state of a streamed merge: readers, chunk buffers and each member's selection.
class TensorMerge {
 public:
  TensorMerge(const MergeSpec &spec, const Checkpoint &base,
              const std::vector<const Checkpoint *> &pool, size_t t)
      : spec_(spec),
        t_(t),
        meta_(base.tensors()[t]),
        n_(pool.size()),
        base_(base, meta_),
        mergekit_(spec.mergekit && uses_mergekit_arithmetic(spec.method)),
        compute_(!mergekit_ ? at::kFloat
                            : to_scalar_type(spec.compute_dtype.value_or(meta_.dtype))),
        chunk_(chunk_elements(spec, meta_)) {
    check_method_params(spec, n_);
    for (const Checkpoint *c : pool) members_.emplace_back(*c, meta_);
    const int64_t chunk = std::min(chunk_, meta_.numel);
    base_buf_ = at::empty({chunk}, at::kFloat);
    for (size_t i = 0; i < n_; ++i) bufs_.push_back(at::empty({chunk}, at::kFloat));
    if (is_della(spec.method)) {
      della_layout_ = della_layout(meta_.shape);
      della_keep_.assign(n_, std::vector<uint8_t>(static_cast<size_t>(chunk)));
    }
  }

  void run(const ChunkSink &sink) {
    if (meta_.numel == 0) return;
    if (spec_.method == MergeMethod::Sce) return run_sce(sink);
    if (is_ram(spec_.method)) return run_ram(sink);
    if (is_geometric(spec_.method)) return run_geometric(sink);
    if (is_svd_merge(spec_.method)) return run_svd(sink);
    if (trims_by_magnitude(spec_.method)) select_thresholds();
    if (trims_by_magnitude(spec_.method) && mergekit_ && spec_.mergekit_tie_order) argsort_ties();
    if (mergekit_ && is_dare(spec_.method)) dare_l1_ratios();
    if (is_della(spec_.method)) della_l1_ratios();
    double t_stock = 0.0;
    if (spec_.method == MergeMethod::ModelStock) t_stock = model_stock_factor();
    std::vector<KeepCursor> keep, drop;
    for (size_t i = 0; i < trims_.size(); ++i) {
      const MemberTrim &trim = trims_[i];
      const auto mask = [&](size_t which) {
        return i < tie_kept_.size() && !tie_kept_[i][which].empty() ? &tie_kept_[i][which]
                                                                    : nullptr;
      };
      keep.emplace_back(trim.keep->cut(), mask(0));
      drop.emplace_back(trim.drop ? trim.drop->cut() : MagnitudeCut{false, true, 0, 0, 0}, mask(1));
    }
    std::vector<at::Tensor> prepared(n_);
    for_each_chunk(
        true,
        [&](int64_t begin, int64_t len, size_t i, float *x) {
          if (trims_by_magnitude(spec_.method)) {
            // x * 1 or x * 0, as sparsify's x.mul(mask): a dropped negative entry becomes -0.
            for (int64_t e = 0; e < len; ++e) {
              const uint32_t bits = magnitude_bits(x[e]);
              const bool kept = keep[i].keep(bits, begin + e);
              const bool dropped = drop[i].keep(bits, begin + e);
              x[e] = x[e] * (kept && !dropped ? 1.0f : 0.0f);
            }
          } else if (is_dare(spec_.method) && mergekit_) {
            const double p = spec_.drop_rate_of(i);
            if (p != 0.0) {
              dare_keep_range(x, begin, len, p, rng::stream_key(spec_.seed, t_, i));
              if (l1_ratio_[i] != 1.0f) {  // masked * (before / after), rounded like the rest
                for (int64_t e = 0; e < len; ++e) x[e] *= l1_ratio_[i];
                round_to_compute(x, len);
              }
            }
          } else if (is_dare(spec_.method)) {
            const double p = spec_.drop_rate_of(i);
            if (p != 0.0) dare_drop_range(x, x, begin, len, p, rng::stream_key(spec_.seed, t_, i));
          } else if (is_della(spec_.method)) {
            della_prune_range(i, begin, len, x);
          }
        },
        [&](int64_t begin, int64_t len) {
          for (size_t i = 0; i < n_; ++i) prepared[i] = bufs_[i].narrow(0, 0, len);
          const at::Tensor base = base_buf_.narrow(0, 0, len);
          sink(begin, mergekit_ ? mergekit::combine(spec_, base, prepared, compute_)
                                : combine_chunk(spec_, base, prepared, t_stock));
        });
  }

 private:
  // A geometric method (merge/geometric.h): its statistics passes over the chunks (the Gram
  // matrix of its vectors, per tensor or per row; arcee_fusion's per-row softmax statistics and
  // scores), then the combine pass. Held: the chunk buffers and O(n^2 x rows) doubles, and for
  // arcee_fusion one fp32 tensor of importance scores.
  void run_geometric(const ChunkSink &sink) {
    // mergekit computes some of them in the recipe's dtype (geometric_in_recipe_dtype).
    const at::ScalarType compute = spec_.mergekit && geometric_in_recipe_dtype(spec_.method)
                                       ? to_scalar_type(spec_.compute_dtype.value_or(meta_.dtype))
                                       : at::kFloat;
    GeometricMerge merge(spec_, meta_.shape, n_, meta_.name, compute);
    std::vector<at::Tensor> inputs(n_);
    const auto gather = [&](int64_t len) {
      for (size_t i = 0; i < n_; ++i) inputs[i] = bufs_[i].narrow(0, 0, len);
      return base_buf_.narrow(0, 0, len);
    };
    const auto nothing = [](int64_t, int64_t, size_t, float *) {};
    for (int pass = 0; pass < merge.passes(); ++pass)
      for_each_chunk(true, nothing, [&](int64_t begin, int64_t len) {
        merge.accumulate(pass, begin, gather(len), inputs);
      });
    merge.finish();
    for_each_chunk(true, nothing, [&](int64_t begin, int64_t len) {
      sink(begin, merge.combine(begin, gather(len), inputs));
    });
  }

  // An SVD method (merge/svd_merge.h). A matrix: one pass summing the task vectors (iso_c,
  // iso_cts), then each member's whole task vector read alone, one after the other (tsv_m,
  // iso_cts), then the base's chunks with the delta. Any other tensor: one elementwise pass.
  // Held: the chunk buffers, and for a matrix a few tensors (svd_merge.h), whatever n.
  void run_svd(const ChunkSink &sink) {
    SvdMerge merge(spec_, meta_.shape, n_);
    std::vector<at::Tensor> taus(n_);
    const auto gather = [&](int64_t len) {
      for (size_t i = 0; i < n_; ++i) taus[i] = bufs_[i].narrow(0, 0, len);
      return base_buf_.narrow(0, 0, len);
    };
    const auto nothing = [](int64_t, int64_t, size_t, float *) {};
    if (!merge.is_matrix()) {
      merge.finish();
      for_each_chunk(false, nothing, [&](int64_t begin, int64_t len) {
        const at::Tensor base = gather(len);
        sink(begin, merge.combine(begin, base, taus));
      });
      return;
    }
    if (merge.needs_sum())
      for_each_chunk(false, nothing, [&](int64_t begin, int64_t len) {
        gather(len);
        merge.add_sum(begin, taus);
      });
    if (merge.needs_members()) {
      at::Tensor tau = at::empty({meta_.numel}, at::kFloat);
      for (size_t i = 0; i < n_; ++i) {
        for (int64_t begin = 0; begin < meta_.numel; begin += chunk_) {
          const int64_t end = std::min(meta_.numel, begin + chunk_);
          poll(spec_.stop);
          at::Tensor b = base_buf_.narrow(0, 0, end - begin);
          base_.read(begin, end, b);
          at::Tensor part = tau.narrow(0, begin, end - begin);
          read_member(i, begin, end, part, base_buf_.data_ptr<float>());
        }
        merge.add_member(i, tau);
      }
    }
    merge.finish();
    for (int64_t begin = 0; begin < meta_.numel; begin += chunk_) {  // the base alone
      const int64_t end = std::min(meta_.numel, begin + chunk_);
      poll(spec_.stop);
      at::Tensor b = base_buf_.narrow(0, 0, end - begin);
      base_.read(begin, end, b);
      sink(begin, merge.combine(begin, b, {}));
    }
  }

  // Reads every chunk of the base and the members in order. member_fn(begin, len, i, x) runs for
  // each member on its chunk (x: the task vector theta_i - theta_0 in fp32, or theta_i itself for
  // LINEAR and PASSTHROUGH when `linear_raw`), the members spread over threads; then
  // chunk_fn(begin, len).
  template <typename MemberFn, typename ChunkFn>
  void for_each_chunk(bool linear_raw, const MemberFn &member_fn, const ChunkFn &chunk_fn) {
    const bool raw =
        linear_raw &&
        (spec_.method == MergeMethod::Linear || spec_.method == MergeMethod::Passthrough ||
         (is_geometric(spec_.method) && geometric_reads_members(spec_, n_)));
    for (int64_t begin = 0; begin < meta_.numel; begin += chunk_) {
      const int64_t end = std::min(meta_.numel, begin + chunk_);
      const int64_t len = end - begin;
      poll(spec_.stop);
      at::Tensor b = base_buf_.narrow(0, 0, len);
      base_.read(begin, end, b);
      const float *pb = base_buf_.data_ptr<float>();
      at::parallel_for(0, static_cast<int64_t>(n_), 1, [&](int64_t first, int64_t last) {
        for (int64_t m = first; m < last; ++m) {
          const size_t i = static_cast<size_t>(m);
          float *x = read_member(i, begin, end, bufs_[i], raw ? nullptr : pb);
          member_fn(begin, len, i, x);
        }
      });
      chunk_fn(begin, len);
    }
  }

  // Member i's elements [begin, end) into `buf`: theta_i - theta_0 in fp32 when `base` (the base's
  // same elements) is given, as the whole-tensor path's member.sub(base), rounded to mergekit's
  // working dtype; theta_i itself otherwise. Returns buf's data.
  float *read_member(size_t i, int64_t begin, int64_t end, at::Tensor &buf,
                     const float *base) const {
    const int64_t len = end - begin;
    at::Tensor part = buf.narrow(0, 0, len);
    members_[i].read(begin, end, part);
    float *x = buf.data_ptr<float>();
    if (base) {
      for (int64_t e = 0; e < len; ++e) x[e] = x[e] - base[e];
      round_to_compute(x, len);
    }
    return x;
  }

  // Rounds x to the compute dtype (mergekit mode in bf16 / f16), in place, as torch's ops do.
  void round_to_compute(float *x, int64_t len) const {
    if (compute_ == at::kBFloat16)
      for (int64_t e = 0; e < len; ++e) x[e] = static_cast<float>(c10::BFloat16(x[e]));
    else if (compute_ == at::kHalf)
      for (int64_t e = 0; e < len; ++e) x[e] = static_cast<float>(c10::Half(x[e]));
  }

  // mergekit's bernoulli + rescale: keeps entry e with probability 1 - p (this library's draws),
  // survivors unscaled (the L1 ratio is applied after).
  static void dare_keep_range(float *x, int64_t first, int64_t len, double p, uint64_t key) {
    for (int64_t e = 0; e < len; ++e)
      if (rng::unit_double(rng::splitmix64_at(key, static_cast<uint64_t>(first + e))) < p)
        x[e] = 0.0f;
  }

  // Per member: ||tau||_1 / ||dropped tau||_1, each norm and the ratio rounded to the compute
  // dtype; 1 when either norm is below mergekit's eps (1e-7), where it leaves the masked vector.
  void dare_l1_ratios() {
    std::vector<double> before(n_, 0.0), after(n_, 0.0);
    for_each_chunk(
        false,
        [&](int64_t begin, int64_t len, size_t i, float *x) {
          const double p = spec_.drop_rate_of(i);
          const uint64_t key = rng::stream_key(spec_.seed, t_, i);
          for (int64_t e = 0; e < len; ++e) {
            const double a = std::fabs(static_cast<double>(x[e]));
            before[i] += a;
            if (!(rng::unit_double(rng::splitmix64_at(key, static_cast<uint64_t>(begin + e))) < p))
              after[i] += a;
          }
        },
        [](int64_t, int64_t) {});
    l1_ratio_.assign(n_, 1.0f);
    for (size_t i = 0; i < n_; ++i) {
      const at::Tensor b = at::scalar_tensor(before[i], at::kDouble).to(compute_);
      const at::Tensor a = at::scalar_tensor(after[i], at::kDouble).to(compute_);
      if (b.item<double>() < 1e-7 || a.item<double>() < 1e-7) continue;
      l1_ratio_[i] = b.div(a).item<float>();
    }
  }

  // SCE: up to three passes for the selection (the count of nonzero variances, then the two radix
  // passes of the k-th largest variance; sce.h), one for the members' mean squares of the selected
  // task vectors, then the merge. The variances are recomputed from the members' chunks in every
  // pass rather than held: O(n x chunk) memory whatever the tensor.
  void run_sce(const ChunkSink &sink) {
    const double topk = spec_.select_topk;
    const bool select = topk < 1.0;
    const int64_t chunk = std::min(chunk_, meta_.numel);
    std::vector<float> var(static_cast<size_t>(chunk));
    std::vector<const float *> taus(n_);
    for (size_t i = 0; i < n_; ++i) taus[i] = bufs_[i].data_ptr<float>();
    const auto nothing = [](int64_t, int64_t, size_t, float *) {};
    MagnitudeCut cut{false, true, 0, 0, 0};  // select_topk <= 0: nothing kept
    if (select && topk > 0.0) {
      int64_t nonzero = 0;
      for_each_chunk(false, nothing, [&](int64_t, int64_t len) {
        sce_variance_range(taus, len, var.data());
        for (int64_t e = 0; e < len; ++e) nonzero += var[static_cast<size_t>(e)] != 0.0f;
      });
      MagnitudeSelect sel(sce_select_count(nonzero, topk), meta_.numel);
      if (sel.needs_passes()) {
        for_each_chunk(false, nothing, [&](int64_t, int64_t len) {
          sce_variance_range(taus, len, var.data());
          sel.count_high(var.data(), len);
        });
        sel.finish_high();
        for_each_chunk(false, nothing, [&](int64_t, int64_t len) {
          sce_variance_range(taus, len, var.data());
          sel.count_low(var.data(), len);
        });
        sel.finish_low();
      }
      cut = sel.cut();
    }
    // The selection applied to every member's chunk, as task_vectors * mask (x * 0: -0).
    const auto apply_selection = [&](KeepCursor &cursor, int64_t begin, int64_t len) {
      if (!select) return;
      sce_variance_range(taus, len, var.data());
      for (int64_t e = 0; e < len; ++e) {
        const float keep =
            cursor.keep(magnitude_bits(var[static_cast<size_t>(e)]), begin + e) ? 1.0f : 0.0f;
        for (size_t i = 0; i < n_; ++i) bufs_[i].data_ptr<float>()[e] *= keep;
      }
    };
    std::vector<double> sq(n_, 0.0);
    KeepCursor weights_cursor(cut);
    for_each_chunk(false, nothing, [&](int64_t begin, int64_t len) {
      apply_selection(weights_cursor, begin, len);
      sce_add_squares(taus, len, sq);
    });
    const std::vector<float> w = sce_weights(sq, meta_.numel);
    at::Tensor out = at::empty({chunk}, at::kFloat);
    KeepCursor merge_cursor(cut);
    for_each_chunk(false, nothing, [&](int64_t begin, int64_t len) {
      apply_selection(merge_cursor, begin, len);
      sce_combine_range(base_buf_.data_ptr<float>(), taus, w, len, out.data_ptr<float>());
      sink(begin, out.narrow(0, 0, len));
    });
  }

  // RAM: elementwise; ramplus_tl first counts each member's shared and unique contributions over
  // the whole tensor (one pass) for its lambdas.
  void run_ram(const ChunkSink &sink) {
    const double eps = spec_.epsilon_of(0);
    // mergekit computes RAM in the recipe's dtype (ram.h).
    const at::ScalarType type =
        spec_.mergekit ? to_scalar_type(spec_.compute_dtype.value_or(meta_.dtype)) : at::kFloat;
    std::vector<const float *> taus(n_);
    for (size_t i = 0; i < n_; ++i) taus[i] = bufs_[i].data_ptr<float>();
    const auto nothing = [](int64_t, int64_t, size_t, float *) {};
    std::vector<float> lambdas;
    if (spec_.method == MergeMethod::RamplusTl) {
      std::vector<int64_t> shared(n_, 0), unique(n_, 0);
      for_each_chunk(false, nothing, [&](int64_t, int64_t len) {
        ram_count_range(taus, len, eps, shared, unique, type);
      });
      lambdas = ram_lambdas(shared, unique, eps, spec_.ram_r, spec_.ram_alpha);
    }
    at::Tensor out = at::empty({std::min(chunk_, meta_.numel)}, at::kFloat);
    for_each_chunk(false, nothing, [&](int64_t begin, int64_t len) {
      ram_combine_range(base_buf_.data_ptr<float>(), taus, eps, lambdas, len, out.data_ptr<float>(),
                        type);
      sink(begin, out.narrow(0, 0, len));
    });
  }

  // DELLA on member i's chunk x (elements [begin, begin + len), whole slabs), in place, as
  // della_prune does on the whole tensor: the same flags (pure functions of the slab and the
  // draws), the same L1 ratio (della_l1_ratios), the same fp32 operations.
  void della_prune_range(size_t i, int64_t begin, int64_t len, float *x) {
    const double d = spec_.density_of(i);
    if (d >= 1.0) return;
    if (d <= 0.0) {
      std::fill(x, x + len, 0.0f);
      return;
    }
    uint8_t *keep = della_keep_[i].data();
    della_keep_range(x, begin, len, della_layout_, d, spec_.epsilon_of(i),
                     rng::stream_key(spec_.seed, t_, i), keep);
    della_apply_range(x, keep, len, della_rescales_[i] != 0, della_ratio_[i]);
    round_to_compute(x, len);
  }

  // DELLA's rescale needs each member's L1 norm before and after pruning over the whole tensor:
  // one pass drawing the same flags as the merge pass will.
  void della_l1_ratios() {
    della_rescales_.assign(n_, 0);
    della_ratio_.assign(n_, 1.0f);
    bool any = false;
    for (size_t i = 0; i < n_; ++i) {
      const double d = spec_.density_of(i);
      any = any || (spec_.rescale && d > 0.0 && d < 1.0);
    }
    if (!any) return;
    std::vector<DellaNorms> norms(n_);
    for_each_chunk(
        false,
        [&](int64_t begin, int64_t len, size_t i, float *x) {
          const double d = spec_.density_of(i);
          if (!(d > 0.0 && d < 1.0)) return;
          uint8_t *keep = della_keep_[i].data();
          della_keep_range(x, begin, len, della_layout_, d, spec_.epsilon_of(i),
                           rng::stream_key(spec_.seed, t_, i), keep);
          norms[i].add(x, keep, len);
        },
        [](int64_t, int64_t) {});
    for (size_t i = 0; i < n_; ++i) {
      const double d = spec_.density_of(i);
      if (!(d > 0.0 && d < 1.0) || !norms[i].rescales()) continue;
      della_rescales_[i] = 1;
      della_ratio_[i] = norms[i].ratio();
    }
  }

  void select_thresholds() {
    for (size_t i = 0; i < n_; ++i) trims_.push_back(member_trim(spec_, i, meta_.numel));
    auto needs = [&](const std::unique_ptr<MagnitudeSelect> &s) { return s && s->needs_passes(); };
    bool any = false;
    for (const MemberTrim &trim : trims_) any = any || needs(trim.keep) || needs(trim.drop);
    if (!any) return;
    const auto nothing = [](int64_t, int64_t) {};
    for_each_chunk(
        false,
        [&](int64_t, int64_t len, size_t i, float *x) {
          for (auto *s : {&trims_[i].keep, &trims_[i].drop})
            if (needs(*s)) (*s)->count_high(x, len);
        },
        nothing);
    for (MemberTrim &trim : trims_)
      for (auto *s : {&trim.keep, &trim.drop})
        if (needs(*s)) (*s)->finish_high();
    for_each_chunk(
        false,
        [&](int64_t, int64_t len, size_t i, float *x) {
          for (auto *s : {&trims_[i].keep, &trims_[i].drop})
            if (needs(*s)) (*s)->count_low(x, len);
        },
        nothing);
    for (MemberTrim &trim : trims_)
      for (auto *s : {&trim.keep, &trim.drop})
        if (needs(*s)) (*s)->finish_low();
  }

  // mergekit's tie order (fw_merge_params.mergekit_compat 2): for each member whose keep or drop
  // cut keeps some but not all of the entries equal to its threshold, which ones mergekit keeps
  // (argsort_tie_masks over the member's whole |tau|). Its replay of the sort is serial, so the
  // members are spread over the threads (otherwise the idle OpenMP threads spin while one works),
  // but only as many at once as keep their (bits, index) pairs, 8 bytes per entry of this tensor,
  // within kTieOrderBudget: a tensor too large for two at once runs one member at a time, so the
  // extra memory stays that of one tensor's pairs (or the budget), whatever the pool size.
  void argsort_ties() {
    tie_kept_.assign(n_, std::vector<std::vector<bool>>(2));
    const bool descending = spec_.method == MergeMethod::Ties;  // breadcrumbs sort ascending
    std::vector<size_t> split;                                  // the members whose cuts split ties
    for (size_t i = 0; i < n_; ++i)
      if (trims_[i].keep->cut().splits_ties() ||
          (trims_[i].drop && trims_[i].drop->cut().splits_ties()))
        split.push_back(i);
    const int64_t pairs = 8 * meta_.numel;
    const int64_t lanes = std::max<int64_t>(
        1, std::min<int64_t>({kTieOrderBudget / std::max<int64_t>(1, pairs), at::get_num_threads(),
                              static_cast<int64_t>(split.size())}));
    const int64_t buffer = std::min(kMergeChunk, meta_.numel);
    for (size_t wave = 0; wave < split.size(); wave += static_cast<size_t>(lanes)) {
      const int64_t width = std::min<int64_t>(lanes, static_cast<int64_t>(split.size() - wave));
      at::parallel_for(0, width, 1, [&](int64_t first, int64_t last) {
        // This task's own buffers: the members of a wave read concurrently.
        at::Tensor member = at::empty({buffer}, at::kFloat), base = at::empty({buffer}, at::kFloat);
        for (int64_t w = first; w < last; ++w)
          member_ties(split[wave + static_cast<size_t>(w)], descending, member, base);
      });
    }
  }

  // argsort_ties for member i, reading its task vector through `member` and `base` (chunk-sized).
  void member_ties(size_t i, bool descending, at::Tensor &member, at::Tensor &base) {
    const MemberTrim &trim = trims_[i];
    const MagnitudeReader read = [&](int64_t first, int64_t last, float *out) {
      for (int64_t begin = first; begin < last; begin += kMergeChunk) {  // buffers' size
        poll(spec_.stop);
        const int64_t end = std::min(last, begin + kMergeChunk), len = end - begin;
        at::Tensor b = base.narrow(0, 0, len);
        base_.read(begin, end, b);
        // The task vector as mergekit holds it, then |.| in fp32.
        const float *x = read_member(i, begin, end, member, base.data_ptr<float>());
        for (int64_t e = 0; e < len; ++e) out[begin - first + e] = std::fabs(x[e]);
      }
    };
    std::vector<MagnitudeCut> cuts = {trim.keep->cut()};
    if (trim.drop) cuts.push_back(trim.drop->cut());
    std::vector<std::vector<bool>> masks = argsort_tie_masks(meta_.numel, read, cuts, descending);
    if (trim.keep->cut().splits_ties()) tie_kept_[i][0] = std::move(masks[0]);
    if (trim.drop && trim.drop->cut().splits_ties()) tie_kept_[i][1] = std::move(masks[1]);
  }

  // Model stock's t from the Gram matrix of the task vectors, accumulated block by block in order
  // (deterministic_dot's sums: chunks are whole blocks).
  double model_stock_factor() {
    std::vector<std::pair<size_t, size_t>> pairs;
    for (size_t i = 0; i < n_; ++i)
      for (size_t j = i; j < n_; ++j) pairs.emplace_back(i, j);
    std::vector<double> gram(n_ * n_, 0.0);
    for_each_chunk(
        false, [](int64_t, int64_t, size_t, float *) {},
        [&](int64_t, int64_t len) {
          at::parallel_for(
              0, static_cast<int64_t>(pairs.size()), 1, [&](int64_t first, int64_t last) {
                for (int64_t p = first; p < last; ++p) {
                  const auto [i, j] = pairs[static_cast<size_t>(p)];
                  const float *x = bufs_[i].data_ptr<float>();
                  const float *y = bufs_[j].data_ptr<float>();
                  for (int64_t b = 0; b < len; b += kDotBlock)
                    gram[i * n_ + j] += block_dot(x + b, y + b, std::min(kDotBlock, len - b));
                }
              });
        });
    return model_stock_t_from_gram(gram, n_);
  }

  const MergeSpec &spec_;
  size_t t_;
  const TensorMeta &meta_;
  size_t n_;
  RangeReader base_;
  std::vector<RangeReader> members_;
  at::Tensor base_buf_;
  std::vector<at::Tensor> bufs_;
  std::vector<MemberTrim> trims_;
  // mergekit's tie order: per member, the kept ties of its keep and drop cuts (empty: the cut
  // does not split ties, or the order is fwmerge's, lower index first).
  std::vector<std::vector<std::vector<bool>>> tie_kept_;
  bool mergekit_;                // mergekit's arithmetic (not for LINEAR, which needs none)
  at::ScalarType compute_;       // its working dtype; fp32 otherwise
  std::vector<float> l1_ratio_;  // DARE in mergekit mode
  int64_t chunk_;                // elements per chunk (chunk_elements)
  // DELLA: the tensor's groups, per member its flags for the current chunk, whether it is
  // rescaled and by what.
  DellaLayout della_layout_;
  std::vector<std::vector<uint8_t>> della_keep_;
  std::vector<uint8_t> della_rescales_;
  std::vector<float> della_ratio_;
};

}  // namespace

StreamingMerge::StreamingMerge(const MergeSpec &spec, const Checkpoint &base,
                               const std::vector<const Checkpoint *> &pool)
    : spec_(spec), base_(base), pool_(pool) {
  if (pool.empty()) fail(Status::InvalidArgument, "merge: the pool is empty");
  if (spec.method == MergeMethod::ModelStock && pool.size() < 2)
    fail(Status::InvalidArgument, "model_stock needs at least 2 pool members, got 1");
  if (is_geometric(spec.method)) check_geometric(spec, pool.size());
  if (!spec.weights.empty() && spec.weights.size() != pool.size())
    fail(Status::InvalidArgument, "merge: " + std::to_string(spec.weights.size()) +
                                      " weights for " + std::to_string(pool.size()) + " members");
  check_method_params(spec, pool.size());
}

void StreamingMerge::merge_tensor(size_t t, const ChunkSink &sink) const {
  if (spec_.overrides.empty()) return TensorMerge(spec_, base_, pool_, t).run(sink);
  const MergeSpec own = spec_.for_tensor(base_.tensors()[t].name, pool_.size());
  if (is_geometric(own.method)) check_geometric(own, pool_.size());  // overridden t, weights
  TensorMerge(own, base_, pool_, t).run(sink);
}

void merge_streaming(const MergeSpec &spec, const Checkpoint &base,
                     const std::vector<const Checkpoint *> &pool, const MergedSink &sink) {
  const StreamingMerge merge(spec, base, pool);
  ThreadScope threads(spec.threads);
  const std::vector<TensorMeta> &metas = base.tensors();
  for (size_t t = 0; t < metas.size(); ++t) {
    poll(spec.stop);
    at::Tensor whole = at::empty({metas[t].numel}, at::kFloat);
    merge.merge_tensor(t, [&](int64_t begin, const at::Tensor &chunk) {
      whole.narrow(0, begin, chunk.numel()).copy_(chunk);
    });
    sink(t, metas[t], whole.reshape(metas[t].shape));
  }
}

}  // namespace fw
