// Model stock (Jang et al., "Model Stock: All we need is just a few fine-tuned models", 2024),
// per tensor, as in mergekit: cos = mean pairwise cosine of the task vectors, t = n cos /
// (1 + (n - 1) cos), merged = t * mean_i theta_i + (1 - t) * theta_0.
#pragma once

#include <ATen/ATen.h>

#include <vector>

namespace fw {

// Dot product of two fp32 tensors in double, with a fixed blocking (fixed-size blocks summed in
// order), so the value is the same for any thread count.
double deterministic_dot(const at::Tensor &a, const at::Tensor &b);
// Its block: a streamed tensor read in chunks that are multiples of it, each block's sum added in
// order, gets the same bits.
constexpr int64_t kDotBlock = int64_t{1} << 16;

// The dot product of one block (at most kDotBlock elements), in double, in index order.
double block_dot(const float *x, const float *y, int64_t n);

// The interpolation factor t for n task vectors; cos is clamped to [0, 1] (the paper's geometry
// assumes non-obtuse angles; a negative cos would give t < 0 or a pole at cos = -1/(n-1)), and a
// pair with a zero-norm vector counts as cos 0.
double model_stock_t(const std::vector<at::Tensor> &taus);
// The same from the Gram matrix of the task vectors: gram[i * n + j] = <tau_i, tau_j> (j >= i
// read; deterministic_dot's value).
double model_stock_t_from_gram(const std::vector<double> &gram, size_t n);

// taus: theta_i - theta_0 (n >= 2). Returns theta_0 + t * mean_i tau_i, which equals
// t * mean_i theta_i + (1 - t) * theta_0.
at::Tensor model_stock_merge(const at::Tensor &base, const std::vector<at::Tensor> &taus);
// The same with t given (elementwise, so it also merges chunks).
at::Tensor model_stock_combine(const at::Tensor &base, const std::vector<at::Tensor> &taus,
                               double t);

}  // namespace fw
