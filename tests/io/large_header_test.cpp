// Headers with many tensors (the parse is linear; bench/header_bench.cpp has the figures): every
// entry comes back in offset order with its metadata, and a repeated name among 20 000 is still
// the named defect, wherever it is.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "io/json_util.h"
#include "io/safetensors_header.h"
#include "io_test_util.h"

namespace {

// n one-element F32 tensors t<i>; names[k] replaces t<k>'s name when given.
std::vector<uint8_t> many(size_t n, const std::string &extra_name = "") {
  std::string header = R"({"__metadata__":{"format":"pt","note":"x"})";
  for (size_t i = 0; i < n; ++i) {
    const std::string name =
        i + 1 == n && !extra_name.empty() ? extra_name : "t" + std::to_string(i);
    header += ",\"" + name + R"(":{"dtype":"F32","shape":[1],"data_offsets":[)" +
              std::to_string(4 * i) + "," + std::to_string(4 * i + 4) + "]}";
  }
  header += "}";
  return iotest::raw_file(header, 4 * n);
}

TEST(LargeHeader, TwentyThousandTensorsComeBackInOffsetOrder) {
  const std::vector<uint8_t> bytes = many(20000);
  const fw::SafetensorsLayout layout =
      fw::parse_safetensors_bytes(bytes.data(), bytes.size(), "big");
  ASSERT_EQ(layout.tensors.size(), 20000u);
  for (size_t i = 0; i < layout.tensors.size(); ++i) {
    EXPECT_EQ(layout.tensors[i].name, "t" + std::to_string(i));
    EXPECT_EQ(layout.tensors[i].nbytes, 4u);
    ASSERT_EQ(layout.tensors[i].shape, std::vector<int64_t>{1});
  }
  EXPECT_EQ(layout.metadata.at("note"), "x");
}

TEST(LargeHeader, ARepeatedNameAmongManyIsTheNamedDefect) {
  const std::vector<uint8_t> bytes = many(20000, "t17");
  iotest::expect_error([&] { fw::parse_safetensors_bytes(bytes.data(), bytes.size(), "big"); },
                       FW_ERR_FORMAT, "[header_duplicate_name] big: key \"t17\" appears twice");
  // The first repeat in text order is the one named, at its depth.
  const std::string nested = R"({"a":{"x":1,"y":{"z":1,"z":2}},"a":2,"b":{"x":1,"x":1}})";
  iotest::expect_error([&] { fw::parse_json_strict(nested.data(), nested.size(), "p_", "n"); },
                       FW_ERR_FORMAT,
                       "[p_duplicate_field] n: key \"z\" appears twice in one object");
  const std::string top = R"({"a":{"x":1},"a":2,"b":{"x":1,"x":1}})";
  iotest::expect_error([&] { fw::parse_json_strict(top.data(), top.size(), "p_", "t"); },
                       FW_ERR_FORMAT, "[p_duplicate_name] t: key \"a\" appears twice");
  // The same key in two objects, or in an object inside an array, is no repeat.
  const std::string fine = R"({"a":{"x":1},"b":{"x":1},"c":[{"x":1},{"x":2}]})";
  EXPECT_EQ(fw::parse_json_strict(fine.data(), fine.size(), "p_", "f").size(), 3u);
}

}  // namespace
