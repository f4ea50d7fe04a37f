// Validation of a safetensors header from bytes in memory (no file access), so the same code serves
// the reader and the fuzz harnesses. Every structural rule of shared/docs/formats.md is checked
// here with a named defect, so later tensor access needs no checks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "io/dtype.h"

namespace fw {

struct TensorEntry {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  int64_t numel;
  uint64_t
      begin;  // offset of the data relative to the file start (8 + header_len + data_offsets[0])
  uint64_t nbytes;
};

struct SafetensorsLayout {
  uint64_t header_len = 0;
  std::vector<TensorEntry> tensors;  // sorted by offset, tiling the data buffer exactly
  std::map<std::string, std::string> metadata;
};

// The reference parsers' cap on the header length.
constexpr uint64_t kMaxSafetensorsHeader = 100000000;

// The header length from the first 8 bytes of a file of `file_size` bytes (file_size >= 8),
// checked against the cap and the file size. Throws Status::Format "[defect]" naming `path`.
uint64_t safetensors_header_length(const uint8_t first8[8], uint64_t file_size,
                                   const std::string &path);

// Validates the JSON header (`header_len` bytes that follow the length field) of a file of
// `file_size` bytes and returns the tensors and metadata. Throws Status::Format "[defect]".
SafetensorsLayout parse_safetensors_header(const char *header, uint64_t header_len,
                                           uint64_t file_size, const std::string &path);

// The same without the fast path (safetensors_header_fast.h), for the tests and the fuzz harness
// that check both paths agree: the same layout, or the same error.
SafetensorsLayout parse_safetensors_header_strict(const char *header, uint64_t header_len,
                                                  uint64_t file_size, const std::string &path);

// Both steps over a whole file held in memory (`size` bytes): the fuzz harnesses' entry point.
SafetensorsLayout parse_safetensors_bytes(const uint8_t *bytes, size_t size,
                                          const std::string &path);

}  // namespace fw
