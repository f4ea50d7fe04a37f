#include "merge/nuslerp_reduced.h"

#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include <algorithm>
#include <cmath>

namespace fw {

namespace {

// nuslerp.py: _normalize clamps norms at 1e-7; colinear when 1 - cos^2 <= eps^2, eps = 1e-8.
constexpr float kNormMin = 1e-7f;
constexpr float kColinear = 1e-16f;

}  // namespace

NuslerpReduced::NuslerpReduced(const MergeSpec &spec, int64_t keys, int64_t vector_len, bool column,
                               at::ScalarType type)
    : type_(type), vector_len_(vector_len) {
  // nuslerp_merge_method: t = weights[1] / total (0.5 when the total is ~0), in Python floats.
  const double w0 = spec.weight(0), w1 = spec.weight(1);
  const double total = w0 + w1;
  const double t = std::fabs(total) < 1e-6 ? 0.5 : w1 / total;
  t_ = static_cast<float>(t);
  one_minus_t_ = static_cast<float>(1.0 - t);
  const size_t n = static_cast<size_t>(keys);
  // torch's norm kernel loads 16 bf16 / f16 entries at a time along a contiguous vector; a column
  // (strided) is summed in sequence (a block longer than the vector).
  const TorchNorm norm(vector_len, column ? vector_len + 1 : 16);
  norm0_acc_.assign(n, norm);
  norm1_acc_.assign(n, norm);
  dot_.assign(n, 0.0);
}

// torch's elementwise ops on bf16 / f16 compute in fp32 (Python scalars kept in fp32) and round.
float NuslerpReduced::round(float x) const {
  return type_ == at::kBFloat16 ? static_cast<float>(c10::BFloat16(x))
                                : static_cast<float>(c10::Half(x));
}

void NuslerpReduced::settle(int pass) {
  for (; settled_ < pass; ++settled_) {
    if (settled_ == 0) {
      // torch.norm(x, dim=-1).clamp(min=1e-7): fp32 sum, sqrt, rounded; the bound cast to the
      // dtype (torch's clamp casts its scalars to the tensor's).
      const float min = round(kNormMin);
      for (size_t k = 0; k < norm0_acc_.size(); ++k) {
        norm0_.push_back(std::max(round(norm0_acc_[k].value()), min));
        norm1_.push_back(std::max(round(norm1_acc_[k].value()), min));
      }
      norm0_acc_.clear();
      norm1_acc_.clear();
      continue;
    }
    // cos = sum(v0_u * v1_u).clamp(-1, 1); colinear = (1 - cos^2) <= eps^2 (compared in the
    // dtype); theta = acos(cos or 0); the sines of (1 - t) theta, t theta and theta.
    const float threshold = round(kColinear);
    for (size_t k = 0; k < dot_.size(); ++k) {
      const float cos = std::clamp(round(static_cast<float>(dot_[k])), -1.0f, 1.0f);
      const bool colinear = round(1.0f - round(cos * cos)) <= threshold;
      const float theta = round(std::acos(colinear ? 0.0f : cos));
      colinear_.push_back(colinear ? 1 : 0);
      c0_.push_back(round(std::sin(round(one_minus_t_ * theta))));
      c1_.push_back(round(std::sin(round(t_ * theta))));
      sin_.push_back(round(std::sin(theta)));
    }
  }
}

void NuslerpReduced::accumulate(int pass, int64_t begin, const std::vector<int64_t> &keys,
                                const std::vector<at::Tensor> &taus) {
  settle(pass);
  const float *a = taus[0].data_ptr<float>();
  const float *b = taus[1].data_ptr<float>();
  const int64_t len = taus[0].numel();
  // In index order: a streamed tensor adds the same terms in the same order as the whole one.
  for (int64_t e = 0; e < len; ++e) {
    const size_t k = static_cast<size_t>(keys[static_cast<size_t>(e)]);
    const double x = round(a[e]), y = round(b[e]);
    if (pass == 0) {
      // The entry's position along its vector: a row's or the flattened tensor's (a column's is
      // not needed: its sum is sequential).
      const int64_t index = (begin + e) % vector_len_;
      norm0_acc_[k].add(index, static_cast<float>(x));
      norm1_acc_[k].add(index, static_cast<float>(y));
    } else {
      dot_[k] += round(round(static_cast<float>(x) / norm0_[k]) *
                       round(static_cast<float>(y) / norm1_[k]));
    }
  }
}

void NuslerpReduced::finish() { settle(kPasses); }

at::Tensor NuslerpReduced::combine(const std::vector<int64_t> &keys, const at::Tensor &base,
                                   const std::vector<at::Tensor> &taus) const {
  at::Tensor out = at::empty_like(base);
  const float *bs = base.data_ptr<float>();
  const float *a = taus[0].data_ptr<float>();
  const float *b = taus[1].data_ptr<float>();
  float *o = out.data_ptr<float>();
  const int64_t len = base.numel();
  for (int64_t e = 0; e < len; ++e) {
    const size_t k = static_cast<size_t>(keys[static_cast<size_t>(e)]);
    const float v0 = round(a[e]), v1 = round(b[e]);
    float r;
    if (colinear_[k])  // (1 - t) * v0 + t * v1
      r = round(round(one_minus_t_ * v0) + round(t_ * v1));
    else  // (sin((1 - t) theta) v0 + sin(t theta) v1) / sin(theta)
      r = round(round(round(c0_[k] * v0) + round(c1_[k] * v1)) / sin_[k]);
    o[e] = round(bs[e] + r);
  }
  return out;
}

}  // namespace fw
