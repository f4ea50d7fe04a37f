// Reader for the IDX files of (Fashion-)MNIST, gzip-compressed or plain (zlib reads both).
// Layout: big-endian magic 0x00000803 (images: u8, 3 dims) or 0x00000801 (labels: u8, 1 dim),
// then one big-endian u32 per dimension, then the bytes, nothing after them.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <string>
#include <vector>

namespace demo {

constexpr uint32_t kIdxImagesMagic = 0x00000803;
constexpr uint32_t kIdxLabelsMagic = 0x00000801;

// The whole decompressed content of a file. Throws DataError "io" (cannot open) or "gzip"
// (corrupt stream).
std::vector<uint8_t> read_gzip_file(const std::string &path);

// uint8 tensor [count, rows, cols]. Throws DataError: "io", "gzip", "bad_magic", "bad_dims",
// "truncated", "trailing_data".
at::Tensor read_idx_images(const std::string &path);

// int64 tensor [count]. Same errors as read_idx_images.
at::Tensor read_idx_labels(const std::string &path);

}  // namespace demo
