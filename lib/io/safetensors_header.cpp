// Safetensors header validation over bytes in memory (see safetensors_header.h).
#include "io/safetensors_header.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "io/json_util.h"
#include "io/safetensors_header_fast.h"
#include "util/error.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors data is little-endian");

namespace fw {
namespace {

using nlohmann::json;

uint64_t read_le64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// A non-negative integer that fits int64 (nlohmann stores non-negative integers as unsigned).
bool as_nonneg_int(const json &v, uint64_t *out) {
  if (!v.is_number_unsigned()) return false;
  const uint64_t u = v.get<uint64_t>();
  if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return false;
  *out = u;
  return true;
}

std::string shape_text(const json &shape) { return shape.dump(); }

TensorEntry parse_entry(const std::string &where, const std::string &name, const json &value,
                        uint64_t *data_begin, uint64_t *data_end) {
  // Built only for a message: a header may hold hundreds of thousands of entries.
  const auto what = [&] { return where + ": tensor \"" + name + "\""; };
  if (!value.is_object()) fail_format("entry_not_object", what() + " is not a JSON object");
  for (const char *field : {"dtype", "shape", "data_offsets"}) {
    if (!value.contains(field)) fail_format("missing_field", what() + " has no \"" + field + "\"");
  }
  for (const auto &item : value.items()) {
    const std::string &key = item.key();
    if (key != "dtype" && key != "shape" && key != "data_offsets") {
      fail_format("unknown_field", what() + " has an unknown field \"" + key + "\"");
    }
  }

  TensorEntry entry;
  entry.name = name;
  const json &dtype = value.at("dtype");
  if (!dtype.is_string()) fail_format("dtype_not_string", what() + ": dtype is not a string");
  if (!parse_dtype(dtype.get_ref<const std::string &>(), &entry.dtype)) {
    fail_format("unknown_dtype", what() + ": unknown dtype \"" + dtype.get<std::string>() + "\"");
  }

  const json &shape = value.at("shape");
  if (!shape.is_array()) fail_format("shape_invalid", what() + ": shape is not an array");
  uint64_t numel = 1;
  for (const json &dim : shape) {
    uint64_t d;
    if (!as_nonneg_int(dim, &d)) {
      fail_format("shape_invalid", what() + ": shape " + shape_text(shape) +
                                       " is not a list of non-negative integers");
    }
    entry.shape.push_back(static_cast<int64_t>(d));
    if (d != 0 && numel > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / d) {
      fail_format("shape_overflow",
                  what() + ": element count of shape " + shape_text(shape) + " overflows 64 bits");
    }
    numel *= d;
  }
  entry.numel = static_cast<int64_t>(numel);

  const uint64_t bits = static_cast<uint64_t>(dtype_bits(entry.dtype));
  if (numel > std::numeric_limits<uint64_t>::max() / bits) {
    fail_format("shape_overflow",
                what() + ": byte size of shape " + shape_text(shape) + " overflows 64 bits");
  }
  if ((numel * bits) % 8 != 0) {
    fail_format("misaligned_subbyte", what() + ": " + std::to_string(numel) + " elements of " +
                                          dtype_name(entry.dtype) + " do not fill whole bytes");
  }
  entry.nbytes = numel * bits / 8;

  const json &offsets = value.at("data_offsets");
  uint64_t begin = 0, end = 0;
  if (!offsets.is_array() || offsets.size() != 2 || !as_nonneg_int(offsets[0], &begin) ||
      !as_nonneg_int(offsets[1], &end)) {
    fail_format("data_offsets_invalid",
                what() + ": data_offsets " + offsets.dump() + " is not 2 non-negative integers");
  }
  if (begin > end) {
    fail_format("offsets_reversed", what() + ": data_offsets begin " + std::to_string(begin) +
                                        " > end " + std::to_string(end));
  }
  if (end - begin != entry.nbytes) {
    fail_format("size_mismatch", what() + ": data_offsets span " + std::to_string(end - begin) +
                                     " bytes but " + dtype_name(entry.dtype) + " " +
                                     shape_text(shape) + " needs " + std::to_string(entry.nbytes));
  }
  *data_begin = begin;
  *data_end = end;
  return entry;
}

std::map<std::string, std::string> parse_metadata(const std::string &where, const json &value) {
  if (!value.is_object())
    fail_format("metadata_invalid", where + ": __metadata__ is not an object");
  std::map<std::string, std::string> out;
  for (const auto &item : value.items()) {
    if (!item.value().is_string()) {
      fail_format("metadata_invalid",
                  where + ": __metadata__ value of \"" + item.key() + "\" is not a string");
    }
    out[item.key()] = item.value().get<std::string>();
  }
  return out;
}

struct Span {
  uint64_t begin, end;
  size_t index;
};

// The strict way, through a JSON value: every defect named (parse_header_fast gave up).
void parse_strictly(const char *header, uint64_t header_len, uint64_t data_size,
                    const std::string &path, SafetensorsLayout *layout,
                    std::vector<TensorEntry> *entries, std::vector<Span> *spans) {
  const json root = parse_json_strict(header, header_len, "header_", path);
  if (!root.is_object()) fail_format("header_not_object", path + ": header is not a JSON object");
  for (const auto &item : root.items()) {
    if (item.key() == "__metadata__") {
      layout->metadata = parse_metadata(path, item.value());
      continue;
    }
    uint64_t begin = 0, end = 0;
    entries->push_back(parse_entry(path, item.key(), item.value(), &begin, &end));
    if (end > data_size) {
      fail_format("offsets_out_of_bounds", path + ": tensor \"" + item.key() + "\" ends at " +
                                               std::to_string(end) + " but the data buffer has " +
                                               std::to_string(data_size) + " bytes");
    }
    spans->push_back({begin, end, entries->size() - 1});
  }
}

}  // namespace

uint64_t safetensors_header_length(const uint8_t first8[8], uint64_t file_size,
                                   const std::string &path) {
  if (file_size < 8)
    fail_format("file_too_short", path + ": " + std::to_string(file_size) +
                                      " bytes, fewer than the 8-byte header length");
  const uint64_t header_len = read_le64(first8);
  if (header_len == 0) fail_format("header_empty", path + ": header length is 0");
  if (header_len > kMaxSafetensorsHeader) {
    fail_format("header_too_large", path + ": header length " + std::to_string(header_len) +
                                        " exceeds " + std::to_string(kMaxSafetensorsHeader));
  }
  if (header_len > file_size - 8) {
    fail_format("header_out_of_bounds", path + ": header length " + std::to_string(header_len) +
                                            " runs past the end of the " +
                                            std::to_string(file_size) + "-byte file");
  }
  return header_len;
}

namespace {

SafetensorsLayout parse_header(const char *header, uint64_t header_len, uint64_t file_size,
                               const std::string &path, bool fast_path) {
  if (file_size < 8 || header_len == 0 || header_len > file_size - 8)
    fail(Status::Internal, path + ": header length not checked before parsing");
  SafetensorsLayout layout;
  layout.header_len = header_len;
  if (header[0] != '{') fail_format("header_start", path + ": header does not start with '{'");
  const uint64_t data_start = 8 + header_len;
  const uint64_t data_size = file_size - data_start;
  std::vector<Span> spans;
  std::vector<TensorEntry> entries;
  FastHeader fast;
  if (fast_path && is_valid_utf8(header, header_len) &&
      std::memchr(header, '\0', header_len) == nullptr &&
      parse_header_fast(header, header_len, data_size, &fast)) {
    entries = std::move(fast.tensors);
    layout.metadata = std::move(fast.metadata);
    for (size_t i = 0; i < entries.size(); ++i)
      spans.push_back({entries[i].begin, fast.ends[i], i});
  } else {
    parse_strictly(header, header_len, data_size, path, &layout, &entries, &spans);
  }

  // Sorted by offset the tensors must tile [0, last_end) exactly.
  std::sort(spans.begin(), spans.end(), [](const Span &a, const Span &b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t expected = 0;
  for (const Span &span : spans) {
    const std::string &name = entries[span.index].name;
    if (span.begin < expected) {
      fail_format("offsets_overlap",
                  path + ": tensor \"" + name + "\" starts at " + std::to_string(span.begin) +
                      " inside the previous tensor (ends at " + std::to_string(expected) + ")");
    }
    if (span.begin > expected) {
      fail_format("offsets_hole", path + ": bytes [" + std::to_string(expected) + ", " +
                                      std::to_string(span.begin) + ") before tensor \"" + name +
                                      "\" belong to no tensor");
    }
    expected = span.end;
  }
  if (expected != data_size) {
    fail_format("trailing_bytes", path + ": " + std::to_string(data_size - expected) +
                                      " bytes after the last tensor (8 + header " +
                                      std::to_string(header_len) + " + data " +
                                      std::to_string(expected) + " != file size " +
                                      std::to_string(file_size) + ")");
  }

  for (const Span &span : spans) {
    TensorEntry entry = std::move(entries[span.index]);
    entry.begin = data_start + span.begin;
    layout.tensors.push_back(std::move(entry));
  }
  return layout;
}

}  // namespace

SafetensorsLayout parse_safetensors_header(const char *header, uint64_t header_len,
                                           uint64_t file_size, const std::string &path) {
  return parse_header(header, header_len, file_size, path, true);
}

SafetensorsLayout parse_safetensors_header_strict(const char *header, uint64_t header_len,
                                                  uint64_t file_size, const std::string &path) {
  return parse_header(header, header_len, file_size, path, false);
}

SafetensorsLayout parse_safetensors_bytes(const uint8_t *bytes, size_t size,
                                          const std::string &path) {
  uint8_t first8[8] = {};
  std::copy(bytes, bytes + std::min<size_t>(size, 8), first8);
  const uint64_t header_len = safetensors_header_length(first8, size, path);
  return parse_safetensors_header(reinterpret_cast<const char *>(bytes + 8), header_len, size,
                                  path);
}

}  // namespace fw
