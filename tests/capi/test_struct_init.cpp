// fw_X_init (0.5.0): the input structs' defaults written up to the caller's size, for every shipped
// size, never past it; NULL and other sizes refused with nothing written. The header's
// fw_default_X() are inlines over them, and the library still exports the by-value fw_default_X()
// of 0.4 (lib/capi/frozen_defaults.cpp) for programs built against older headers.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "capi/versioned.h"
#include "fwmerge.h"

namespace {

constexpr unsigned char kCanary = 0xA7;

// A buffer larger than T, filled with the canary, so that a write past the size given shows.
template <typename T>
struct Canvas {
  alignas(T) unsigned char bytes[sizeof(T) + 64];
  Canvas() { std::memset(bytes, kCanary, sizeof bytes); }
  T *get() { return reinterpret_cast<T *>(bytes); }
  bool untouched_from(size_t from) const {
    for (size_t i = from; i < sizeof bytes; ++i)
      if (bytes[i] != kCanary) return false;
    return true;
  }
};

template <typename T>
std::vector<uint32_t> shipped() {
  const auto &sizes = fw::capi::StructVersions<T>::sizes;
  return std::vector<uint32_t>(std::begin(sizes), std::end(sizes));
}

// For every shipped size: FW_OK, struct_size set to it, the bytes after struct_size equal to the
// same prefix of `full` (the defaults at this header's size), nothing written past the size. Then
// sizes between the versions, above the newest and NULL: FW_ERR_INVALID_ARGUMENT, nothing written,
// a message naming the function and the sizes accepted.
template <typename T, typename Init>
void check_init(const char *fn, Init init) {
  Canvas<T> whole;
  ASSERT_EQ(init(whole.get(), sizeof(T)), FW_OK) << fw_last_error();
  const T full = *whole.get();
  EXPECT_EQ(full.struct_size, sizeof(T));
  for (const uint32_t size : shipped<T>()) {
    Canvas<T> canvas;
    ASSERT_EQ(init(canvas.get(), size), FW_OK) << fn << " " << size << ": " << fw_last_error();
    EXPECT_EQ(canvas.get()->struct_size, size) << fn;
    EXPECT_EQ(std::memcmp(canvas.bytes + sizeof(uint32_t),
                          reinterpret_cast<const unsigned char *>(&full) + sizeof(uint32_t),
                          size - sizeof(uint32_t)),
              0)
        << fn << " " << size;
    EXPECT_TRUE(canvas.untouched_from(size)) << fn << " wrote past size " << size;
  }
  const std::vector<uint32_t> sizes = shipped<T>();
  for (const size_t bad : {size_t{0}, size_t{3}, size_t{sizes.front() - 1},
                           size_t{sizes.back() + 8}, size_t{1} << 40}) {
    Canvas<T> canvas;
    EXPECT_EQ(init(canvas.get(), bad), FW_ERR_INVALID_ARGUMENT) << fn << " " << bad;
    EXPECT_TRUE(canvas.untouched_from(0)) << fn << " wrote for size " << bad;
    const std::string message = fw_last_error();
    EXPECT_NE(message.find(fn), std::string::npos) << message;
    EXPECT_NE(
        message.find(std::to_string(sizes.back()) + " (v" + std::to_string(sizes.size()) + ")"),
        std::string::npos)
        << message;
  }
  EXPECT_EQ(init(nullptr, sizeof(T)), FW_ERR_INVALID_ARGUMENT) << fn;
  EXPECT_NE(std::string(fw_last_error()).find("NULL"), std::string::npos) << fw_last_error();
}

TEST(StructInit, ParamsAtEveryShippedSize) {
  check_init<fw_params>("fw_params_init", fw_params_init);
}

TEST(StructInit, MergeParamsAtEveryShippedSizeForEveryMethod) {
  for (int m = FW_MERGE_METHOD_LINEAR; m <= FW_MERGE_METHOD_ISO_CTS; ++m) {
    SCOPED_TRACE(m);
    check_init<fw_merge_params>("fw_merge_params_init", [m](fw_merge_params *p, size_t size) {
      return fw_merge_params_init(p, static_cast<fw_merge_method>(m), size);
    });
  }
}

TEST(StructInit, ExportOptionsAtEveryShippedSize) {
  check_init<fw_export_options>("fw_export_options_init", fw_export_options_init);
}

TEST(StructInit, TorchscriptObjectiveAtEveryShippedSize) {
  check_init<fw_torchscript_objective>("fw_torchscript_objective_init",
                                       fw_torchscript_objective_init);
}

TEST(StructInit, DistParamsAtEveryShippedSize) {
  check_init<fw_dist_params>("fw_dist_params_init", fw_dist_params_init);
}

// The documented defaults, read through the init functions (independent of how they are built).
TEST(StructInit, DefaultsAreTheDocumentedValues) {
  fw_merge_params ties;
  ASSERT_EQ(fw_merge_params_init(&ties, FW_MERGE_METHOD_TIES, sizeof ties), FW_OK);
  EXPECT_EQ(ties.method, FW_MERGE_METHOD_TIES);
  EXPECT_EQ(ties.density, 0.2);
  EXPECT_EQ(ties.scaling, 1.0);
  EXPECT_EQ(ties.normalize, 1);
  EXPECT_EQ(ties.compute_dtype, FW_DTYPE_DEFAULT);
  EXPECT_EQ(ties.weights, nullptr);
  fw_dist_params dist;
  ASSERT_EQ(fw_dist_params_init(&dist, sizeof dist), FW_OK);
  EXPECT_EQ(dist.world_size, 1);
  EXPECT_EQ(dist.timeout_ms, 60000);
  fw_export_options opts;
  ASSERT_EQ(fw_export_options_init(&opts, sizeof opts), FW_OK);
  EXPECT_EQ(opts.dtype, FW_DTYPE_DEFAULT);
  EXPECT_EQ(opts.hf_folder, 0);
}

// An unknown method: LINEAR's defaults with that value, as fw_default_merge_params gives it, and
// FW_ERR_INVALID_ARGUMENT naming the value.
TEST(StructInit, UnknownMergeMethodFillsLinearDefaultsAndSaysSo) {
  fw_merge_params p;
  int32_t raw = 99;
  fw_merge_method unknown;
  std::memcpy(&unknown, &raw, sizeof raw);
  EXPECT_EQ(fw_merge_params_init(&p, unknown, sizeof p), FW_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(fw_last_error()).find("99"), std::string::npos) << fw_last_error();
  int32_t method;
  std::memcpy(&method, &p.method, sizeof method);
  EXPECT_EQ(method, 99);
  EXPECT_EQ(p.normalize, 1);
  EXPECT_EQ(p.density, 1.0);
}

// The header's fw_default_X() are the init functions' values at this header's size.
TEST(StructInit, HeaderInlinesEqualTheInitFunctions) {
  const fw_params inline_params = fw_default_params();
  fw_params params;
  ASSERT_EQ(fw_params_init(&params, sizeof params), FW_OK);
  EXPECT_EQ(std::memcmp(&inline_params, &params, sizeof params), 0);
  const fw_merge_params inline_merge = fw_default_merge_params(FW_MERGE_METHOD_DARE_TIES);
  fw_merge_params merge;
  ASSERT_EQ(fw_merge_params_init(&merge, FW_MERGE_METHOD_DARE_TIES, sizeof merge), FW_OK);
  EXPECT_EQ(std::memcmp(&inline_merge, &merge, sizeof merge), 0);
}

// What a program built against a 0.4 header calls: the exported by-value symbols, still there,
// returning the 0.4 layout (its struct_size is the 0.4 size, the last of 0.4.0's ladder).
TEST(StructInit, ExportedByValueDefaultsOfOlderHeadersRemain) {
  void *self = dlopen(nullptr, RTLD_NOW);
  ASSERT_NE(self, nullptr);
  for (const char *name :
       {"fw_default_params", "fw_default_merge_params", "fw_default_export_options",
        "fw_default_torchscript_objective", "fw_default_dist_params"})
    EXPECT_NE(dlsym(self, name), nullptr) << name << " is not exported any more";
  // A 0.4 caller's fw_merge_params: v7's bytes (over 16 bytes: returned through a buffer the
  // caller sizes, on every ABI the library targets).
  constexpr size_t kV7 = FW_SIZE_THROUGH(fw_merge_params, fill_missing_from_base);
  static_assert(kV7 < sizeof(fw_merge_params), "v8 appended fields");
  struct alignas(fw_merge_params) V7 {
    unsigned char bytes[kV7];
  };
  using ByValueMerge = V7 (*)(fw_merge_method);
  auto old_merge = reinterpret_cast<ByValueMerge>(dlsym(self, "fw_default_merge_params"));
  ASSERT_NE(old_merge, nullptr);
  const V7 v7 = old_merge(FW_MERGE_METHOD_TIES);
  fw_merge_params p;
  ASSERT_EQ(fw_merge_params_init(&p, FW_MERGE_METHOD_TIES, kV7), FW_OK);  // the v7 prefix
  EXPECT_EQ(std::memcmp(v7.bytes, &p, kV7), 0);
  EXPECT_EQ(p.struct_size, kV7);
  EXPECT_EQ(p.density, 0.2);
  dlclose(self);
}

}  // namespace
