// The demo's data loaders on the real Debian files and on malformed files built here.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "data_error.h"
#include "datasets.h"
#include "digits.h"
#include "idx.h"
#include "test_support.h"

namespace {

using demo::DataError;

void write_gz(const std::string &path, const std::vector<uint8_t> &bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  if (!bytes.empty()) {
    ASSERT_EQ(gzwrite(f, bytes.data(), unsigned(bytes.size())), int(bytes.size()));
  }
  gzclose(f);
}

void push_be32(std::vector<uint8_t> *out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out->push_back(uint8_t(v >> s));
}

// An images file of `count` images of rows x cols with pixel value (i * 7 + k) % 256.
std::vector<uint8_t> idx_images(uint32_t count, uint32_t rows, uint32_t cols) {
  std::vector<uint8_t> out;
  push_be32(&out, 0x803);
  push_be32(&out, count);
  push_be32(&out, rows);
  push_be32(&out, cols);
  for (uint32_t i = 0; i < count * rows * cols; ++i) out.push_back(uint8_t((i * 7) % 256));
  return out;
}

std::string expect_defect(const std::function<void()> &fn) {
  try {
    fn();
  } catch (const DataError &e) {
    return e.defect();
  }
  return "no error";
}

const demo::DataPaths &paths() {
  static const demo::DataPaths p = demo::default_data_paths();
  return p;
}

TEST(Idx, ReadsHandBuiltImagesGzipAndPlain) {
  const std::string dir = fwtest::temp_dir("idx_ok");
  const std::vector<uint8_t> bytes = idx_images(2, 2, 3);
  write_gz(dir + "/a.gz", bytes);
  fwtest::write_bytes(dir + "/a.raw", bytes);
  for (const std::string name : {"/a.gz", "/a.raw"}) {
    const at::Tensor t = demo::read_idx_images(dir + name);
    ASSERT_EQ(t.sizes().vec(), (std::vector<int64_t>{2, 2, 3}));
    EXPECT_EQ(t[0][0][0].item<int>(), 0);
    EXPECT_EQ(t[0][1][2].item<int>(), 35);        // flat index 5 -> 35
    EXPECT_EQ(t[1][1][2].item<int>(), 77 % 256);  // flat index 11 -> 77
  }
}

TEST(Idx, ReadsLabels) {
  const std::string dir = fwtest::temp_dir("idx_labels");
  std::vector<uint8_t> bytes;
  push_be32(&bytes, 0x801);
  push_be32(&bytes, 4);
  for (uint8_t v : {3, 0, 9, 250}) bytes.push_back(v);
  write_gz(dir + "/l.gz", bytes);
  const at::Tensor t = demo::read_idx_labels(dir + "/l.gz");
  ASSERT_EQ(t.scalar_type(), at::kLong);
  EXPECT_EQ(t.sizes().vec(), std::vector<int64_t>{4});
  EXPECT_EQ(t[3].item<int64_t>(), 250);
}

TEST(Idx, BadFilesGiveNamedErrors) {
  const std::string dir = fwtest::temp_dir("idx_bad");
  const std::vector<uint8_t> good = idx_images(3, 4, 4);

  std::vector<uint8_t> magic = good;
  magic[3] = 0x01;  // a labels magic in an images file
  write_gz(dir + "/magic.gz", magic);
  EXPECT_EQ(expect_defect([&] { demo::read_idx_images(dir + "/magic.gz"); }), "bad_magic");

  std::vector<uint8_t> truncated(good.begin(), good.end() - 5);
  write_gz(dir + "/trunc.gz", truncated);
  EXPECT_EQ(expect_defect([&] { demo::read_idx_images(dir + "/trunc.gz"); }), "truncated");

  write_gz(dir + "/header.gz", std::vector<uint8_t>(good.begin(), good.begin() + 9));
  EXPECT_EQ(expect_defect([&] { demo::read_idx_images(dir + "/header.gz"); }), "truncated");

  write_gz(dir + "/empty.gz", {});
  EXPECT_EQ(expect_defect([&] { demo::read_idx_images(dir + "/empty.gz"); }), "truncated");

  std::vector<uint8_t> trailing = good;
  trailing.push_back(0);
  write_gz(dir + "/trail.gz", trailing);
  EXPECT_EQ(expect_defect([&] { demo::read_idx_images(dir + "/trail.gz"); }), "trailing_data");

  write_gz(dir + "/zero.gz", idx_images(0, 4, 4));
  EXPECT_EQ(expect_defect([&] { demo::read_idx_images(dir + "/zero.gz"); }), "bad_dims");

  // a valid gzip stream cut in the middle of its compressed data
  write_gz(dir + "/whole.gz", idx_images(50, 28, 28));
  std::vector<uint8_t> gz = fwtest::read_bytes(dir + "/whole.gz");
  gz.resize(gz.size() / 2);
  fwtest::write_bytes(dir + "/cut.gz", gz);
  EXPECT_EQ(expect_defect([&] { demo::read_idx_images(dir + "/cut.gz"); }), "gzip");

  EXPECT_EQ(expect_defect([&] { demo::read_idx_images(dir + "/missing.gz"); }), "io");
}

TEST(FashionMnist, RealFilesHaveTheKnownCountsAndBalancedLabels) {
  const demo::ImageSet train = demo::load_fashion(paths().fashion_dir, "train");
  const demo::ImageSet test = demo::load_fashion(paths().fashion_dir, "t10k");
  EXPECT_EQ(train.size(), 60000);
  EXPECT_EQ(test.size(), 10000);
  EXPECT_EQ(train.images.sizes().vec(), (std::vector<int64_t>{60000, 1, 28, 28}));
  EXPECT_GE(train.images.min().item<float>(), 0.0f);
  EXPECT_LE(train.images.max().item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(train.images.max().item<float>(), 1.0f);  // some pixel is 255
  // Fashion-MNIST is balanced: 6000 training and 1000 test images per class.
  const at::Tensor train_counts = at::bincount(train.labels);
  const at::Tensor test_counts = at::bincount(test.labels);
  ASSERT_EQ(train_counts.numel(), 10);
  for (int c = 0; c < 10; ++c) {
    EXPECT_EQ(train_counts[c].item<int64_t>(), 6000);
    EXPECT_EQ(test_counts[c].item<int64_t>(), 1000);
  }
}

TEST(FashionMnist, MismatchedImagesAndLabelsAreRejected) {
  const std::string dir = fwtest::temp_dir("fashion_mismatch");
  write_gz(dir + "/train-images-idx3-ubyte.gz", idx_images(3, 28, 28));
  std::vector<uint8_t> labels;
  push_be32(&labels, 0x801);
  push_be32(&labels, 2);
  labels.push_back(1);
  labels.push_back(2);
  write_gz(dir + "/train-labels-idx1-ubyte.gz", labels);
  EXPECT_EQ(expect_defect([&] { demo::load_fashion(dir, "train"); }), "count_mismatch");

  labels.clear();
  push_be32(&labels, 0x801);
  push_be32(&labels, 3);
  for (uint8_t v : {1, 12, 2}) labels.push_back(v);
  write_gz(dir + "/train-labels-idx1-ubyte.gz", labels);
  EXPECT_EQ(expect_defect([&] { demo::load_fashion(dir, "train"); }), "label_range");
}

TEST(Digits, RealFileHasTheKnownClassCounts) {
  const demo::DigitsRaw raw = demo::read_digits_csv(paths().digits_csv);
  ASSERT_EQ(raw.pixels.sizes().vec(), (std::vector<int64_t>{1797, 8, 8}));
  EXPECT_EQ(raw.pixels.max().item<int>(), 16);
  // scikit-learn's documented class sizes of the digits set
  const std::vector<int64_t> expected = {178, 182, 177, 183, 181, 182, 181, 179, 174, 180};
  const at::Tensor counts = at::bincount(raw.labels);
  for (int c = 0; c < 10; ++c) EXPECT_EQ(counts[c].item<int64_t>(), expected[size_t(c)]);
  const demo::ImageSet up = demo::load_digits(paths().digits_csv);
  EXPECT_EQ(up.images.sizes().vec(), (std::vector<int64_t>{1797, 1, 28, 28}));
}

TEST(Digits, BilinearUpsamplingOfARampMatchesTheClosedForm) {
  // p[r][c] = 2c: bilinear interpolation of a linear ramp is the ramp itself at the source
  // coordinate x = (j + 0.5) * 8 / 28 - 0.5, clamped to [0, 7] (align_corners = false).
  at::Tensor pixels = at::empty({1, 8, 8}, at::kByte);
  for (int r = 0; r < 8; ++r)
    for (int c = 0; c < 8; ++c) pixels[0][r][c] = 2 * c;
  const at::Tensor up = demo::upsample_digits(pixels);
  for (int j = 0; j < 28; ++j) {
    const double x = std::min(std::max((j + 0.5) * 8.0 / 28.0 - 0.5, 0.0), 7.0);
    for (int r : {0, 13, 27}) EXPECT_NEAR(up[0][0][r][j].item<float>(), 2 * x / 16.0, 1e-6);
  }
}

TEST(Digits, BadRowsGiveNamedErrors) {
  const std::string dir = fwtest::temp_dir("digits_bad");
  const auto row = [](int value, int label, int columns) {
    std::string s;
    for (int i = 0; i < columns; ++i) s += std::to_string(value) + ",";
    return s + std::to_string(label) + "\n";
  };
  const auto write_text = [&](const std::string &name, const std::string &text) {
    write_gz(dir + "/" + name, std::vector<uint8_t>(text.begin(), text.end()));
    return dir + "/" + name;
  };
  const std::string ok = write_text("ok.gz", row(3, 7, 64) + "\n" + row(16, 0, 64));
  const demo::DigitsRaw raw = demo::read_digits_csv(ok);
  EXPECT_EQ(raw.labels.sizes().vec(), std::vector<int64_t>{2});
  EXPECT_EQ(raw.labels[0].item<int64_t>(), 7);
  EXPECT_EQ(raw.pixels[1][7][7].item<int>(), 16);

  EXPECT_EQ(expect_defect([&] { demo::read_digits_csv(write_text("short.gz", row(1, 1, 63))); }),
            "bad_row");
  EXPECT_EQ(expect_defect([&] { demo::read_digits_csv(write_text("text.gz", "a,b\n")); }),
            "bad_row");
  EXPECT_EQ(expect_defect([&] { demo::read_digits_csv(write_text("pix.gz", row(17, 1, 64))); }),
            "value_range");
  EXPECT_EQ(expect_defect([&] { demo::read_digits_csv(write_text("lab.gz", row(1, 10, 64))); }),
            "value_range");
  EXPECT_EQ(expect_defect([&] { demo::read_digits_csv(write_text("none.gz", "\n\n")); }), "empty");
}

}  // namespace
