#include "merge/geometric.h"

#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "util/error.h"

namespace fw {

namespace {

[[noreturn]] void invalid(const std::string &message) { fail(Status::InvalidArgument, message); }

// mergekit's slerp constants (slerp.py: slerp(dot_threshold=0.9995, eps=1e-8); the merge method
// passes neither, so they are fixed).
constexpr float kSlerpDotThreshold = 0.9995f;
constexpr float kSlerpEps = 1e-8f;
// nuslerp.py: _normalize clamps norms at 1e-7; colinear when 1 - cos^2 <= eps^2, eps = 1e-8.
constexpr float kNuslerpNormMin = 1e-7f;
constexpr float kNuslerpColinear = 1e-16f;
// nuslerp's coefficients per row: c0, c1, the divisor (spherical branch), colinear (0 / 1).
constexpr size_t kNuslerpCoefs = 4;
// nearswap.py: |a - b| clamped at 1e-6 before t is divided by it.
constexpr float kNearswapMinDiff = 1e-6f;
// karcher: the largest max_iter accepted (mergekit's default is 10; it stops at tol long before).
constexpr int64_t kKarcherMaxIter = 1000000;
// arcee_fusion.py: added to both softmaxes.
constexpr float kFusionEps = 1e-8f;

// Entries of the upper triangle of an m x m matrix.
size_t triangle(size_t m) { return m * (m + 1) / 2; }

// The Gram matrix's entry (i, j) in a row-major upper triangle (row i starts after the m + (m - 1)
// + ... + (m - i + 1) entries of the rows above).
double gram_at(const double *g, size_t m, size_t i, size_t j) {
  if (i > j) std::swap(i, j);
  return g[i * (2 * m - i + 1) / 2 + (j - i)];
}

// x^T G y for coefficient vectors over the Gram matrix's vectors.
double quadratic(const double *g, size_t m, const std::vector<double> &x,
                 const std::vector<double> &y) {
  double s = 0.0;
  for (size_t i = 0; i < m; ++i)
    for (size_t j = 0; j < m; ++j) s += x[i] * gram_at(g, m, i, j) * y[j];
  return s;
}

// sum_i k_i x_i in fp32, each product rounded, then added in order (no fused multiply-add).
at::Tensor weighted(const std::vector<at::Tensor> &xs, const std::vector<float> &k) {
  at::Tensor acc = xs[0].mul(k[0]);
  for (size_t i = 1; i < xs.size(); ++i) acc.add_(xs[i].mul(k[i]));
  return acc;
}

float *data(const at::Tensor &t) { return t.data_ptr<float>(); }

}  // namespace

bool is_geometric(MergeMethod method) {
  switch (method) {
    case MergeMethod::Slerp:
    case MergeMethod::Nuslerp:
    case MergeMethod::Multislerp:
    case MergeMethod::Karcher:
    case MergeMethod::Nearswap:
    case MergeMethod::ArceeFusion:
      return true;
    default:
      return false;
  }
}

bool geometric_in_recipe_dtype(MergeMethod method) {
  return method == MergeMethod::Nearswap || method == MergeMethod::Multislerp ||
         method == MergeMethod::Nuslerp || method == MergeMethod::Karcher;
}

bool geometric_reads_members(const MergeSpec &spec, size_t n) {
  switch (spec.method) {
    case MergeMethod::Multislerp:
      return n == 1;  // mergekit returns the single member itself
    case MergeMethod::Nuslerp:
      return false;
    default:
      return true;
  }
}

void check_geometric(const MergeSpec &spec, size_t n) {
  const std::string name = merge_method_name(spec.method);
  const std::string got = ", got " + std::to_string(n);
  switch (spec.method) {
    case MergeMethod::Slerp:
    case MergeMethod::Nearswap:
    case MergeMethod::ArceeFusion:
      // mergekit's contract: the base and exactly one other input.
      if (n != 1) invalid(name + " merges the base with exactly 1 pool member" + got);
      break;
    case MergeMethod::Nuslerp:
      if (n != 2) invalid(name + " needs exactly 2 pool members" + got);
      break;
    case MergeMethod::Multislerp:
    case MergeMethod::Karcher:
      if (n < 1) invalid(name + " needs at least 1 pool member" + got);
      break;
    default:
      invalid(name + " is not a geometric method");
  }
  const bool takes_weights =
      spec.method == MergeMethod::Multislerp || spec.method == MergeMethod::Nuslerp;
  if (!spec.weights.empty()) {
    if (!takes_weights) invalid(name + " takes no weights; pass NULL");
    if (spec.weights.size() != n)
      invalid(name + ": " + std::to_string(spec.weights.size()) + " weights for " +
              std::to_string(n) + " members");
    for (size_t i = 0; i < n; ++i)
      require_fp32(spec.weights[i], name + ": the weight of member " + std::to_string(i));
    require_weight_sum_fits(spec.weights, name);
  }
  if (spec.method == MergeMethod::Multislerp && spec.normalize && n > 1) {
    // mergekit divides by the sum (in fp32): 0 gives infinite weights.
    float sum = 0.0f;
    for (size_t i = 0; i < n; ++i) sum += static_cast<float>(spec.weight(i));
    if (sum == 0.0f) invalid(name + ": normalize with weights summing to 0");
  }
  if (spec.method == MergeMethod::Slerp || spec.method == MergeMethod::Nearswap)
    require_fp32(spec.t, name + ": t");
  // eps > 0 keeps every division of multislerp finite (|T| + eps with T = 0 is its usual case).
  if (spec.method == MergeMethod::Multislerp && !(std::isfinite(spec.eps) && spec.eps > 0.0))
    invalid(name + ": eps must be finite and > 0");
  if (spec.method == MergeMethod::Karcher) {
    // Each step costs O(n^2) on the Gram matrix; the cap only bounds a runaway value.
    if (spec.max_iter < 0 || spec.max_iter > kKarcherMaxIter)
      invalid(name + ": max_iter must be in [0, " + std::to_string(kKarcherMaxIter) + "]");
    if (!(std::isfinite(spec.tol) && spec.tol >= 0.0))
      invalid(name + ": tol must be finite and >= 0");
  }
}

GeometricMerge::GeometricMerge(const MergeSpec &spec, const std::vector<int64_t> &shape, size_t n,
                               std::string name, at::ScalarType compute)
    : spec_(spec), shape_(shape), n_(n), name_(std::move(name)), compute_(compute) {
  for (int64_t d : shape_) numel_ *= d;
  if (spec_.method == MergeMethod::Karcher && n_ > 1 && compute_ != at::kFloat) {
    karcher_reduced_ = std::make_unique<KarcherReduced>(spec_, n_, numel_, compute_);
    return;
  }
  if (spec_.method == MergeMethod::Multislerp && n_ > 1 && compute_ != at::kFloat) {
    reduced_ = std::make_unique<MultislerpReduced>(spec_, n_, numel_, compute_, name_);
    return;
  }
  // nuslerp unflattened: one angle per vector along the last dimension (per row), or, row-wise,
  // along the first (per column: mergekit transposes dims 0 and -1). A tensor of rank < 2 is one
  // vector either way.
  if (spec_.method == MergeMethod::Nuslerp && !spec_.nuslerp_flatten && shape_.size() >= 2 &&
      numel_ > 0) {
    if (spec_.nuslerp_row_wise) {
      col_count_ = numel_ / shape_[0];
      keys_ = col_count_;
    } else {
      row_len_ = shape_.back();
      keys_ = numel_ / row_len_;
    }
  }
  if (spec_.method == MergeMethod::Nuslerp && compute_ != at::kFloat) {
    const bool column = col_count_ > 0;
    const int64_t vector_len = row_len_ > 0 ? row_len_ : column ? shape_[0] : numel_;
    nu_reduced_ = std::make_unique<NuslerpReduced>(spec_, keys_, std::max<int64_t>(vector_len, 1),
                                                   column, compute_);
    return;
  }
  if (spec_.method == MergeMethod::ArceeFusion) {
    // mergekit's softmax is along the last dimension: one row per vector along it.
    row_len_ = shape_.empty() || numel_ == 0 ? std::max<int64_t>(numel_, 1) : shape_.back();
    keys_ = numel_ == 0 ? 1 : numel_ / row_len_;
    const size_t rows = static_cast<size_t>(keys_);
    max_base_.assign(rows, -std::numeric_limits<float>::infinity());
    max_member_.assign(rows, -std::numeric_limits<float>::infinity());
    sum_base_.assign(rows, 0.0);
    sum_member_.assign(rows, 0.0);
    kl_.assign(rows, 0.0);
    importance_.assign(static_cast<size_t>(numel_), 0.0f);
  } else if (passes() > 0) {
    gram_.assign(static_cast<size_t>(keys_) * triangle(vectors()), 0.0);
  }
}

size_t GeometricMerge::vectors() const {
  switch (spec_.method) {
    case MergeMethod::Slerp:
      return 2;  // the base and the member
    case MergeMethod::Nuslerp:
      return 2;  // the two task vectors
    case MergeMethod::Multislerp:
    case MergeMethod::Karcher:
      return n_;
    default:
      return 0;
  }
}

// torch's elementwise ops on bf16 / f16 tensors compute each result in fp32 (their opmath type,
// Python scalars kept in fp32) and round it to the tensor's dtype.
float GeometricMerge::rounded(float x) const {
  if (compute_ == at::kBFloat16) return static_cast<float>(c10::BFloat16(x));
  if (compute_ == at::kHalf) return static_cast<float>(c10::Half(x));
  return x;
}

int GeometricMerge::passes() const {
  if (reduced_) return MultislerpReduced::kPasses;
  if (karcher_reduced_) return karcher_reduced_->passes();
  if (nu_reduced_) return NuslerpReduced::kPasses;
  switch (spec_.method) {
    case MergeMethod::Slerp:
    case MergeMethod::Nuslerp:
      return 1;
    case MergeMethod::Multislerp:
    case MergeMethod::Karcher:
      return n_ > 1 ? 1 : 0;
    case MergeMethod::ArceeFusion:
      return 4;
    default:
      return 0;
  }
}

int64_t GeometricMerge::key_of(int64_t e) const {
  if (row_len_ > 0) return e / row_len_;
  if (col_count_ > 0) return e % col_count_;
  return 0;
}

std::vector<int64_t> GeometricMerge::keys_of(int64_t begin, int64_t len) const {
  std::vector<int64_t> keys(static_cast<size_t>(len));
  for (int64_t e = 0; e < len; ++e) keys[static_cast<size_t>(e)] = key_of(begin + e);
  return keys;
}

void GeometricMerge::accumulate(int pass, int64_t begin, const at::Tensor &base,
                                const std::vector<at::Tensor> &inputs) {
  if (reduced_) return reduced_->accumulate(pass, begin, inputs);
  if (karcher_reduced_) return karcher_reduced_->accumulate(pass, begin, inputs);
  if (nu_reduced_)
    return nu_reduced_->accumulate(pass, begin, keys_of(begin, base.numel()), inputs);
  if (spec_.method == MergeMethod::ArceeFusion) return accumulate_fusion(pass, begin, base, inputs);
  const size_t m = vectors();
  const size_t tri = triangle(m);
  std::vector<const float *> v;
  if (spec_.method == MergeMethod::Slerp) v.push_back(data(base));
  for (size_t i = 0; v.size() < m; ++i) v.push_back(data(inputs[i]));
  const int64_t len = base.numel();
  // In index order, one entry at a time: a streamed tensor adds the same terms in the same order
  // as the whole one, so both get the same bits whatever the chunking or thread count.
  for (int64_t e = 0; e < len; ++e) {
    double *g = gram_.data() + static_cast<size_t>(key_of(begin + e)) * tri;
    for (size_t i = 0; i < m; ++i) {
      const double xi = v[i][e];
      for (size_t j = i; j < m; ++j) *g++ += xi * static_cast<double>(v[j][e]);
    }
  }
}

// arcee_fusion.py's _compute_importance per row of the member m and the base b, in fp32 as
// torch's: p = softmax(m) + 1e-8, q = softmax(b) + 1e-8 (softmax as exp(x - max) times the
// reciprocal of the row's sum), KL = sum p log(p / q); importance |m - b| KL. The row sums are
// accumulated in double (torch's in fp32): they agree within fp32 rounding.
void GeometricMerge::accumulate_fusion(int pass, int64_t begin, const at::Tensor &base,
                                       const std::vector<at::Tensor> &inputs) {
  const float *b = data(base);
  const float *m = data(inputs[0]);
  const int64_t len = base.numel();
  for (int64_t e = 0; e < len; ++e) {
    const size_t row = static_cast<size_t>(key_of(begin + e));
    switch (pass) {
      case 0:  // maxima (NaN propagates, as torch's max)
        max_base_[row] = std::isnan(b[e]) || b[e] > max_base_[row] ? b[e] : max_base_[row];
        max_member_[row] = std::isnan(m[e]) || m[e] > max_member_[row] ? m[e] : max_member_[row];
        break;
      case 1:
        sum_base_[row] += std::exp(b[e] - max_base_[row]);
        sum_member_[row] += std::exp(m[e] - max_member_[row]);
        break;
      case 2: {
        const float p = softmax_entry(m[e], max_member_[row], sum_member_[row]);
        const float q = softmax_entry(b[e], max_base_[row], sum_base_[row]);
        kl_[row] += p * std::log(p / q);
        break;
      }
      default:
        importance_[static_cast<size_t>(begin + e)] = fusion_importance(b[e], m[e], row);
        break;
    }
  }
}

float GeometricMerge::softmax_entry(float x, float max, double sum) {
  const float reciprocal = 1.0f / static_cast<float>(sum);
  return std::exp(x - max) * reciprocal + kFusionEps;
}

float GeometricMerge::fusion_importance(float b, float m, size_t row) const {
  return std::fabs(m - b) * static_cast<float>(kl_[row]);
}

void GeometricMerge::finish() {
  if (reduced_) return reduced_->finish();
  if (karcher_reduced_) return karcher_reduced_->finish();
  if (nu_reduced_) return nu_reduced_->finish();
  if (passes() == 0) return;  // nearswap; multislerp and karcher of one member
  switch (spec_.method) {
    case MergeMethod::Slerp: {
      // slerp.py in fp32: norms (> eps, else 1), the dot of the normalized rows clamped to
      // [-1, 1], the lerp branch past dot_threshold, then sin-weighted coefficients. The norms and
      // the dot come from double sums here (mergekit's from fp32 reductions): the coefficients
      // agree within fp32 rounding.
      const double *g = gram_.data();
      float na = static_cast<float>(std::sqrt(g[0]));
      float nb = static_cast<float>(std::sqrt(g[2]));
      if (!(na > kSlerpEps)) na = 1.0f;
      if (!(nb > kSlerpEps)) nb = 1.0f;
      const float dot =
          std::clamp(static_cast<float>(g[1] / (static_cast<double>(na) * static_cast<double>(nb))),
                     -1.0f, 1.0f);
      const bool linear = std::fabs(dot) > kSlerpDotThreshold;
      const float t = static_cast<float>(spec_.t);
      const float theta = std::acos(linear ? 0.0f : dot);
      const float sin_theta = std::sin(theta);
      coef_ = {linear ? 1.0f - t : std::sin((1.0f - t) * theta) / sin_theta,
               linear ? t : std::sin(t * theta) / sin_theta};
      break;
    }
    case MergeMethod::Multislerp: {
      // multislerp.py on task vectors tau_i, every vector it forms being a combination of the
      // tau_i: units u_i = tau_i / (|tau_i| + eps), their weighted mean m = sum w_i u_i, m^ = m /
      // |m|, tangents u_i - <u_i, m^> m^, their weighted sum T, then (m^ cos|T|' + T sin|T|' /
      // |T|') sum_i w_i |tau_i|, |T|' = |T| + eps. So the result is base + sum_j k_j tau_j, with
      // the k_j from the Gram matrix (in double; the weights as mergekit's fp32 tensor). T is 0 up
      // to rounding (m^ is the point the tangents are taken at), as in mergekit.
      const size_t m = n_;
      const double *g = gram_.data();
      std::vector<float> wf(m);
      for (size_t i = 0; i < m; ++i) wf[i] = static_cast<float>(spec_.weight(i));
      if (spec_.normalize) {
        float sum = 0.0f;
        for (float w : wf) sum += w;
        for (float &w : wf) w = w / sum;
      }
      const double eps = spec_.eps;
      std::vector<double> w(m), norm(m), inv(m), mean(m);
      for (size_t i = 0; i < m; ++i) {
        w[i] = wf[i];
        norm[i] = std::sqrt(gram_at(g, m, i, i));
        inv[i] = 1.0 / (norm[i] + eps);
        mean[i] = w[i] * inv[i];
      }
      const double mean_norm = std::sqrt(std::max(0.0, quadratic(g, m, mean, mean)));
      if (mean_norm < eps) {
        // mergekit: lerp of the two task vectors, or an error for more.
        if (m == 2) {
          coef_ = {wf[0], wf[1]};
          break;
        }
        invalid("multislerp: tensor \"" + name_ +
                "\": the weighted sum of the unit task vectors is 0 (antipodal task vectors whose "
                "weights balance out); use other weights");
      }
      std::vector<double> c(m), e(m);
      for (size_t i = 0; i < m; ++i) c[i] = mean[i] / mean_norm;
      double dot_sum = 0.0;  // sum_i w_i <u_i, m^>
      for (size_t i = 0; i < m; ++i) {
        double d = 0.0;
        for (size_t j = 0; j < m; ++j) d += c[j] * gram_at(g, m, i, j);
        dot_sum += w[i] * inv[i] * d;
      }
      for (size_t j = 0; j < m; ++j) e[j] = w[j] * inv[j] - dot_sum * c[j];
      const double tangent_norm = std::sqrt(std::max(0.0, quadratic(g, m, e, e))) + eps;
      double avg_norm = 0.0;
      for (size_t i = 0; i < m; ++i) avg_norm += norm[i] * w[i];
      const double cos_t = std::cos(tangent_norm);
      const double sin_t = std::sin(tangent_norm) / tangent_norm;
      coef_.resize(m);
      for (size_t j = 0; j < m; ++j)
        coef_[j] = static_cast<float>(avg_norm * (cos_t * c[j] + sin_t * e[j]));
      break;
    }
    case MergeMethod::Nuslerp: {
      // nuslerp.py per vector (the whole tensor, a row or a column): units by norms clamped at
      // 1e-7, cos clamped to [-1, 1], colinear when 1 - cos^2 <= eps^2, then (sin((1 - t) theta)
      // v0 + sin(t theta) v1) / sin(theta), or (1 - t) v0 + t v1 when colinear; in fp32, t the
      // Python float mergekit computes from the two weights.
      const double w0 = spec_.weight(0), w1 = spec_.weight(1);
      const double total = w0 + w1;
      const double t = std::fabs(total) < 1e-6 ? 0.5 : w1 / total;
      const float tf = static_cast<float>(t);
      const float uf = static_cast<float>(1.0 - t);
      coef_.assign(static_cast<size_t>(keys_) * kNuslerpCoefs, 0.0f);
      for (int64_t k = 0; k < keys_; ++k) {
        const double *g = gram_.data() + static_cast<size_t>(k) * 3;
        const float na = std::max(static_cast<float>(std::sqrt(g[0])), kNuslerpNormMin);
        const float nb = std::max(static_cast<float>(std::sqrt(g[2])), kNuslerpNormMin);
        const float cos = std::clamp(
            static_cast<float>(g[1] / (static_cast<double>(na) * static_cast<double>(nb))), -1.0f,
            1.0f);
        const float cos2 = cos * cos;
        const bool colinear = 1.0f - cos2 <= kNuslerpColinear;
        float *c = coef_.data() + static_cast<size_t>(k) * kNuslerpCoefs;
        if (colinear) {
          c[0] = uf;
          c[1] = tf;
          c[2] = 1.0f;
          c[3] = 1.0f;
          continue;
        }
        const float theta = std::acos(cos);
        c[0] = std::sin(uf * theta);
        c[1] = std::sin(tf * theta);
        c[2] = std::sin(theta);
      }
      break;
    }
    case MergeMethod::Karcher: {
      // karcher.py: units u_i = x_i / |x_i|, those with |x_i| > tol averaged on the sphere by at
      // most max_iter Riemannian steps from their normalized weighted mean (alphas 1 / n), then
      // scaled by sum_i |x_i| / n. Every iterate is a combination of the units, so the iterations
      // run on coefficient vectors over the units' Gram matrix (double) and no tensor is held;
      // mergekit runs the same steps on fp32 tensors.
      const size_t m = n_;
      const double *g = gram_.data();
      const double tol = spec_.tol;
      const double alpha = 1.0 / static_cast<double>(m);
      std::vector<double> norm(m);
      std::vector<size_t> valid;
      for (size_t i = 0; i < m; ++i) {
        norm[i] = std::sqrt(gram_at(g, m, i, i));
        if (norm[i] > tol) valid.push_back(i);
      }
      if (valid.empty()) {  // mergekit: sum(x * 0): zeros
        all_zero_ = true;
        break;
      }
      const size_t v = valid.size();
      std::vector<double> unit_gram(triangle(v));
      for (size_t a = 0, p = 0; a < v; ++a)
        for (size_t b = a; b < v; ++b, ++p)
          unit_gram[p] = gram_at(g, m, valid[a], valid[b]) / (norm[valid[a]] * norm[valid[b]]);
      const double *ug = unit_gram.data();
      const auto length = [&](const std::vector<double> &x) {
        return std::sqrt(std::max(0.0, quadratic(ug, v, x, x)));
      };
      const std::vector<double> weight(v, 1.0 / static_cast<double>(v));  // alpha / sum(alpha)
      std::vector<double> mean = weight;
      const double mean_norm = length(mean);
      if (mean_norm < tol) {
        std::fill(mean.begin(), mean.end(), 0.0);
        mean[0] = 1.0;
      } else {
        for (double &c : mean) c /= mean_norm;
      }
      for (int64_t iter = 0; iter < spec_.max_iter; ++iter) {
        std::vector<double> tangent(v, 0.0);
        for (size_t a = 0; a < v; ++a) {
          double dot = 0.0;
          for (size_t b = 0; b < v; ++b) dot += gram_at(ug, v, a, b) * mean[b];
          dot = std::clamp(dot, -1.0, 1.0);
          const double theta = std::acos(dot);
          if (theta < tol) continue;
          const double f = weight[a] * (theta / std::sin(theta));
          tangent[a] += f;  // f (u_a - dot mean)
          for (size_t b = 0; b < v; ++b) tangent[b] -= f * dot * mean[b];
        }
        const double tangent_norm = length(tangent);
        if (tangent_norm < tol) break;
        const double c = std::cos(tangent_norm), sn = std::sin(tangent_norm) / tangent_norm;
        for (size_t b = 0; b < v; ++b) mean[b] = c * mean[b] + sn * tangent[b];
        const double unit_norm = length(mean);
        if (unit_norm > tol)
          for (double &x : mean) x /= unit_norm;
      }
      double scale = 0.0;
      for (size_t i = 0; i < m; ++i) scale += alpha * norm[i];
      coef_.assign(m, 0.0f);  // on the members: scale mean_a / |x_a|
      for (size_t a = 0; a < v; ++a)
        coef_[valid[a]] = static_cast<float>(scale * mean[a] / norm[valid[a]]);
      break;
    }
    case MergeMethod::ArceeFusion: {
      // DynamicThresholdFusion: the sorted scores at floor(q (N - 1)) for q = 0.25, 0.5, 0.75,
      // threshold median + 1.5 (q3 - q1) in fp32. NaN sorts last, as in torch.sort. Above 1M
      // entries mergekit sorts an unseeded random sample of 1M (with replacement), which estimates
      // these same quantiles: fwmerge takes them exactly, so that a merge is reproducible.
      if (importance_.empty()) break;
      const auto before = [](float x, float y) {
        return std::isnan(y) ? !std::isnan(x) : (!std::isnan(x) && x < y);
      };
      const int64_t last = numel_ - 1;
      const auto quantile = [&](int64_t index) {
        std::nth_element(importance_.begin(), importance_.begin() + index, importance_.end(),
                         before);
        return importance_[static_cast<size_t>(index)];
      };
      const float q1 = quantile(last / 4);
      const float median = quantile(last / 2);
      const float q3 = quantile(last * 3 / 4);
      const float spread = q3 - q1;
      threshold_ = median + 1.5f * spread;
      importance_.clear();
      importance_.shrink_to_fit();
      break;
    }
    default:
      break;
  }
}

at::Tensor GeometricMerge::combine(int64_t begin, const at::Tensor &base,
                                   const std::vector<at::Tensor> &inputs) const {
  if (reduced_) return reduced_->combine(base, inputs);
  if (karcher_reduced_) return karcher_reduced_->combine(begin, inputs);
  if (nu_reduced_) return nu_reduced_->combine(keys_of(begin, base.numel()), base, inputs);
  switch (spec_.method) {
    case MergeMethod::Slerp:
      // coef_a * x + coef_b * y, each product rounded to fp32 as torch's.
      return base.mul(coef_[0]).add(inputs[0].mul(coef_[1]));
    case MergeMethod::Nearswap: {
      // nearswap.py: weight = clamp(t / max(|a - b|, 1e-6), 0, 1); weight b + (1 - weight) a.
      // torch evaluates `t / x` as x.reciprocal() * t, so the same two roundings here; NaN stays
      // NaN through the clamps as through torch's. mergekit applies these ops to the tensors as
      // loaded (nearswap.py: nearswap_merge), so in mergekit mode every op rounds to the recipe's
      // dtype; the clamp's bound is cast to it (torch's clamp casts its scalars to the tensor's).
      at::Tensor out = at::empty_like(base);
      const float *a = data(base);
      const float *b = data(inputs[0]);
      float *o = data(out);
      const float t = static_cast<float>(spec_.t);
      const float min_diff = rounded(kNearswapMinDiff);
      const int64_t len = base.numel();
      for (int64_t e = 0; e < len; ++e) {
        float d = std::fabs(rounded(a[e] - b[e]));
        d = d < min_diff ? min_diff : d;
        float w = rounded(rounded(1.0f / d) * t);
        w = w < 0.0f ? 0.0f : (w > 1.0f ? 1.0f : w);
        const float wb = rounded(w * b[e]);
        const float wa = rounded(rounded(1.0f - w) * a[e]);
        o[e] = rounded(wb + wa);
      }
      return out;
    }
    case MergeMethod::Multislerp:
      if (n_ == 1) return inputs[0].clone();  // mergekit returns the one member itself
      // lerp fallback: tau_0 w_0 + tau_1 w_1, then + base, as mergekit's.
      return weighted(inputs, coef_).add(base);
    case MergeMethod::Nuslerp: {
      // base + r, r = (c0 v0 + c1 v1) / sin(theta), or c0 v0 + c1 v1 when colinear.
      at::Tensor out = at::empty_like(base);
      const float *b = data(base);
      const float *v0 = data(inputs[0]);
      const float *v1 = data(inputs[1]);
      float *o = data(out);
      const int64_t len = base.numel();
      for (int64_t e = 0; e < len; ++e) {
        const float *c = coef_.data() + static_cast<size_t>(key_of(begin + e)) * kNuslerpCoefs;
        const float p0 = c[0] * v0[e];
        const float p1 = c[1] * v1[e];
        float r = p0 + p1;
        if (c[3] == 0.0f) r = r / c[2];
        o[e] = b[e] + r;
      }
      return out;
    }
    case MergeMethod::Karcher: {
      if (n_ == 1) return inputs[0].clone();  // mergekit returns the one input itself
      if (all_zero_) return at::zeros_like(base);
      // The members below tol do not enter the mean (their coefficient is 0): left out of the sum.
      std::vector<at::Tensor> xs;
      std::vector<float> k;
      for (size_t i = 0; i < n_; ++i)
        if (coef_[i] != 0.0f) {
          xs.push_back(inputs[i]);
          k.push_back(coef_[i]);
        }
      return xs.empty() ? at::zeros_like(base) : weighted(xs, k);
    }
    case MergeMethod::ArceeFusion: {
      // b + (m - b) mask, mask 1 where the entry's importance (recomputed: the same bits as in
      // the scores) is >= the threshold.
      at::Tensor out = at::empty_like(base);
      const float *b = data(base);
      const float *m = data(inputs[0]);
      float *o = data(out);
      const int64_t len = base.numel();
      for (int64_t e = 0; e < len; ++e) {
        const size_t row = static_cast<size_t>(key_of(begin + e));
        const float mask = fusion_importance(b[e], m[e], row) >= threshold_ ? 1.0f : 0.0f;
        o[e] = b[e] + (m[e] - b[e]) * mask;
      }
      return out;
    }
    default:
      break;
  }
  fail(Status::Unsupported, std::string(merge_method_name(spec_.method)) + " is not implemented");
}

at::Tensor geometric_merge(const MergeSpec &spec, const at::Tensor &base,
                           const std::vector<at::Tensor> &members, at::ScalarType compute) {
  check_geometric(spec, members.size());
  const at::Tensor b = base.to(at::kFloat).contiguous().reshape(-1);
  std::vector<at::Tensor> inputs;
  const bool raw = geometric_reads_members(spec, members.size());
  for (const at::Tensor &m : members) {
    const at::Tensor x = m.to(at::kFloat).contiguous().reshape(-1);
    inputs.push_back(raw ? x : x.sub(b));
  }
  GeometricMerge merge(spec, base.sizes().vec(), members.size(), "", compute);
  for (int pass = 0; pass < merge.passes(); ++pass) merge.accumulate(pass, 0, b, inputs);
  merge.finish();
  return merge.combine(0, b, inputs).reshape(base.sizes());
}

}  // namespace fw
