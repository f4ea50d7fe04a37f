#include "merge/karcher_reduced.h"

#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include <algorithm>
#include <cmath>

namespace fw {

namespace {

std::vector<const float *> pointers(const std::vector<at::Tensor> &xs) {
  std::vector<const float *> p;
  for (const at::Tensor &x : xs) p.push_back(x.data_ptr<float>());
  return p;
}

}  // namespace

KarcherReduced::KarcherReduced(const MergeSpec &spec, size_t n, int64_t numel, at::ScalarType type)
    : n_(n),
      numel_(numel),
      type_(type),
      max_iter_(spec.max_iter),
      tol_(spec.tol),
      member_norm_(n, TorchNorm(numel)),
      norm_acc_(numel),
      dot_sum_(n, 0.0) {}

// torch's elementwise ops on bf16 / f16 compute in fp32 and round to the dtype.
float KarcherReduced::round(float x) const {
  return type_ == at::kBFloat16 ? static_cast<float>(c10::BFloat16(x))
                                : static_cast<float>(c10::Half(x));
}

// Passes: 0 the members' norms, 1 the initial mean, then per iteration k the dots (2 + 3k), the
// tangent's norm (3 + 3k) and the update (4 + 3k). After mergekit's loop ends (|T| < tol) the
// remaining passes do nothing.
int KarcherReduced::passes() const { return static_cast<int>(2 + 3 * max_iter_); }

// tangent = sum over the valid members with theta >= tol of (alpha theta / sin theta) (u - dot
// mean), accumulated into a tensor of the dtype (`tangent += ...`).
float KarcherReduced::tangent_entry(const std::vector<const float *> &x, int64_t e,
                                    float mean) const {
  float t = 0.0f;
  for (size_t a = 0; a < valid_.size(); ++a) {
    if (skip_[a]) continue;
    const float u = unit(valid_[a], x[valid_[a]][e]);
    t = round(t + round(coef_[a] * round(u - round(dot_[a] * mean))));
  }
  return t;
}

void KarcherReduced::settle(int pass) {
  for (; settled_ < pass; ++settled_) {
    const int s = settled_;
    if (s == 0) {
      // norms: vector_norm(tensor.to(float32)); units = (tensor / norm) in the dtype; the valid
      // ones (norm > tol) averaged with alphas 1 / n normalized over them (Python floats).
      for (size_t i = 0; i < n_; ++i) {
        norm_.push_back(member_norm_[i].value());
        if (norm_.back() > tol_) valid_.push_back(i);
      }
      member_norm_.clear();
      if (valid_.empty()) {
        all_zero_ = done_ = true;  // mergekit: sum(tensor * 0): zeros
        continue;
      }
      const double alpha = 1.0 / static_cast<double>(n_);
      double alpha_sum = 0.0;
      for (size_t a = 0; a < valid_.size(); ++a) alpha_sum += alpha;
      for (size_t a = 0; a < valid_.size(); ++a)
        alpha_.push_back(static_cast<float>(alpha / alpha_sum));
      skip_.assign(valid_.size(), 0);
      dot_.assign(valid_.size(), 0.0f);
      coef_.assign(valid_.size(), 0.0f);
      continue;
    }
    if (done_) continue;
    if (s == 1) {
      // mean / vector_norm(mean), or the first valid unit when that norm is below tol.
      const float mean_norm = norm_acc_.value();
      norm_acc_ = TorchNorm(numel_);
      if (mean_norm < tol_) {
        first_unit_ = true;
        continue;
      }
      for (float &m : mean_) m = round(m / mean_norm);
      continue;
    }
    switch ((s - 2) % 3) {
      case 0:  // dot = clamp(torch.dot(mean, u), -1, 1); theta = arccos(dot), skipped below tol
        for (size_t a = 0; a < valid_.size(); ++a) {
          const float dot = std::clamp(round(static_cast<float>(dot_sum_[a])), -1.0f, 1.0f);
          const float theta = round(std::acos(dot));
          dot_sum_[a] = 0.0;
          dot_[a] = dot;
          skip_[a] = theta < tol_ ? 1 : 0;
          coef_[a] = round(alpha_[a] * round(theta / round(std::sin(theta))));
        }
        break;
      case 1:  // |T| = vector_norm(tangent): below tol, mergekit's loop ends
        tangent_norm_ = norm_acc_.value();
        norm_acc_ = TorchNorm(numel_);
        if (tangent_norm_ < tol_) {
          done_ = true;
          break;
        }
        // cos(|T|) * mean, sin(|T|) * ...: the fp32 scalar on the left is cast to the dtype.
        cos_ = round(std::cos(tangent_norm_));
        sin_ = round(std::sin(tangent_norm_));
        break;
      default: {  // mean / vector_norm(mean) when that norm is above tol
        const float unit_norm = norm_acc_.value();
        norm_acc_ = TorchNorm(numel_);
        first_unit_ = false;
        if (unit_norm > tol_)
          for (float &m : mean_) m = round(m / unit_norm);
        break;
      }
    }
  }
}

void KarcherReduced::accumulate(int pass, int64_t begin, const std::vector<at::Tensor> &xs) {
  settle(pass);
  if (pass > 0 && done_) return;
  const std::vector<const float *> x = pointers(xs);
  const int64_t len = xs[0].numel();
  if (pass == 1 && mean_.empty()) mean_.assign(static_cast<size_t>(numel_), 0.0f);
  const auto mean_at = [&](int64_t e, size_t g) {
    return first_unit_ ? unit(valid_[0], x[valid_[0]][e]) : mean_[g];
  };
  for (int64_t e = 0; e < len; ++e) {
    const int64_t index = begin + e;
    const size_t g = static_cast<size_t>(index);
    if (pass == 0) {
      for (size_t i = 0; i < n_; ++i) member_norm_[i].add(index, x[i][e]);
    } else if (pass == 1) {  // mean = 0; mean += alpha * unit, over the valid members
      float m = 0.0f;
      for (size_t a = 0; a < valid_.size(); ++a)
        m = round(m + round(alpha_[a] * unit(valid_[a], x[valid_[a]][e])));
      mean_[g] = m;
      norm_acc_.add(index, m);
    } else if ((pass - 2) % 3 == 0) {  // torch.dot in fp32 arithmetic
      const double m = mean_at(e, g);
      for (size_t a = 0; a < valid_.size(); ++a)
        dot_sum_[a] += m * static_cast<double>(unit(valid_[a], x[valid_[a]][e]));
    } else if ((pass - 2) % 3 == 1) {
      norm_acc_.add(index, tangent_entry(x, e, mean_at(e, g)));
    } else {  // mean = cos(|T|) mean + sin(|T|) (tangent / |T|), in the dtype
      const float m = mean_at(e, g);
      const float t = tangent_entry(x, e, m);
      const float updated = round(round(cos_ * m) + round(sin_ * round(t / tangent_norm_)));
      mean_[g] = updated;
      norm_acc_.add(index, updated);
    }
  }
}

void KarcherReduced::finish() { settle(passes()); }

at::Tensor KarcherReduced::combine(int64_t begin, const std::vector<at::Tensor> &xs) const {
  at::Tensor out = at::zeros({xs[0].numel()}, at::kFloat);
  if (all_zero_) return out;
  // scale = sum(alpha * norm) over all the members, in fp32; scale * mean casts it to the dtype.
  const float alpha = static_cast<float>(1.0 / static_cast<double>(n_));
  float scale = 0.0f;
  for (float norm : norm_) scale = scale + alpha * norm;
  scale = round(scale);
  const std::vector<const float *> x = pointers(xs);
  float *o = out.data_ptr<float>();
  for (int64_t e = 0; e < out.numel(); ++e) {
    const float m =
        first_unit_ ? unit(valid_[0], x[valid_[0]][e]) : mean_[static_cast<size_t>(begin + e)];
    o[e] = round(scale * m);
  }
  return out;
}

}  // namespace fw
