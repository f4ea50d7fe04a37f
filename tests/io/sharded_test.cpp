// Hugging Face sharded folders: writer layout (names, greedy packing, index, total_size),
// all-or-nothing failure, reading back, and index defects.
#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>

#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

#include "capi/status_map.h"
#include "io/checkpoint.h"
#include "io/safetensors_reader.h"
#include "io/safetensors_writer.h"
#include "io_test_util.h"
#include "test_support.h"

namespace {

using fw::DType;
using fw::OutTensor;

using fwtest::list_dir;

void write_text(const std::string &path, const std::string &text) {
  fwtest::write_bytes(path, std::vector<uint8_t>(text.begin(), text.end()));
}

// Six tensors whose sizes exercise the packing rule with a 100-byte limit:
// a 40, b 40, c 200 (> limit), d 30, e 50, f 10 bytes.
struct Pool {
  std::vector<float> a, b, c;
  std::vector<uint16_t> d, e, f;
  Pool() {
    for (int i = 0; i < 10; ++i) a.push_back(0.5f * i), b.push_back(-0.25f * i);
    for (int i = 0; i < 50; ++i) c.push_back(1.0f + i);
    for (int i = 0; i < 15; ++i) d.push_back(fwtest::f32_to_f16(0.125f * i));
    for (int i = 0; i < 25; ++i) e.push_back(fwtest::f32_to_bf16(-2.0f * i));
    for (int i = 0; i < 5; ++i) f.push_back(fwtest::f32_to_f16(1.0f / (i + 1)));
  }
  std::vector<OutTensor> tensors() const {
    // Deliberately not in name order.
    return {{"f", DType::F16, {5}, f.data(), 10},    {"c", DType::F32, {5, 10}, c.data(), 200},
            {"a", DType::F32, {10}, a.data(), 40},   {"e", DType::BF16, {25}, e.data(), 50},
            {"b", DType::F32, {2, 5}, b.data(), 40}, {"d", DType::F16, {15}, d.data(), 30}};
  }
};

TEST(ShardedWriter, GreedyPackingNamesAndIndex) {
  const std::string dir = fwtest::temp_dir("sharded") + "/out/nested";  // created by the writer
  Pool pool;
  fw::write_sharded(dir, pool.tensors(), {{"format", "pt"}}, 100);

  // Name order a b c d e f: c (200 > 100) gets its own shard, appended before the shard being
  // filled ([a, b] = 80), which closes when d would tip it over; then [d, e, f] = 90.
  const std::string s1 = "model-00001-of-00003.safetensors";
  const std::string s2 = "model-00002-of-00003.safetensors";
  const std::string s3 = "model-00003-of-00003.safetensors";
  EXPECT_EQ(list_dir(dir), (std::set<std::string>{s1, s2, s3, "model.safetensors.index.json"}));

  const std::vector<uint8_t> text = fwtest::read_bytes(dir + "/model.safetensors.index.json");
  const nlohmann::json index = nlohmann::json::parse(text.begin(), text.end());
  EXPECT_EQ(index, nlohmann::json::parse(R"({"metadata": {"total_size": 370},
      "weight_map": {"a": ")" + s2 + R"(", "b": ")" +
                                         s2 + R"(", "c": ")" + s1 + R"(", "d": ")" + s3 +
                                         R"(", "e": ")" + s3 + R"(", "f": ")" + s3 + R"("}})"));

  auto f1 = fw::SafetensorsFile::open(dir + "/" + s1);
  auto f2 = fw::SafetensorsFile::open(dir + "/" + s2);
  auto f3 = fw::SafetensorsFile::open(dir + "/" + s3);
  EXPECT_EQ(f1->tensors().size(), 1u);
  EXPECT_EQ(f2->tensors().size(), 2u);
  EXPECT_EQ(f3->tensors().size(), 3u);
  for (const auto *f : {f1.get(), f2.get(), f3.get()}) {
    EXPECT_EQ(f->metadata(), (std::map<std::string, std::string>{{"format", "pt"}}));
  }

  // Read back through open_checkpoint: shards in order, tensors by offset within each shard
  // (shard 3 holds BF16 e before the F16 tensors d and f).
  auto ckpt = fw::open_checkpoint(dir, nullptr);
  std::vector<std::string> names;
  for (const fw::TensorMeta &m : ckpt->tensors()) names.push_back(m.name);
  EXPECT_EQ(names, (std::vector<std::string>{"c", "a", "b", "e", "d", "f"}));
  const at::Tensor b = ckpt->load_f32("b");
  EXPECT_EQ(b.sizes().vec(), (std::vector<int64_t>{2, 5}));
  for (int i = 0; i < 10; ++i) EXPECT_EQ(b.data_ptr<float>()[i], -0.25f * i);
  const at::Tensor c = ckpt->load_f32("c");
  for (int i = 0; i < 50; ++i) EXPECT_EQ(c.data_ptr<float>()[i], 1.0f + i);
  const at::Tensor d = ckpt->load_f32("d");
  for (int i = 0; i < 15; ++i) EXPECT_EQ(d.data_ptr<float>()[i], 0.125f * i);
  const at::Tensor e = ckpt->load_f32("e");
  for (int i = 0; i < 25; ++i) EXPECT_EQ(e.data_ptr<float>()[i], -2.0f * i);
  const at::Tensor f = ckpt->load_f32("f");
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(f.data_ptr<float>()[i], fwtest::f16_to_f32(fwtest::f32_to_f16(1.0f / (i + 1))));
  }
}

