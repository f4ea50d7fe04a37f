#include "transforms.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <stdexcept>

namespace demo {
namespace {

at::Tensor gaussian_blur(const at::Tensor &x) {
  const double sigma = 1.5;
  at::Tensor k1 = at::arange(-2, 3, at::kFloat);
  k1 = at::exp(-(k1 * k1) / (2 * sigma * sigma));
  k1 = k1 / k1.sum();
  const at::Tensor kernel = at::outer(k1, k1).view({1, 1, 5, 5});
  return at::conv2d(x, kernel, {}, /*stride=*/1, /*padding=*/2);
}

at::Tensor shift(const at::Tensor &x, int64_t s) {
  // pad left/top by s, drop s columns/rows at the right/bottom
  const at::Tensor padded = at::constant_pad_nd(x, {s, 0, s, 0}, 0.0);
  return padded.slice(2, 0, 28).slice(3, 0, 28).contiguous();
}

at::Tensor block_perm(const at::Tensor &x) {
  // a fixed permutation of the 4x4 grid of 7x7 blocks (no block stays in place)
  static const int64_t perm[16] = {5, 12, 3, 9, 14, 0, 7, 10, 1, 15, 11, 2, 8, 13, 4, 6};
  const int64_t n = x.size(0);
  const at::Tensor blocks =
      x.reshape({n, 4, 7, 4, 7}).permute({0, 1, 3, 2, 4}).reshape({n, 16, 7, 7});
  const at::Tensor index = at::from_blob(const_cast<int64_t *>(perm), {16}, at::kLong).clone();
  return blocks.index_select(1, index)
      .reshape({n, 4, 4, 7, 7})
      .permute({0, 1, 3, 2, 4})
      .reshape({n, 1, 28, 28})
      .contiguous();
}

at::Tensor pixel_perm(const at::Tensor &x) {
  at::Generator gen = at::detail::createCPUGenerator(20250101);
  const at::Tensor perm = at::randperm(784, gen, at::kLong);
  return x.reshape({x.size(0), 784}).index_select(1, perm).reshape({x.size(0), 1, 28, 28});
}

}  // namespace

const char *transform_name(Transform t) {
  switch (t) {
    case Transform::kIdentity:
      return "identity";
    case Transform::kRot90:
      return "rot90";
    case Transform::kRot180:
      return "rot180";
    case Transform::kRot270:
      return "rot270";
    case Transform::kHFlip:
      return "hflip";
    case Transform::kVFlip:
      return "vflip";
    case Transform::kTranspose:
      return "transpose";
    case Transform::kInvert:
      return "invert";
    case Transform::kNoise:
      return "noise";
    case Transform::kBlur:
      return "blur";
    case Transform::kShift:
      return "shift";
    case Transform::kBlockPerm:
      return "blockperm";
    case Transform::kZoom:
      return "zoom";
    case Transform::kPixelPerm:
      return "pixelperm";
  }
  return "?";
}

at::Tensor apply_transform(const at::Tensor &images, Transform t, uint64_t seed) {
  const at::Tensor &x = images;
  switch (t) {
    case Transform::kIdentity:
      return x.clone();
    case Transform::kRot90:
      return at::rot90(x, 1, {2, 3}).contiguous();
    case Transform::kRot180:
      return at::rot90(x, 2, {2, 3}).contiguous();
    case Transform::kRot270:
      return at::rot90(x, 3, {2, 3}).contiguous();
    case Transform::kHFlip:
      return at::flip(x, {3});
    case Transform::kVFlip:
      return at::flip(x, {2});
    case Transform::kTranspose:
      return x.transpose(2, 3).contiguous();
    case Transform::kInvert:
      return 1.0 - x;
    case Transform::kNoise: {
      at::Generator gen = at::detail::createCPUGenerator(seed);
      return (x + 0.35 * at::randn(x.sizes(), gen, x.options())).clamp_(0.0, 1.0);
    }
    case Transform::kBlur:
      return gaussian_blur(x);
    case Transform::kShift:
      return shift(x, 6);
    case Transform::kBlockPerm:
      return block_perm(x);
    case Transform::kZoom:
      return at::upsample_bilinear2d(x.slice(2, 6, 22).slice(3, 6, 22), {28, 28}, false);
    case Transform::kPixelPerm:
      return pixel_perm(x);
  }
  throw std::invalid_argument("apply_transform: unknown transform");
}

}  // namespace demo
