#include "datasets.h"

#include <cstdlib>

#include "data_error.h"
#include "digits.h"
#include "idx.h"

#ifndef FWDEMO_FASHION_DIR_DEFAULT
#define FWDEMO_FASHION_DIR_DEFAULT "/usr/share/datasets/fashion-mnist"
#endif
#ifndef FWDEMO_DIGITS_CSV_DEFAULT
#define FWDEMO_DIGITS_CSV_DEFAULT \
  "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz"
#endif

namespace demo {

ImageSet ImageSet::slice(int64_t begin, int64_t end) const {
  return ImageSet{images.slice(0, begin, end), labels.slice(0, begin, end)};
}

DataPaths default_data_paths() {
  DataPaths paths{FWDEMO_FASHION_DIR_DEFAULT, FWDEMO_DIGITS_CSV_DEFAULT};
  if (const char *dir = std::getenv("FWDEMO_FASHION_DIR")) paths.fashion_dir = dir;
  if (const char *csv = std::getenv("FWDEMO_DIGITS_CSV")) paths.digits_csv = csv;
  return paths;
}

ImageSet load_fashion(const std::string &dir, const std::string &split, bool as_float_images) {
  if (split != "train" && split != "t10k")
    throw std::invalid_argument("load_fashion: split must be \"train\" or \"t10k\", got " + split);
  const std::string images_path = dir + "/" + split + "-images-idx3-ubyte.gz";
  const std::string labels_path = dir + "/" + split + "-labels-idx1-ubyte.gz";
  const at::Tensor images = read_idx_images(images_path);
  const at::Tensor labels = read_idx_labels(labels_path);
  if (images.size(0) != labels.size(0))
    throw DataError("count_mismatch", images_path + " has " + std::to_string(images.size(0)) +
                                          " images, " + labels_path + " " +
                                          std::to_string(labels.size(0)) + " labels");
  if (images.size(1) != 28 || images.size(2) != 28)
    throw DataError("bad_dims", images_path + ": images are not 28x28");
  if (labels.max().item<int64_t>() > 9)
    throw DataError("label_range", labels_path + ": a label is above 9");
  const ImageSet raw{images.unsqueeze(1), labels};
  return as_float_images ? as_float(raw) : raw;
}

ImageSet as_float(const ImageSet &set) {
  if (set.images.scalar_type() != at::kByte) return set;
  return ImageSet{set.images.to(at::kFloat).div_(255.0), set.labels};
}

ImageSet load_digits(const std::string &csv_path) {
  const DigitsRaw raw = read_digits_csv(csv_path);
  return ImageSet{upsample_digits(raw.pixels), raw.labels};
}

}  // namespace demo
