// libFuzzer harness: a whole safetensors file in memory (length field, JSON header, data buffer)
// through parse_safetensors_bytes. fw::Error is an expected rejection; an accepted file must have
// the layout the reader relies on without further checks, and the fast path must agree with the
// strict one (the same layout, or the same error).
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "io/safetensors_header.h"
#include "util/error.h"

namespace {

// The strict path's verdict on the same bytes: its layout, or its error text.
std::string strict_error(const uint8_t *data, size_t size, fw::SafetensorsLayout *layout) {
  try {
    uint8_t first8[8] = {};
    for (size_t i = 0; i < 8 && i < size; ++i) first8[i] = data[i];
    const uint64_t len = fw::safetensors_header_length(first8, size, "fuzz.safetensors");
    *layout = fw::parse_safetensors_header_strict(reinterpret_cast<const char *>(data + 8), len,
                                                  size, "fuzz.safetensors");
  } catch (const fw::Error &e) {
    return e.what();
  }
  return "";
}

bool same(const fw::SafetensorsLayout &a, const fw::SafetensorsLayout &b) {
  if (a.header_len != b.header_len || a.metadata != b.metadata ||
      a.tensors.size() != b.tensors.size())
    return false;
  for (size_t i = 0; i < a.tensors.size(); ++i) {
    const fw::TensorEntry &x = a.tensors[i], &y = b.tensors[i];
    if (x.name != y.name || x.dtype != y.dtype || x.shape != y.shape || x.numel != y.numel ||
        x.begin != y.begin || x.nbytes != y.nbytes)
      return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fw::SafetensorsLayout layout, strict;
  const std::string strict_message = strict_error(data, size, &strict);
  try {
    layout = fw::parse_safetensors_bytes(data, size, "fuzz.safetensors");
  } catch (const fw::Error &e) {
    FW_FUZZ_CHECK(strict_message == e.what());
    return 0;
  }
  FW_FUZZ_CHECK(strict_message.empty() && same(layout, strict));
  // Tensors sorted by offset tile the data buffer exactly: 8 + N + data == file size.
  FW_FUZZ_CHECK(layout.header_len > 0 && layout.header_len <= fw::kMaxSafetensorsHeader);
  uint64_t next = 8 + layout.header_len;
  for (const fw::TensorEntry &t : layout.tensors) {
    FW_FUZZ_CHECK(t.begin == next);
    FW_FUZZ_CHECK(t.nbytes <= size - t.begin);
    uint64_t numel = 1;
    for (int64_t d : t.shape) {
      FW_FUZZ_CHECK(d >= 0);
      numel *= static_cast<uint64_t>(d);
    }
    FW_FUZZ_CHECK(t.numel >= 0 && static_cast<uint64_t>(t.numel) == numel);
    FW_FUZZ_CHECK(numel * static_cast<uint64_t>(fw::dtype_bits(t.dtype)) == t.nbytes * 8);
    next += t.nbytes;
  }
  FW_FUZZ_CHECK(next == size);
  return 0;
}
