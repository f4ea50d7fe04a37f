#include "merge/torch_norm.h"

#include <cmath>

namespace fw {

TorchNorm::TorchNorm(int64_t numel, int64_t block) : main_(numel - numel % block) {}

void TorchNorm::add(int64_t index, float x) {
  const float square = x * x;  // rounded to fp32 before the add, as the kernel's mul then add
  if (index < main_)
    lanes_[static_cast<size_t>(index % kLanes)] += square;
  else
    tail_.push_back(square);
}

float TorchNorm::value() const {
  float sum = lanes_[0];
  for (size_t j = 1; j < lanes_.size(); ++j) sum += lanes_[j];
  for (float square : tail_) sum += square;
  return std::sqrt(sum);
}

}  // namespace fw
