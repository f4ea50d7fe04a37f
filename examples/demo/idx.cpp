#include "idx.h"

#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "data_error.h"

namespace demo {
namespace {

uint32_t read_be32(const uint8_t *p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

// Checks magic and dimensions and returns the dims; `bytes` must hold exactly the header + data.
std::vector<int64_t> parse_header(const std::vector<uint8_t> &bytes, uint32_t magic,
                                  const std::string &path) {
  const size_t ndim = magic & 0xff;
  const auto header_truncated = [&] {
    return DataError("truncated", path + ": " + std::to_string(bytes.size()) +
                                      " bytes, shorter than the IDX header");
  };
  if (bytes.size() < 4) throw header_truncated();
  const uint32_t found = read_be32(bytes.data());
  if (found != magic) {
    char text[96];
    std::snprintf(text, sizeof text, ": magic 0x%08x, expected 0x%08x", found, magic);
    throw DataError("bad_magic", path + text);
  }
  if (bytes.size() < 4 + 4 * ndim) throw header_truncated();
  std::vector<int64_t> dims(ndim);
  uint64_t numel = 1;
  for (size_t d = 0; d < ndim; ++d) {
    dims[d] = read_be32(bytes.data() + 4 + 4 * d);
    if (dims[d] == 0 || dims[d] > (int64_t(1) << 28))
      throw DataError("bad_dims",
                      path + ": dimension " + std::to_string(d) + " is " + std::to_string(dims[d]));
    numel *= uint64_t(dims[d]);
  }
  const uint64_t expected = 4 + 4 * ndim + numel;
  if (bytes.size() < expected)
    throw DataError("truncated", path + ": " + std::to_string(bytes.size()) +
                                     " bytes, header says " + std::to_string(expected));
  if (bytes.size() > expected)
    throw DataError("trailing_data", path + ": " + std::to_string(bytes.size() - expected) +
                                         " bytes after the data");
  return dims;
}

at::Tensor read_idx(const std::string &path, uint32_t magic) {
  const std::vector<uint8_t> bytes = read_gzip_file(path);
  const std::vector<int64_t> dims = parse_header(bytes, magic, path);
  at::Tensor out = at::empty(dims, at::kByte);
  std::memcpy(out.data_ptr<uint8_t>(), bytes.data() + 4 + 4 * dims.size(), size_t(out.numel()));
  return out;
}

}  // namespace

std::vector<uint8_t> read_gzip_file(const std::string &path) {
  gzFile file = gzopen(path.c_str(), "rb");
  if (!file) throw DataError("io", path + ": cannot open (" + std::strerror(errno) + ")");
  std::unique_ptr<gzFile_s, int (*)(gzFile)> guard(file, gzclose);
  std::vector<uint8_t> out;
  std::vector<uint8_t> chunk(1 << 20);
  for (;;) {
    const int got = gzread(file, chunk.data(), unsigned(chunk.size()));
    if (got < 0) {
      int code = 0;
      const char *text = gzerror(file, &code);
      throw DataError("gzip", path + ": " + (text ? text : "corrupt stream"));
    }
    if (got == 0) break;
    out.insert(out.end(), chunk.begin(), chunk.begin() + got);
  }
  // A stream cut short inside the compressed data ends without an error from gzread in some zlib
  // versions; gzerror still reports Z_BUF_ERROR for it.
  int code = 0;
  gzerror(file, &code);
  if (code != Z_OK && code != Z_STREAM_END)
    throw DataError("gzip", path + ": compressed stream ends early");
  return out;
}

at::Tensor read_idx_images(const std::string &path) { return read_idx(path, kIdxImagesMagic); }

at::Tensor read_idx_labels(const std::string &path) {
  return read_idx(path, kIdxLabelsMagic).to(at::kLong);
}

}  // namespace demo
