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

// Every header takes the fast path unless it breaks a rule; both paths must then agree: the same
// layout, or the same error (tests/fuzz/fuzz_safetensors.cpp checks it on fuzzed input too).
TEST(LargeHeader, FastAndStrictPathsAgree) {
  const auto verdict = [](const std::vector<uint8_t> &bytes, bool strict) {
    try {
      const uint64_t len = fw::safetensors_header_length(bytes.data(), bytes.size(), "f");
      const char *header = reinterpret_cast<const char *>(bytes.data() + 8);
      const fw::SafetensorsLayout l =
          strict ? fw::parse_safetensors_header_strict(header, len, bytes.size(), "f")
                 : fw::parse_safetensors_header(header, len, bytes.size(), "f");
      std::string out;
      for (const auto &[k, v] : l.metadata) out += k + "=" + v + ";";
      for (const fw::TensorEntry &t : l.tensors)
        out += t.name + ":" + std::to_string(t.begin) + "+" + std::to_string(t.nbytes) + ";";
      return out;
    } catch (const fw::Error &e) {
      return std::string("error ") + e.what();
    }
  };
  const std::vector<std::pair<std::string, size_t>> headers = {
      // Valid: zero-size tensors sharing an offset (their order comes from the names), escapes
      // and non-ASCII names, metadata anywhere, spaces.
      {R"({"z":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"a":{"dtype":"F32","shape":[0],)"
       R"("data_offsets":[0,0]},"__metadata__":{"k":"v\n","\u00e9":"\""},)"
       R"("m\u00fc":{"dtype":"BF16","shape":[2, 1],"data_offsets":[0,4]}}   )",
       4},
      {R"({})", 0},
      {R"({"__metadata__":{}})", 0},
      // Broken: each takes the strict path, which names the defect.
      {R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],)"
       R"("data_offsets":[0,4]}})",
       4},
      {R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"dtype":"F32"}})", 4},
      {R"({"a":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}})", 4},
      {R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4},
      {R"({"a":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}})", 4},
      {R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}})", 4},
      {R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,8]}})", 8},
      {R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 4},
      {R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":7})", 4},
      {R"({"__metadata__":{"k":1}})", 0},
      {R"({"__metadata__":{"k":"a","k":"b"}})", 0},
      {R"({"__metadata__":{},"__metadata__":{}})", 0},
      {R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}} x)", 4},
      {R"({"a":{"dtype":"F32","shape":[9223372036854775808],"data_offsets":[0,4]}})", 4},
      {R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}})", 4},
      {R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32",)"
       R"("shape":[1],"data_offsets":[2,6]}})",
       8},
  };
  for (const auto &[header, data] : headers) {
    const std::vector<uint8_t> bytes = iotest::raw_file(header, data);
    EXPECT_EQ(verdict(bytes, false), verdict(bytes, true)) << header;
  }
  EXPECT_EQ(verdict(iotest::raw_file(headers[0].first, 4), false),
            "k=v\n;\u00e9=\";a:" + std::to_string(8 + headers[0].first.size()) +
                "+0;z:" + std::to_string(8 + headers[0].first.size()) +
                "+0;m\u00fc:" + std::to_string(8 + headers[0].first.size()) + "+4;");
}

}  // namespace
