#include "io/safetensors_reader.h"

#include <algorithm>
#include <cstdio>
#include <string>

#include "util/error.h"

namespace fw {
namespace {

// FNV-1a: a header that differs from the one validated at open is caught even when a rewrite kept
// the size and the modification time (same-second rewrites on coarse-timestamp file systems).
uint64_t fnv1a(const char *bytes, size_t size, uint64_t h = 1469598103934665603ull) {
  for (size_t i = 0; i < size; ++i) {
    h ^= static_cast<uint8_t>(bytes[i]);
    h *= 1099511628211ull;
  }
  return h;
}

uint64_t fnv1a(const std::string &bytes) { return fnv1a(bytes.data(), bytes.size()); }

std::string read_header(const ReadOnlyFile &file, uint64_t *header_len) {
  uint8_t first8[8];
  if (file.size() < 8)
    fail_format("file_too_short", file.path() + ": " + std::to_string(file.size()) +
                                      " bytes, fewer than the 8-byte header length");
  file.read_exact(0, 8, first8, "the header length");
  *header_len = safetensors_header_length(first8, file.size(), file.path());
  std::string header(*header_len, '\0');
  file.read_exact(8, *header_len, header.data(), "the header");
  return header;
}

}  // namespace

void require_mergeable(const TensorEntry &entry, const std::string &where) {
  if (!is_mergeable(entry.dtype))
    fail(Status::Unsupported, where + ": tensor \"" + entry.name + "\" has dtype " +
                                  dtype_name(entry.dtype) + "; only F32, F16 and BF16 are merged");
}

std::unique_ptr<SafetensorsFile> SafetensorsFile::open(const std::string &path) {
  std::unique_ptr<SafetensorsFile> file(new SafetensorsFile());
  file->file_ = ReadOnlyFile::open(path);
  uint64_t header_len = 0;
  const std::string header = read_header(file->file_, &header_len);
  file->layout_ = parse_safetensors_header(header.data(), header_len, file->file_.size(), path);
  file->header_hash_ = fnv1a(header);
  file->index_.reserve(file->layout_.tensors.size());
  for (size_t i = 0; i < file->layout_.tensors.size(); ++i)
    file->index_[file->layout_.tensors[i].name] = i;
  return file;
}

const TensorEntry *SafetensorsFile::find(const std::string &name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : &layout_.tensors[it->second];
}

void SafetensorsFile::read_bytes(const TensorEntry &entry, uint64_t offset, uint64_t nbytes,
                                 void *out) const {
  if (offset > entry.nbytes || nbytes > entry.nbytes - offset)
    fail(Status::InvalidArgument, path() + ": byte range outside tensor \"" + entry.name + "\"");
  file_.read_exact(entry.begin + offset, nbytes, out, "tensor \"" + entry.name + "\"");
}

at::Tensor SafetensorsFile::read_tensor(const TensorEntry &entry, at::ScalarType type) const {
  at::Tensor out = at::empty(entry.shape, at::TensorOptions().dtype(type));
  if (static_cast<uint64_t>(out.nbytes()) != entry.nbytes)
    fail(Status::Internal,
         path() + ": tensor \"" + entry.name + "\" read as a type of another size");
  if (entry.nbytes > 0) read_bytes(entry, 0, entry.nbytes, out.data_ptr());
  return out;
}

at::Tensor SafetensorsFile::read_f32(const TensorEntry &entry) const {
  require_mergeable(entry, path());
  const at::ScalarType type = to_scalar_type(entry.dtype);
  const at::Tensor raw = read_tensor(entry, type);
  return type == at::kFloat ? raw : raw.to(at::kFloat);
}

std::string SafetensorsFile::identity() const {
  // Fine-tunes of one base usually have byte-identical headers, so the data is sampled too: 64
  // blocks of 4 KiB spread evenly over the data section (256 KiB read, whatever the file size).
  constexpr uint64_t kBlocks = 64, kBlock = 4096;
  const uint64_t start = 8 + layout_.header_len;
  const uint64_t length = file_.size() - start;
  const uint64_t block = std::min(kBlock, length);
  std::string buffer(block, '\0');
  uint64_t data_hash = fnv1a("", 0);
  for (uint64_t k = 0; k < kBlocks && block > 0; ++k) {
    const uint64_t offset = start + (length - block) * k / (kBlocks - 1);
    file_.read_exact(offset, block, buffer.data(), "a data sample");
    data_hash = fnv1a(buffer.data(), buffer.size(), data_hash);
  }
  char hashes[40];
  std::snprintf(hashes, sizeof hashes, "%016llx:%016llx",
                static_cast<unsigned long long>(header_hash_),
                static_cast<unsigned long long>(data_hash));
  return std::to_string(file_.size()) + ":" + hashes;
}

void SafetensorsFile::check_unchanged() const {
  file_.check_unchanged();
  uint64_t header_len = 0;
  if (fnv1a(read_header(file_, &header_len)) != header_hash_)
    fail(Status::Io, path() + " changed on disk since it was opened: its header differs");
}

}  // namespace fw
