// Loader for scikit-learn's digits set (digits.csv.gz: one row per image, 64 pixel values 0..16 of
// an 8x8 image followed by the label 0..9), upsampled to the 28x28 frame of Fashion-MNIST.
#pragma once

#include <ATen/ATen.h>

#include <string>

namespace demo {

struct DigitsRaw {
  at::Tensor pixels;  // uint8 [N, 8, 8], values 0..16
  at::Tensor labels;  // int64 [N], values 0..9
};

// Throws DataError: "io", "gzip", "bad_row" (not 65 integers), "value_range", "empty".
DigitsRaw read_digits_csv(const std::string &path);

// float [N, 1, 28, 28] in [0, 1]: pixels / 16, bilinear upsampling (align_corners = false).
at::Tensor upsample_digits(const at::Tensor &pixels);

}  // namespace demo
