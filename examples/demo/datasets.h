// The two real image sources of the demo, as float images in [0, 1] on a 28x28 frame.
#pragma once

#include <ATen/ATen.h>

#include <string>

namespace demo {

struct ImageSet {
  at::Tensor images;  // float [N, 1, 28, 28], values in [0, 1]
  at::Tensor labels;  // int64 [N]
  int64_t size() const { return labels.size(0); }
  ImageSet slice(int64_t begin, int64_t end) const;  // rows [begin, end)
};

struct DataPaths {
  std::string fashion_dir;  // holds {train,t10k}-{images-idx3,labels-idx1}-ubyte.gz
  std::string digits_csv;   // scikit-learn's digits.csv.gz
};

// Defaults from the build configuration, overridden by FWDEMO_FASHION_DIR / FWDEMO_DIGITS_CSV.
DataPaths default_data_paths();

// Fashion-MNIST split "train" (60000) or "t10k" (10000). Throws DataError (loader errors, plus
// "count_mismatch" and "label_range" when images and labels disagree or a label is not 0..9).
// as_float = false keeps the images as uint8 0..255 (4x less memory; see as_float()).
ImageSet load_fashion(const std::string &dir, const std::string &split, bool as_float = true);

// uint8 images (0..255) -> float in [0, 1]; float images are returned as they are.
ImageSet as_float(const ImageSet &set);

// All 1797 digits, upsampled to 28x28.
ImageSet load_digits(const std::string &csv_path);

}  // namespace demo
