#include "solver/dot_kernels.h"

#include <c10/util/Half.h>

#include <algorithm>
#include <cstring>

// The hot loops are compiled twice, for AVX2 and for the x86-64 baseline, and picked at load time
// (GCC/Clang function multi-versioning); elsewhere once.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define FW_SIMD_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define FW_SIMD_CLONES
#endif

namespace fw {
namespace {

// 16 independent fp32 lanes: lane j sums the elements i = j (mod 16) of a block in order, and the
// lanes are folded in a fixed order. No reassociation is left to the compiler (this file is built
// with -ffp-contract=off), so a vector unit of 4 or 8 lanes computes exactly what the scalar code
// would: the same bits on every x86-64 machine.
constexpr int kLanes = 16;

inline float bf16_to_f32(uint16_t h) {
  const uint32_t bits = static_cast<uint32_t>(h) << 16;  // bf16 is the top half of an fp32
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// sum_i term(i) over one block (n <= kDotBlock) in the lanes above. Inlined into each cloned
// kernel below, so every clone vectorizes it for its own target.
template <typename Term>
__attribute__((always_inline)) inline double lane_sum(int64_t n, Term term) {
  float acc[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) acc[j] += term(i + j);
  for (int j = 0; i < n; ++i, ++j) acc[j] += term(i);
  double s = 0;
  for (float a : acc) s += a;
  return s;
}

FW_SIMD_CLONES double block_dot_f32(const float *g, const float *x, int64_t n) {
  return lane_sum(n, [=](int64_t i) { return g[i] * x[i]; });
}

FW_SIMD_CLONES double block_dot_bf16(const float *g, const uint16_t *x, int64_t n) {
  return lane_sum(n, [=](int64_t i) { return g[i] * bf16_to_f32(x[i]); });
}

FW_SIMD_CLONES double block_sq_f32(const float *x, int64_t n) {
  return lane_sum(n, [=](int64_t i) { return x[i] * x[i]; });
}

FW_SIMD_CLONES double block_sq_bf16(const uint16_t *x, int64_t n) {
  return lane_sum(n, [=](int64_t i) {
    const float v = bf16_to_f32(x[i]);
    return v * v;
  });
}

FW_SIMD_CLONES void convert_bf16(const uint16_t *x, int64_t n, float *dst) {
  for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(x[i]);
}

// F16 (rare in checkpoints) converts through c10's scalar routine into a block buffer.
void convert_f16(const uint16_t *x, int64_t n, float *dst) {
  for (int64_t i = 0; i < n; ++i) dst[i] = c10::detail::fp16_ieee_to_fp32_value(x[i]);
}

}  // namespace

bool dot_raw_supported(DType dtype) {
  return dtype == DType::F32 || dtype == DType::BF16 || dtype == DType::F16;
}

double dot_raw(const float *g, const void *x, DType dtype, int64_t n) {
  double total = 0;
  float f16[kDotBlock];
  for (int64_t b = 0; b < n; b += kDotBlock) {
    const int64_t len = std::min(n - b, kDotBlock);
    switch (dtype) {
      case DType::F32:
        total += block_dot_f32(g + b, static_cast<const float *>(x) + b, len);
        break;
      case DType::BF16:
        total += block_dot_bf16(g + b, static_cast<const uint16_t *>(x) + b, len);
        break;
      default:
        convert_f16(static_cast<const uint16_t *>(x) + b, len, f16);
        total += block_dot_f32(g + b, f16, len);
        break;
    }
  }
  return total;
}

double sq_norm_raw(const void *x, DType dtype, int64_t n) {
  double total = 0;
  float f16[kDotBlock];
  for (int64_t b = 0; b < n; b += kDotBlock) {
    const int64_t len = std::min(n - b, kDotBlock);
    switch (dtype) {
      case DType::F32:
        total += block_sq_f32(static_cast<const float *>(x) + b, len);
        break;
      case DType::BF16:
        total += block_sq_bf16(static_cast<const uint16_t *>(x) + b, len);
        break;
      default:
        convert_f16(static_cast<const uint16_t *>(x) + b, len, f16);
        total += block_sq_f32(f16, len);
        break;
    }
  }
  return total;
}

void to_f32_raw(const void *x, DType dtype, int64_t n, float *dst) {
  switch (dtype) {
    case DType::F32:
      std::memcpy(dst, x, static_cast<size_t>(n) * sizeof(float));
      return;
    case DType::BF16:
      return convert_bf16(static_cast<const uint16_t *>(x), n, dst);
    default:
      return convert_f16(static_cast<const uint16_t *>(x), n, dst);
  }
}

}  // namespace fw
