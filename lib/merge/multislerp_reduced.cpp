#include "merge/multislerp_reduced.h"

#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include <cmath>
#include <utility>

#include "util/error.h"

namespace fw {

namespace {

// Entries of one SIMD load of a bf16 / f16 vector in torch's norm kernel (torch_norm.h).
constexpr int64_t kBlock = 16;

std::vector<const float *> pointers(const std::vector<at::Tensor> &xs) {
  std::vector<const float *> p;
  for (const at::Tensor &x : xs) p.push_back(x.data_ptr<float>());
  return p;
}

}  // namespace

MultislerpReduced::MultislerpReduced(const MergeSpec &spec, size_t n, int64_t numel,
                                     at::ScalarType type, std::string name)
    : n_(n),
      numel_(numel),
      type_(type),
      name_(std::move(name)),
      eps_(static_cast<float>(spec.eps)),
      norms_(n, TorchNorm(numel, kBlock)),
      sums_(n, 0.0),
      norm_(numel, kBlock) {
  // torch.tensor(weights, dtype=tensors.dtype), then weights / weights.sum(): the sum in fp32
  // rounded once, each quotient rounded.
  for (size_t i = 0; i < n_; ++i) w_.push_back(round(static_cast<float>(spec.weight(i))));
  if (spec.normalize) {
    float sum = 0.0f;
    for (float w : w_) sum += w;
    sum = round(sum);
    for (float &w : w_) w = round(w / sum);
  }
}

// torch's elementwise ops on bf16 / f16 compute in fp32 (Python scalars kept in fp32) and round.
float MultislerpReduced::round(float x) const {
  return type_ == at::kBFloat16 ? static_cast<float>(c10::BFloat16(x))
                                : static_cast<float>(c10::Half(x));
}

// torch.norm of a reduced-dtype tensor: in fp32 (torch_norm.h), then rounded to the dtype.
float MultislerpReduced::norm_of(const TorchNorm &norm) const { return round(norm.value()); }

float MultislerpReduced::unit(size_t i, float tau) const { return round(tau / divisor_[i]); }

// mean = (unit_tensors * weights.view(-1, 1)).sum(0): each product rounded, the sum over the
// members in fp32 in order, rounded once.
float MultislerpReduced::mean_entry(const std::vector<const float *> &t, int64_t e) const {
  float s = 0.0f;
  for (size_t i = 0; i < n_; ++i) s += round(unit(i, round(t[i][e])) * w_[i]);
  return round(s);
}

// tangent_result = ((unit - dots * mean) * weights).sum(0), with mean the normalized mean.
float MultislerpReduced::tangent_entry(const std::vector<const float *> &t, int64_t e,
                                       float mean_hat) const {
  float s = 0.0f;
  for (size_t i = 0; i < n_; ++i) {
    const float tangent = round(unit(i, round(t[i][e])) - round(dot_[i] * mean_hat));
    s += round(tangent * w_[i]);
  }
  return round(s);
}

void MultislerpReduced::settle(int pass) {
  for (; settled_ < pass; ++settled_) {
    switch (settled_) {
      case 0:  // norms = torch.norm(tensors_flat, dim=-1); unit_tensors = t / (norms + eps)
        for (size_t i = 0; i < n_; ++i) {
          norm_vals_.push_back(norm_of(norms_[i]));
          divisor_.push_back(round(norm_vals_.back() + eps_));
        }
        break;
      case 1:  // mean_norm = torch.norm(mean); below eps: lerp of 2, an error for more
        mean_norm_ = norm_of(norm_);
        norm_ = TorchNorm(numel_, kBlock);
        if (mean_norm_ < round(eps_)) {  // torch compares in the dtype: eps cast to it
          if (n_ != 2)
            fail(Status::InvalidArgument,
                 "multislerp: tensor \"" + name_ +
                     "\": the weighted sum of the unit task vectors is 0 (antipodal task vectors "
                     "whose weights balance out); use other weights");
          lerp_ = true;
        }
        std::fill(sums_.begin(), sums_.end(), 0.0);
        break;
      case 2:  // dots = (unit_tensors * mean).sum(-1): the products rounded, their sum in fp32
        for (size_t i = 0; i < n_; ++i) dot_.push_back(round(static_cast<float>(sums_[i])));
        break;
      default: {  // tangent_norm = norm + eps; cos, sin / tangent_norm; avg_norm
        const float tangent_norm = round(norm_of(norm_) + eps_);
        cos_ = round(std::cos(tangent_norm));
        sinc_ = round(round(std::sin(tangent_norm)) / tangent_norm);
        float avg = 0.0f;
        for (size_t i = 0; i < n_; ++i) avg += round(norm_vals_[i] * w_[i]);
        avg_norm_ = round(avg);
        break;
      }
    }
  }
}

void MultislerpReduced::accumulate(int pass, int64_t begin, const std::vector<at::Tensor> &taus) {
  settle(pass);
  if (lerp_) return;
  const std::vector<const float *> t = pointers(taus);
  const int64_t len = taus[0].numel();
  // In index order: a streamed tensor adds the same terms in the same order as the whole one.
  for (int64_t e = 0; e < len; ++e) {
    switch (pass) {
      case 0:
        for (size_t i = 0; i < n_; ++i) norms_[i].add(begin + e, round(t[i][e]));
        break;
      case 1:
        norm_.add(begin + e, mean_entry(t, e));
        break;
      case 2: {
        const float mean_hat = round(mean_entry(t, e) / mean_norm_);
        for (size_t i = 0; i < n_; ++i) sums_[i] += round(unit(i, round(t[i][e])) * mean_hat);
        break;
      }
      default:
        norm_.add(begin + e, tangent_entry(t, e, round(mean_entry(t, e) / mean_norm_)));
        break;
    }
  }
}

void MultislerpReduced::finish() { settle(kPasses); }

at::Tensor MultislerpReduced::combine(const at::Tensor &base,
                                      const std::vector<at::Tensor> &taus) const {
  at::Tensor out = at::empty_like(base);
  const float *b = base.data_ptr<float>();
  const std::vector<const float *> t = pointers(taus);
  float *o = out.data_ptr<float>();
  const int64_t len = base.numel();
  for (int64_t e = 0; e < len; ++e) {
    float r;
    if (lerp_) {  // tensors[0] * weights[0] + tensors[1] * weights[1]
      r = round(round(round(t[0][e]) * w_[0]) + round(round(t[1][e]) * w_[1]));
    } else {
      // mean * cos(|T|) + T * (sin(|T|) / |T|), times avg_norm
      const float mean_hat = round(mean_entry(t, e) / mean_norm_);
      const float tangent = tangent_entry(t, e, mean_hat);
      r = round(round(round(mean_hat * cos_) + round(tangent * sinc_)) * avg_norm_);
    }
    o[e] = round(r + b[e]);
  }
  return out;
}

}  // namespace fw
