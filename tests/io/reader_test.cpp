// Reading files built independently by test_support: exact values in every mergeable dtype,
// metadata, offsets, rank-0 and zero-size tensors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "capi/dtype_map.h"
#include "io/checkpoint.h"
#include "io/safetensors_reader.h"
#include "io_test_util.h"
#include "test_support.h"

namespace {

TEST(Conversions, KnownBitPatterns) {
  // Hand-checked IEEE encodings.
  EXPECT_EQ(fwtest::f32_to_f16(1.0f), 0x3C00);
  EXPECT_EQ(fwtest::f32_to_f16(-2.0f), 0xC000);
  EXPECT_EQ(fwtest::f32_to_f16(65504.0f), 0x7BFF);
  EXPECT_EQ(fwtest::f32_to_f16(65520.0f), 0x7C00);               // rounds up to Inf
  EXPECT_EQ(fwtest::f32_to_f16(std::ldexp(1.0f, -24)), 0x0001);  // smallest subnormal
  EXPECT_EQ(fwtest::f32_to_f16(std::ldexp(1.0f, -25)), 0x0000);  // tie to even: 0
  EXPECT_EQ(fwtest::f32_to_f16(std::ldexp(3.0f, -26)), 0x0001);  // 0.75 ulp rounds up
  EXPECT_EQ(fwtest::f32_to_f16(1.0f / 3.0f), 0x3555);
  EXPECT_EQ(fwtest::f32_to_f16(1.0f + std::ldexp(1.0f, -11)), 0x3C00);  // tie to even
  EXPECT_EQ(fwtest::f32_to_f16(1.0f + std::ldexp(3.0f, -11)), 0x3C02);  // tie to even, up
  EXPECT_EQ(fwtest::f16_to_f32(0x3555), 0.333251953125f);
  EXPECT_EQ(fwtest::f16_to_f32(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(fwtest::f32_to_bf16(1.0f), 0x3F80);
  EXPECT_EQ(fwtest::f32_to_bf16(1.0f / 3.0f), 0x3EAB);
  EXPECT_EQ(fwtest::f32_to_bf16(1.0f + std::ldexp(1.0f, -8)), 0x3F80);  // tie to even
  EXPECT_EQ(fwtest::bf16_to_f32(0x3EAB), 0.333984375f);
}

TEST(Reader, ExactValuesInAllMergeableDtypes) {
  const std::string path = fwtest::temp_dir("reader") + "/m.safetensors";
  const std::vector<float> w = {0.5f, -1.25f, 3.0f, 1.0f / 3.0f, 100.0f, -0.0078125f};
  fwtest::write_safetensors(path,
                            {{"w32", {2, 3}, w, "F32"},
                             {"w16", {3, 2}, w, "F16"},
                             {"wbf", {6}, w, "BF16"},
                             {"scalar", {}, {7.5f}, "F32"},
                             {"empty", {0, 4}, {}, "BF16"}},
                            {{"format", "pt"}, {"note", "a \"quoted\"\nline"}});
  auto file = fw::SafetensorsFile::open(path);
  ASSERT_EQ(file->tensors().size(), 5u);
  EXPECT_EQ(file->metadata().at("format"), "pt");
  EXPECT_EQ(file->metadata().at("note"), "a \"quoted\"\nline");

  // Offsets in file order: header is 8-aligned, then 24 + 12 + 12 + 4 + 0 bytes.
  const uint64_t data_start = fwtest::read_bytes(path).size() - 52;
  EXPECT_EQ(file->tensors()[0].name, "w32");
  EXPECT_EQ(file->tensors()[0].begin, data_start);
  EXPECT_EQ(file->find("w16")->begin, data_start + 24);
  EXPECT_EQ(file->find("wbf")->begin, data_start + 36);
  EXPECT_EQ(file->find("scalar")->numel, 1);
  EXPECT_TRUE(file->find("scalar")->shape.empty());
  EXPECT_EQ(file->find("empty")->numel, 0);
  EXPECT_EQ(file->find("empty")->nbytes, 0u);
  EXPECT_EQ(file->find("missing"), nullptr);

  auto ckpt = fw::open_checkpoint(path, nullptr);
  const at::Tensor t32 = ckpt->load_f32("w32");
  const at::Tensor t16 = ckpt->load_f32("w16");
  const at::Tensor tbf = ckpt->load_f32("wbf");
  ASSERT_EQ(t32.scalar_type(), at::kFloat);
  ASSERT_EQ(t16.scalar_type(), at::kFloat);
  ASSERT_EQ(tbf.scalar_type(), at::kFloat);
  EXPECT_EQ(t32.sizes().vec(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(t16.sizes().vec(), (std::vector<int64_t>{3, 2}));
  for (size_t i = 0; i < w.size(); ++i) {
    EXPECT_EQ(t32.data_ptr<float>()[i], w[i]);
    EXPECT_EQ(t16.data_ptr<float>()[i], fwtest::f16_to_f32(fwtest::f32_to_f16(w[i])));
    EXPECT_EQ(tbf.data_ptr<float>()[i], fwtest::bf16_to_f32(fwtest::f32_to_bf16(w[i])));
  }
  // Hand-rounded values: 1/3 in fp16 is 0.333251953125, in bf16 0.333984375.
  EXPECT_EQ(t16.data_ptr<float>()[3], 0.333251953125f);
  EXPECT_EQ(tbf.data_ptr<float>()[3], 0.333984375f);
  EXPECT_EQ(ckpt->load_f32("scalar").item<float>(), 7.5f);
  EXPECT_EQ(ckpt->load_f32("empty").sizes().vec(), (std::vector<int64_t>{0, 4}));
}

// Nothing is memory-mapped: every load is a fresh copy, F32 included, so a file that changes
// later cannot change (or fault) a tensor already handed out.
TEST(Reader, LoadsAreFreshCopies) {
  const std::string path = fwtest::temp_dir("reader") + "/alias.safetensors";
  fwtest::write_safetensors(path, {{"a", {4}, {1, 2, 3, 4}, "F32"}});
  auto ckpt = fw::open_checkpoint(path, nullptr);
  const at::Tensor t = ckpt->load_f32("a");
  EXPECT_NE(t.data_ptr(), ckpt->load_f32("a").data_ptr());
  EXPECT_EQ(t.data_ptr<float>()[3], 4.0f);
  const std::string path16 = fwtest::temp_dir("reader") + "/copy.safetensors";
  fwtest::write_safetensors(path16, {{"a", {4}, {1, 2, 3, 4}, "F16"}});
  auto ckpt16 = fw::open_checkpoint(path16, nullptr);
  EXPECT_NE(ckpt16->load_f32("a").data_ptr(), ckpt16->load_f32("a").data_ptr());
}

TEST(Reader, MisalignedDataIsCopiedCorrectly) {
  // A header of 9 bytes (legal: padding is a convention) leaves the data at file offset 17.
  const std::string path = fwtest::temp_dir("reader") + "/odd.safetensors";
  std::string header = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
  std::vector<uint8_t> bytes = iotest::raw_file(header, 0);
  const float values[2] = {1.5f, -2.25f};
  const auto *p = reinterpret_cast<const uint8_t *>(values);
  bytes.insert(bytes.end(), p, p + 8);
  ASSERT_NE((8 + header.size()) % 4, 0u);
  fwtest::write_bytes(path, bytes);
  auto ckpt = fw::open_checkpoint(path, nullptr);
  const at::Tensor t = ckpt->load_f32("a");
  EXPECT_EQ(t.data_ptr<float>()[0], 1.5f);
  EXPECT_EQ(t.data_ptr<float>()[1], -2.25f);
}

TEST(Reader, NonMergeableDtypeLoadsAreUnsupported) {
  const std::string path = fwtest::temp_dir("reader") + "/int.safetensors";
  std::vector<uint8_t> bytes =
      iotest::raw_file("{\"ids\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,16]}}", 16);
  fwtest::write_bytes(path, bytes);
  auto ckpt = fw::open_checkpoint(path, nullptr);
  EXPECT_EQ(ckpt->find("ids")->dtype, fw::DType::I64);
  iotest::expect_error([&] { ckpt->load_f32("ids"); }, FW_ERR_UNSUPPORTED, "I64");
  iotest::expect_error([&] { ckpt->load_f32("nope"); }, FW_ERR_NAME_MISMATCH, "\"nope\"");
}

TEST(Reader, EmptyTensorListIsValid) {
  const std::string path = fwtest::temp_dir("reader") + "/none.safetensors";
  fwtest::write_safetensors(path, {});
  auto file = fw::SafetensorsFile::open(path);
  EXPECT_TRUE(file->tensors().empty());
  EXPECT_TRUE(file->metadata().empty());
}

TEST(DType, TableRoundTrips) {
  const std::vector<std::pair<std::string, int>> expected = {
      {"BOOL", 8},    {"U8", 8},      {"I8", 8},          {"I16", 16},        {"U16", 16},
      {"F16", 16},    {"BF16", 16},   {"I32", 32},        {"U32", 32},        {"F32", 32},
      {"F64", 64},    {"I64", 64},    {"U64", 64},        {"C64", 64},        {"F8_E5M2", 8},
      {"F8_E4M3", 8}, {"F8_E8M0", 8}, {"F8_E4M3FNUZ", 8}, {"F8_E5M2FNUZ", 8}, {"F6_E2M3", 6},
      {"F6_E3M2", 6}, {"F4", 4}};
  for (const auto &e : expected) {
    fw::DType d;
    ASSERT_TRUE(fw::parse_dtype(e.first, &d)) << e.first;
    EXPECT_EQ(fw::dtype_name(d), e.first);
    EXPECT_EQ(fw::dtype_bits(d), e.second) << e.first;
    EXPECT_EQ(fw::is_mergeable(d), e.first == "F32" || e.first == "F16" || e.first == "BF16");
  }
  fw::DType d;
  EXPECT_FALSE(fw::parse_dtype("F128", &d));
  EXPECT_FALSE(fw::parse_dtype("f32", &d));
  EXPECT_EQ(fw::to_scalar_type(fw::DType::BF16), at::kBFloat16);
  EXPECT_EQ(fw::capi::to_public(fw::DType::F16), FW_DTYPE_F16);
  EXPECT_EQ(fw::capi::from_public(FW_DTYPE_BF16), fw::DType::BF16);
  iotest::expect_error([] { fw::to_scalar_type(fw::DType::I8); }, FW_ERR_UNSUPPORTED, "I8");
  iotest::expect_error([] { fw::capi::from_public(FW_DTYPE_DEFAULT); }, FW_ERR_INVALID_ARGUMENT,
                       "-1");
}

}  // namespace
