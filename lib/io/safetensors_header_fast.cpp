#include "io/safetensors_header_fast.h"

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>
#include <numeric>

namespace fw {
namespace {

using json = nlohmann::json;

// An entry as the text gives it, before its checks.
struct RawEntry {
  std::string name;
  std::string dtype;
  std::vector<uint64_t> shape;
  std::vector<uint64_t> offsets;
  unsigned fields = 0;  // bit per field seen: 1 dtype, 2 shape, 4 data_offsets
};

// Accepts the expected shape only; every other event returns false, which stops the parse.
class Collector {
 public:
  bool null() { return false; }
  bool boolean(bool) { return false; }
  bool number_integer(json::number_integer_t) { return false; }  // negative
  bool number_float(json::number_float_t, const json::string_t &) { return false; }
  bool binary(json::binary_t &) { return false; }
  bool number_unsigned(json::number_unsigned_t v) {
    if (state_ == State::kShape) {
      entries.back().shape.push_back(v);
      return true;
    }
    if (state_ == State::kOffsets && entries.back().offsets.size() < 2) {
      entries.back().offsets.push_back(v);
      return true;
    }
    return false;
  }
  bool string(json::string_t &v) {
    if (state_ == State::kDtype) {
      entries.back().dtype = std::move(v);
      state_ = State::kEntry;
      return true;
    }
    if (state_ == State::kMetadataValue) {
      if (!metadata.emplace(std::move(metadata_key_), std::move(v)).second) return false;
      state_ = State::kMetadata;
      return true;
    }
    return false;
  }
  bool start_object(std::size_t) {
    if (state_ == State::kStart) {
      state_ = State::kRoot;
      return true;
    }
    if (state_ == State::kEntryValue) {
      state_ = State::kEntry;
      return true;
    }
    if (state_ == State::kMetadataStart) {
      state_ = State::kMetadata;
      return true;
    }
    return false;
  }
  bool key(json::string_t &k) {
    if (state_ == State::kRoot) {
      if (k == "__metadata__") {
        if (seen_metadata_) return false;
        seen_metadata_ = true;
        state_ = State::kMetadataStart;
        return true;
      }
      entries.emplace_back();
      entries.back().name = std::move(k);
      state_ = State::kEntryValue;
      return true;
    }
    if (state_ == State::kEntry) {
      RawEntry &e = entries.back();
      const unsigned bit = k == "dtype" ? 1u : k == "shape" ? 2u : k == "data_offsets" ? 4u : 0u;
      if (bit == 0 || (e.fields & bit) != 0) return false;
      e.fields |= bit;
      state_ = bit == 1 ? State::kDtype : bit == 2 ? State::kShapeStart : State::kOffsetsStart;
      return true;
    }
    if (state_ == State::kMetadata) {
      metadata_key_ = std::move(k);
      state_ = State::kMetadataValue;
      return true;
    }
    return false;
  }
  bool end_object() {
    if (state_ == State::kEntry || state_ == State::kMetadata) {
      state_ = State::kRoot;
      return true;
    }
    if (state_ == State::kRoot) {
      state_ = State::kDone;
      return true;
    }
    return false;
  }
  bool start_array(std::size_t) {
    if (state_ == State::kShapeStart) {
      state_ = State::kShape;
      return true;
    }
    if (state_ == State::kOffsetsStart) {
      state_ = State::kOffsets;
      return true;
    }
    return false;
  }
  bool end_array() {
    if (state_ == State::kShape || state_ == State::kOffsets) {
      state_ = State::kEntry;
      return true;
    }
    return false;
  }
  bool parse_error(std::size_t, const std::string &, const nlohmann::detail::exception &) {
    return false;
  }

  bool done() const { return state_ == State::kDone; }

  std::vector<RawEntry> entries;
  std::map<std::string, std::string> metadata;

 private:
  enum class State {
    kStart,
    kRoot,
    kEntryValue,
    kEntry,
    kDtype,
    kShapeStart,
    kShape,
    kOffsetsStart,
    kOffsets,
    kMetadataStart,
    kMetadata,
    kMetadataValue,
    kDone
  };
  State state_ = State::kStart;
  bool seen_metadata_ = false;
  std::string metadata_key_;
};

constexpr uint64_t kInt64Max = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());

// The checks of parse_entry (safetensors_header.cpp), as a yes / no.
bool to_entry(RawEntry &raw, uint64_t data_size, TensorEntry *entry, uint64_t *end) {
  if (raw.fields != 7u || raw.offsets.size() != 2) return false;
  if (!parse_dtype(raw.dtype, &entry->dtype)) return false;
  uint64_t numel = 1;
  for (uint64_t d : raw.shape) {
    if (d > kInt64Max) return false;
    if (d != 0 && numel > kInt64Max / d) return false;
    numel *= d;
    entry->shape.push_back(static_cast<int64_t>(d));
  }
  entry->numel = static_cast<int64_t>(numel);
  const uint64_t bits = static_cast<uint64_t>(dtype_bits(entry->dtype));
  if (numel > std::numeric_limits<uint64_t>::max() / bits || (numel * bits) % 8 != 0) return false;
  entry->nbytes = numel * bits / 8;
  const uint64_t begin = raw.offsets[0];
  *end = raw.offsets[1];
  if (begin > kInt64Max || *end > kInt64Max || begin > *end || *end - begin != entry->nbytes ||
      *end > data_size)
    return false;
  entry->begin = begin;
  entry->name = std::move(raw.name);
  return true;
}

}  // namespace

bool parse_header_fast(const char *header, size_t size, uint64_t data_size, FastHeader *out) {
  Collector c;
  if (!json::sax_parse(header, header + size, &c) || !c.done()) return false;
  // Name order, as the strict path's JSON object iterates: the same input to the offset sort.
  std::vector<size_t> order(c.entries.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return c.entries[a].name < c.entries[b].name; });
  for (size_t i = 1; i < order.size(); ++i)
    if (c.entries[order[i]].name == c.entries[order[i - 1]].name) return false;  // a repeat
  out->tensors.reserve(order.size());
  out->ends.reserve(order.size());
  for (const size_t i : order) {
    TensorEntry entry;
    uint64_t end = 0;
    if (!to_entry(c.entries[i], data_size, &entry, &end)) return false;
    out->tensors.push_back(std::move(entry));
    out->ends.push_back(end);
  }
  out->metadata = std::move(c.metadata);
  return true;
}

}  // namespace fw
