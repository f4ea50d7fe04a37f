#include "merge/consensus.h"

#include "util/error.h"

namespace fw {

namespace {

double weight_at(const std::vector<double> &weights, size_t i) {
  return weights.empty() ? 1.0 : weights[i];
}

void require_members(const std::vector<at::Tensor> &taus) {
  if (taus.empty()) fail(Status::InvalidArgument, "merge: no task vectors to combine");
}

}  // namespace

at::Tensor weighted_sum(const std::vector<at::Tensor> &taus, const std::vector<double> &weights,
                        bool normalize) {
  require_members(taus);
  at::Tensor acc = taus[0].mul(weight_at(weights, 0));
  double total = weight_at(weights, 0);
  for (size_t i = 1; i < taus.size(); ++i) {
    acc.add_(taus[i], weight_at(weights, i));
    total += weight_at(weights, i);
  }
  if (normalize) {
    if (total == 0.0) fail(Status::InvalidArgument, "merge: normalize with weights summing to 0");
    acc.div_(total);
  }
  return acc;
}

at::Tensor ties_disjoint(const std::vector<at::Tensor> &taus, const std::vector<double> &weights,
                         bool normalize) {
  require_members(taus);
  std::vector<at::Tensor> weighted;
  weighted.reserve(taus.size());
  // Unit weights (the common case) reuse the inputs instead of holding n more tensors.
  for (size_t i = 0; i < taus.size(); ++i)
    weighted.push_back(weights.empty() ? taus[i] : taus[i].mul(weight_at(weights, i)));
  at::Tensor mass = weighted[0].clone();
  for (size_t i = 1; i < weighted.size(); ++i) mass.add_(weighted[i]);
  const at::Tensor elected = mass.sign();  // 0 where the summed mass is exactly 0
  mass = at::Tensor();

  at::Tensor numerator = at::zeros_like(taus[0]);
  at::Tensor divisor = at::zeros_like(taus[0]);
  for (size_t i = 0; i < weighted.size(); ++i) {
    const at::Tensor agree = weighted[i].sign().eq(elected).logical_and(elected.ne(0));
    numerator.add_(weighted[i].mul(agree));
    if (normalize) divisor.add_(agree.to(at::kFloat), weight_at(weights, i));
  }
  if (!normalize) return numerator;
  // No agreeing member: the numerator is 0 there, keep it 0 instead of 0/0.
  return numerator.div(at::where(divisor.eq(0), at::ones_like(divisor), divisor));
}

}  // namespace fw