TEST(ShardedWriter, EverythingFitsInOneShard) {
  const std::string dir = fwtest::temp_dir("sharded");
  Pool pool;
  fw::write_sharded(dir, pool.tensors(), {}, 5000000000ull);
  EXPECT_EQ(list_dir(dir), (std::set<std::string>{"model-00001-of-00001.safetensors",
                                                  "model.safetensors.index.json"}));
  // Exactly the single-file writer's bytes.
  fw::write_safetensors(dir + "/single.safetensors", pool.tensors(), {});
  EXPECT_EQ(fwtest::read_bytes(dir + "/model-00001-of-00001.safetensors"),
            fwtest::read_bytes(dir + "/single.safetensors"));
}

TEST(ShardedWriter, ExactFitStaysInOneShard) {
  const std::string dir = fwtest::temp_dir("sharded");
  const std::vector<float> v(25, 1.0f);
  // 100 + 100 bytes with a 200-byte limit: one shard; 201 bytes would not fit.
  fw::write_sharded(
      dir + "/fit",
      {{"x", DType::F32, {25}, v.data(), 100}, {"y", DType::F32, {25}, v.data(), 100}}, {}, 200);
  EXPECT_EQ(list_dir(dir + "/fit").count("model-00001-of-00001.safetensors"), 1u);
  fw::write_sharded(
      dir + "/split",
      {{"x", DType::F32, {25}, v.data(), 100}, {"y", DType::F32, {25}, v.data(), 100}}, {}, 199);
  EXPECT_EQ(list_dir(dir + "/split").count("model-00002-of-00002.safetensors"), 1u);
}

TEST(ShardedWriter, BadArguments) {
  const std::string dir = fwtest::temp_dir("sharded");
  Pool pool;
  iotest::expect_error([&] { fw::write_sharded(dir + "/x", pool.tensors(), {}, 0); },
                       FW_ERR_INVALID_ARGUMENT, "max_shard_bytes");
  fwtest::write_bytes(dir + "/file", {1});
  iotest::expect_error([&] { fw::write_sharded(dir + "/file/out", pool.tensors(), {}, 100); },
                       FW_ERR_IO, "file is not a directory");
  iotest::expect_error([&] { fw::write_sharded(dir + "/file", pool.tensors(), {}, 100); },
                       FW_ERR_IO, "not a directory");
  EXPECT_EQ(list_dir(dir), std::set<std::string>{"file"});
}

TEST(ShardedWriter, FailureRemovesEverythingCreated) {
  // The shard holding c (written second) cannot be written (RLIMIT_FSIZE): no shard, no index, and
  // the folder the writer created is gone again.
  const std::string root = fwtest::temp_dir("sharded");
  const std::vector<uint8_t> small(1000, 1), big(200000, 2);
  const std::vector<OutTensor> tensors = {{"a", DType::U8, {1000}, small.data(), 1000},
                                          {"b", DType::U8, {1000}, small.data(), 1000},
                                          {"c", DType::U8, {200000}, big.data(), 200000}};
  bool threw = false;
  {
    const iotest::FileSizeLimit limit(100000);
    try {
      fw::write_sharded(root + "/new/out", tensors, {}, 1500);
    } catch (const fw::Error &e) {
      threw = fw::capi::to_public(e.code()) == FW_ERR_IO;
    }
  }
  EXPECT_TRUE(threw);
  EXPECT_TRUE(list_dir(root).empty());
}

// ---- index defects ------------------------------------------------------------------------

class IndexDefects : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fwtest::temp_dir("index");
    fwtest::write_safetensors(dir_ + "/s1.safetensors", {{"a", {2}, {1, 2}}});
    fwtest::write_safetensors(dir_ + "/s2.safetensors", {{"b", {1}, {3}}, {"b2", {1}, {4}}});
    fwtest::write_safetensors(dir_ + "/s3.safetensors", {{"a", {2}, {5, 6}}, {"x", {1}, {7}}});
    fwtest::write_bytes(dir_ + "/s4.safetensors", {1, 2, 3});
  }
  void expect(const std::string &index, fw_status code, const std::string &defect) {
    SCOPED_TRACE(index);
    write_text(dir_ + "/model.safetensors.index.json", index);
    iotest::expect_error([&] { fw::open_checkpoint(dir_, nullptr); }, code, defect);
  }
  std::string dir_;
};

