// libFuzzer harness: a whole safetensors file in memory (length field, JSON header, data buffer)
// through parse_safetensors_bytes. fw::Error is an expected rejection; an accepted file must have
// the layout the reader relies on without further checks.
#include <cstddef>
#include <cstdint>

#include "fuzz_util.h"
#include "io/safetensors_header.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fw::SafetensorsLayout layout;
  try {
    layout = fw::parse_safetensors_bytes(data, size, "fuzz.safetensors");
  } catch (const fw::Error &) {
    return 0;
  }
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
