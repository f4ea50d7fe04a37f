// The LMO's inner loop without LibTorch dispatch: <g, x> and <x, x> for an fp32 gradient chunk and
// a vertex chunk in its file dtype (F32, BF16 or F16, raw little-endian bytes as read from disk),
// converted in registers. Per chunk this replaces an allocation, a conversion kernel, a BLAS call
// and a scalar read-back; the measured effect is in bench/scale_bench.cpp (LMO vs plain read).
//
// Summation: 16 fp32 lanes per block of kDotBlock elements, folded in a fixed order into a double
// per block, blocks added in order. The same bits for given inputs on any x86-64 machine (AVX2 or
// not); not bit-identical to at::dot.
#pragma once

#include <cstdint>

#include "io/dtype.h"

namespace fw {

constexpr int64_t kDotBlock = 1024;

// Whether dot_raw / sq_norm_raw take this dtype.
bool dot_raw_supported(DType dtype);

// sum_i g[i] * x[i], x: n elements of `dtype` at `x`.
double dot_raw(const float *g, const void *x, DType dtype, int64_t n);

// sum_i x[i]^2.
double sq_norm_raw(const void *x, DType dtype, int64_t n);

// dst[i] = x[i] as fp32.
void to_f32_raw(const void *x, DType dtype, int64_t n, float *dst);

}  // namespace fw