TEST_F(IndexDefects, ValidIndexOpens) {
  write_text(dir_ + "/model.safetensors.index.json",
             R"({"metadata":{"total_size":16},"weight_map":{"a":"s1.safetensors",)"
             R"("b":"s2.safetensors","b2":"s2.safetensors"}})");
  auto ckpt = fw::open_checkpoint(dir_, nullptr);
  ASSERT_EQ(ckpt->tensors().size(), 3u);
  EXPECT_EQ(ckpt->load_f32("b2").item<float>(), 4.0f);
}

TEST_F(IndexDefects, EachDefectHasItsName) {
  const std::string ok_map = R"("a":"s1.safetensors","b":"s2.safetensors","b2":"s2.safetensors")";
  expect("{", FW_ERR_FORMAT, "[index_not_json]");
  expect("{\"weight_map\":{\"\xfe\":1}}", FW_ERR_FORMAT, "[index_not_utf8]");
  expect("[]", FW_ERR_FORMAT, "[index_not_object]");
  expect(R"({"metadata":{}})", FW_ERR_FORMAT, "[index_weight_map_invalid]");
  expect(R"({"weight_map":[]})", FW_ERR_FORMAT, "[index_weight_map_invalid]");
  expect(R"({"weight_map":{"a":1}})", FW_ERR_FORMAT, "[index_weight_map_invalid]");
  expect(R"({"weight_map":{}})", FW_ERR_FORMAT, "[index_empty]");
  expect(R"({"metadata":[],"weight_map":{)" + ok_map + "}}", FW_ERR_FORMAT,
         "[index_metadata_invalid]");
  expect(R"({"metadata":{"total_size":"16"},"weight_map":{)" + ok_map + "}}", FW_ERR_FORMAT,
         "[index_metadata_invalid]");
  expect(R"({"weight_map":{"a":"s1.safetensors"},"weight_map":{)" + ok_map + "}}", FW_ERR_FORMAT,
         "[index_duplicate_name]");
  expect(R"({"weight_map":{"a":"s1.safetensors","a":"s1.safetensors"}})", FW_ERR_FORMAT,
         "[index_duplicate_field]");
  expect(R"({"weight_map":{"a":"../s1.safetensors"}})", FW_ERR_FORMAT,
         "[index_shard_path_invalid]");
  expect(R"({"weight_map":{"a":"/etc/passwd"}})", FW_ERR_FORMAT, "[index_shard_path_invalid]");
  expect(R"({"weight_map":{)" + ok_map + R"(,"z":"s9.safetensors"}})", FW_ERR_FORMAT,
         "[index_shard_missing]");
  expect(R"({"weight_map":{)" + ok_map + R"(,"c":"s2.safetensors"}})", FW_ERR_FORMAT,
         "[index_tensor_missing]");
  expect(R"({"weight_map":{"a":"s1.safetensors","b":"s2.safetensors"}})", FW_ERR_FORMAT,
         "[index_tensor_unlisted]");
  expect(R"({"weight_map":{"a":"s1.safetensors","b":"s1.safetensors","b2":"s2.safetensors"}})",
         FW_ERR_FORMAT, "[index_wrong_shard]");
  expect(R"({"weight_map":{)" + ok_map + R"(,"x":"s3.safetensors"}})", FW_ERR_FORMAT,
         "[index_duplicate_tensor]");
  // A broken shard reports its own defect, prefixed with the folder.
  expect(R"({"weight_map":{)" + ok_map + R"(,"z":"s4.safetensors"}})", FW_ERR_FORMAT,
         "[file_too_short]");
  expect(R"({"weight_map":{)" + ok_map + R"(,"z":"s4.safetensors"}})", FW_ERR_FORMAT,
         "shard of " + dir_);
}

// Nesting is bounded while parsing (see MalformedFile.DeeplyNestedHeader...): error messages and
// copies of a value nested a million deep would recurse that deep.
TEST_F(IndexDefects, DeeplyNestedIndexIsAFormatError) {
  const std::string deep = std::string(1000000, '[') + std::string(1000000, ']');
  expect(R"({"weight_map":)" + deep + "}", FW_ERR_FORMAT, "[index_too_deep]");
  expect(R"({"metadata":{"total_size":)" + deep + "}}", FW_ERR_FORMAT, "[index_too_deep]");
}

}  // namespace
