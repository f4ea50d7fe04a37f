#include "merge/torch_norm.h"

#include <cmath>

namespace fw {

TorchNorm::TorchNorm(int64_t numel, int64_t block) : main_(numel - numel % block) {}

namespace {

float lane_sum(const std::array<float, 8> &lanes) {
  float sum = lanes[0];
  for (size_t j = 1; j < lanes.size(); ++j) sum += lanes[j];
  return sum;
}

}  // namespace

void TorchNorm::add(int64_t index, float x) {
  const float square = x * x;  // rounded to fp32 before the add, as the kernel's mul then add
  if (index < main_) {
    lanes_[static_cast<size_t>(index % kLanes)] += square;
    return;
  }
  if (!in_tail_) {
    sum_ = lane_sum(lanes_);
    in_tail_ = true;
  }
  sum_ += square;
}

float TorchNorm::value() const { return std::sqrt(in_tail_ ? sum_ : lane_sum(lanes_)); }

}  // namespace fw
