// Image transformations that turn one real data set into many tasks. All act on float images
// [N, 1, 28, 28] in [0, 1] and are deterministic (noise uses a seeded generator).
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <string>

namespace demo {

enum class Transform {
  kIdentity,
  kRot90,
  kRot180,
  kRot270,
  kHFlip,
  kVFlip,
  kTranspose,  // mirror on the main diagonal
  kInvert,     // 1 - x
  kNoise,      // x + N(0, 0.35^2), clamped to [0, 1]
  kBlur,       // 5x5 Gaussian, sigma 1.5
  kShift,      // 6 pixels right and down, zero fill
  kBlockPerm,  // the 16 blocks of 7x7 pixels in a fixed shuffled order
  kZoom,       // center 16x16 crop upsampled to 28x28
  kPixelPerm,  // all 784 pixels in a fixed random order ("permuted MNIST")
};

const char *transform_name(Transform t);
// `seed` only matters for kNoise.
at::Tensor apply_transform(const at::Tensor &images, Transform t, uint64_t seed);

}  // namespace demo
