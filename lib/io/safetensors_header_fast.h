// The common case of safetensors header parsing, fast: a header that breaks no rule is read in one
// SAX pass straight into tensor entries, without building a JSON value (for 400 k tensors the
// value's allocations were most of the time). Anything unusual makes it give up, and
// parse_safetensors_header then parses the header the strict way, which names the defect; so the
// defects and their order are those of the strict path alone.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "io/safetensors_header.h"

namespace fw {

struct FastHeader {
  std::vector<TensorEntry> tensors;  // in name order; begin relative to the data buffer
  std::vector<uint64_t> ends;        // data_offsets[1] of each, relative to the data buffer
  std::map<std::string, std::string> metadata;
};

// True, with `out` filled, when `header` (valid UTF-8 without NUL bytes, checked by the caller) is
// one JSON object of tensor entries {"dtype", "shape", "data_offsets"} and an optional
// "__metadata__" object of strings, every name once, every field once, every dtype known, every
// shape and size within range and every tensor inside `data_size` bytes of data. False otherwise.
bool parse_header_fast(const char *header, size_t size, uint64_t data_size, FastHeader *out);

}  // namespace fw
