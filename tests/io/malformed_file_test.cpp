// Every structural defect of a safetensors file is rejected at open() with FW_ERR_FORMAT and its
// own defect name (or FW_ERR_IO for files that cannot be read at all).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "io/safetensors_reader.h"
#include "io_test_util.h"
#include "test_support.h"

namespace {

using iotest::raw_file;

struct Case {
  const char *label;
  std::vector<uint8_t> bytes;
  const char *defect;
};

// A header entry for tensor `name`.
std::string entry(const std::string &name, const std::string &dtype, const std::string &shape,
                  const std::string &offsets) {
  return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape +
         ",\"data_offsets\":" + offsets + "}";
}

std::vector<Case> cases() {
  const std::string a = entry("a", "F32", "[2]", "[0,8]");
  return {
      {"empty_file", {}, "[file_too_short]"},
      {"five_bytes", {1, 0, 0, 0, 0}, "[file_too_short]"},
      {"zero_header_length", raw_file(0, "", 0), "[header_empty]"},
      {"header_length_over_cap", raw_file(100000001, "{}", 0), "[header_too_large]"},
      {"header_length_past_eof", raw_file(64, "{}      ", 4), "[header_out_of_bounds]"},
      {"leading_space", raw_file(" {}     ", 0), "[header_start]"},
      {"array_header", raw_file("[]      ", 0), "[header_start]"},
      {"invalid_utf8_byte", raw_file("{\"\xff\":{}}", 0), "[header_not_utf8]"},
      {"overlong_utf8", raw_file("{\"\xc0\xaf\":1}", 0), "[header_not_utf8]"},
      {"surrogate_utf8", raw_file("{\"\xed\xa0\x80\":1}", 0), "[header_not_utf8]"},
      {"truncated_json", raw_file("{\"a\":{", 0), "[header_not_json]"},
      {"junk_after_object", raw_file("{}xyzzyx", 0), "[header_not_json]"},
      {"nul_padding", raw_file(std::string("{}\0\0\0\0\0\0", 8), 0), "[header_not_json]"},
      {"nul_then_junk", raw_file(std::string("{}\0junk!", 8), 0), "[header_not_json]"},
      {"duplicate_tensor_name",
       raw_file("{" + a + "," + entry("a", "F32", "[2]", "[8,16]") + "}", 16),
       "[header_duplicate_name]"},
      {"duplicate_field",
       raw_file(
           "{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8),
       "[header_duplicate_field]"},
      {"entry_is_number", raw_file("{\"a\":5}", 0), "[entry_not_object]"},
      {"entry_is_array", raw_file("{\"a\":[1,2]}", 0), "[entry_not_object]"},
      {"missing_dtype", raw_file("{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8),
       "[missing_field]"},
      {"missing_data_offsets", raw_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8),
       "[missing_field]"},
      {"extra_field",
       raw_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"x\":1}}", 8),
       "[unknown_field]"},
      {"dtype_number", raw_file("{\"a\":{\"dtype\":32,\"shape\":[2],\"data_offsets\":[0,8]}}", 8),
       "[dtype_not_string]"},
      {"unknown_dtype", raw_file("{" + entry("a", "F128", "[2]", "[0,8]") + "}", 8),
       "[unknown_dtype]"},
      {"lowercase_dtype", raw_file("{" + entry("a", "f32", "[2]", "[0,8]") + "}", 8),
       "[unknown_dtype]"},
      {"negative_dim", raw_file("{" + entry("a", "F32", "[-2]", "[0,8]") + "}", 8),
       "[shape_invalid]"},
      {"fractional_dim", raw_file("{" + entry("a", "F32", "[2.5]", "[0,8]") + "}", 8),
       "[shape_invalid]"},
      {"shape_string", raw_file("{" + entry("a", "F32", "\"2\"", "[0,8]") + "}", 8),
       "[shape_invalid]"},
      {"numel_overflow",
       raw_file("{" + entry("a", "F32", "[4611686018427387904,4]", "[0,8]") + "}", 8),
       "[shape_overflow]"},
      {"bytes_overflow",
       raw_file("{" + entry("a", "F64", "[4611686018427387904]", "[0,8]") + "}", 8),
       "[shape_overflow]"},
      {"f4_half_byte", raw_file("{" + entry("a", "F4", "[3]", "[0,1]") + "}", 1),
       "[misaligned_subbyte]"},
      {"three_offsets", raw_file("{" + entry("a", "F32", "[2]", "[0,8,8]") + "}", 8),
       "[data_offsets_invalid]"},
      {"negative_offset", raw_file("{" + entry("a", "F32", "[2]", "[-8,0]") + "}", 8),
       "[data_offsets_invalid]"},
      {"offsets_object", raw_file("{" + entry("a", "F32", "[2]", "{}") + "}", 8),
       "[data_offsets_invalid]"},
      {"begin_after_end", raw_file("{" + entry("a", "F32", "[1]", "[8,4]") + "}", 8),
       "[offsets_reversed]"},
      {"span_not_numel", raw_file("{" + entry("a", "F32", "[3]", "[0,8]") + "}", 8),
       "[size_mismatch]"},
      {"end_past_data", raw_file("{" + entry("a", "F32", "[2]", "[0,8]") + "}", 4),
       "[offsets_out_of_bounds]"},
      {"overlap", raw_file("{" + a + "," + entry("b", "F32", "[2]", "[4,12]") + "}", 12),
       "[offsets_overlap]"},
      {"empty_tensor_inside_other",
       raw_file("{" + a + "," + entry("z", "F32", "[0]", "[4,4]") + "}", 8), "[offsets_overlap]"},
      {"hole_between", raw_file("{" + a + "," + entry("b", "F32", "[1]", "[12,16]") + "}", 16),
       "[offsets_hole]"},
      {"hole_at_start", raw_file("{" + entry("a", "F32", "[1]", "[4,8]") + "}", 8),
       "[offsets_hole]"},
      {"trailing_byte", raw_file("{" + a + "}", 9), "[trailing_bytes]"},
      {"data_without_tensors", raw_file("{}      ", 4), "[trailing_bytes]"},
      {"metadata_number_value", raw_file("{\"__metadata__\":{\"format\":1}," + a + "}", 8),
       "[metadata_invalid]"},
      {"metadata_array", raw_file("{\"__metadata__\":[\"pt\"]}", 0), "[metadata_invalid]"},
  };
}

TEST(MalformedFile, EachDefectHasItsName) {
  const std::string dir = fwtest::temp_dir("malformed");
  const std::vector<Case> all = cases();
  ASSERT_GE(all.size(), 30u);
  for (const Case &c : all) {
    SCOPED_TRACE(c.label);
    const std::string path = dir + "/" + c.label + ".safetensors";
    fwtest::write_bytes(path, c.bytes);
    iotest::expect_error([&] { fw::SafetensorsFile::open(path); }, FW_ERR_FORMAT, c.defect);
  }
}

// Found while fuzzing (tests/fuzz/fuzz_safetensors.cpp): nlohmann parses nesting without
// recursion, but the error message for a bad shape or data_offsets dumped the value recursively,
// so a 2 MB header nested a million deep overflowed the stack (SIGSEGV) instead of failing. JSON
// deeper than 64 levels is now rejected while parsing.
TEST(MalformedFile, DeeplyNestedHeaderIsAFormatErrorNotAStackOverflow) {
  const std::string dir = fwtest::temp_dir("malformed");
  const std::string deep = std::string(1000000, '[') + std::string(1000000, ']');
  const std::string path = dir + "/deep.safetensors";
  fwtest::write_bytes(path, raw_file("{" + entry("a", "F32", "[]", deep) + "}", 4));
  iotest::expect_error([&] { fw::SafetensorsFile::open(path); }, FW_ERR_FORMAT,
                       "[header_too_deep]");
  fwtest::write_bytes(path, raw_file("{" + entry("a", "F32", deep, "[0,4]") + "}", 4));
  iotest::expect_error([&] { fw::SafetensorsFile::open(path); }, FW_ERR_FORMAT,
                       "[header_too_deep]");
  // 64 levels are parsed (and rejected for what they are); 65 are too deep.
  const auto nested = [](int levels) {
    return std::string(levels - 3, '[') + std::string(levels - 3, ']');  // header, entry, shape
  };
  fwtest::write_bytes(path,
                      raw_file("{" + entry("a", "F32", "[" + nested(64) + "]", "[0,4]") + "}", 4));
  iotest::expect_error([&] { fw::SafetensorsFile::open(path); }, FW_ERR_FORMAT, "[shape_invalid]");
  fwtest::write_bytes(path,
                      raw_file("{" + entry("a", "F32", "[" + nested(65) + "]", "[0,4]") + "}", 4));
  iotest::expect_error([&] { fw::SafetensorsFile::open(path); }, FW_ERR_FORMAT,
                       "[header_too_deep]");
}

TEST(MalformedFile, MissingFileIsIoErrorWithReason) {
  const std::string path = fwtest::temp_dir("malformed") + "/absent.safetensors";
  iotest::expect_error([&] { fw::SafetensorsFile::open(path); }, FW_ERR_IO,
                       "No such file or directory");
}

TEST(MalformedFile, DirectoryIsIoError) {
  const std::string dir = fwtest::temp_dir("malformed");
  iotest::expect_error([&] { fw::SafetensorsFile::open(dir); }, FW_ERR_IO, "not a regular file");
}

TEST(MalformedFile, MessageNamesFileAndTensor) {
  const std::string path = fwtest::temp_dir("malformed") + "/named.safetensors";
  fwtest::write_bytes(path, raw_file("{" + entry("layer.0.w", "F32", "[3]", "[0,8]") + "}", 8));
  iotest::expect_error([&] { fw::SafetensorsFile::open(path); }, FW_ERR_FORMAT, path);
  iotest::expect_error([&] { fw::SafetensorsFile::open(path); }, FW_ERR_FORMAT, "\"layer.0.w\"");
}

}  // namespace
