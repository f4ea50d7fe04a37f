// open_checkpoint layouts, check_compatible errors, the in-memory checkpoint, and page release.
#include "io/checkpoint.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>

#include "io/safetensors_writer.h"
#include "io_test_util.h"
#include "test_support.h"

namespace {

void write_text(const std::string &path, const std::string &text) {
  fwtest::write_bytes(path, std::vector<uint8_t>(text.begin(), text.end()));
}

TEST(OpenCheckpoint, FileFolderAndErrors) {
  const std::string dir = fwtest::temp_dir("open");
  fwtest::write_safetensors(dir + "/x.safetensors", {{"w", {2}, {1, 2}}});
  EXPECT_EQ(fw::open_checkpoint(dir + "/x.safetensors", nullptr)->tensors().size(), 1u);

  ASSERT_EQ(::mkdir((dir + "/hf").c_str(), 0755), 0);
  fwtest::write_safetensors(dir + "/hf/model.safetensors", {{"w", {2}, {3, 4}}});
  write_text(dir + "/hf/config.json", "{}");
  auto folder = fw::open_checkpoint(dir + "/hf", nullptr);
  EXPECT_EQ(folder->path(), dir + "/hf");
  EXPECT_EQ(folder->load_f32("w").data_ptr<float>()[1], 4.0f);

  iotest::expect_error([&] { fw::open_checkpoint(dir + "/absent", nullptr); }, FW_ERR_IO,
                       "No such file or directory");
  ASSERT_EQ(::mkdir((dir + "/empty").c_str(), 0755), 0);
  iotest::expect_error([&] { fw::open_checkpoint(dir + "/empty", nullptr); }, FW_ERR_FORMAT,
                       "[folder_no_checkpoint]");
  write_text(dir + "/notes.txt", "hello, world");
  iotest::expect_error([&] { fw::open_checkpoint(dir + "/notes.txt", nullptr); }, FW_ERR_FORMAT,
                       "[header_too_large]");
}

TEST(OpenCheckpoint, AdapterFolderIsNotReadAsAModel) {
  // adapter_config.json wins over model files: the folder goes to open_lora_adapter, which needs
  // a base (with model.safetensors read as a model, this would open without error).
  const std::string dir = fwtest::temp_dir("open");
  write_text(dir + "/adapter_config.json", "{}");
  fwtest::write_safetensors(dir + "/model.safetensors", {{"w", {2}, {1, 2}}});
  iotest::expect_error([&] { fw::open_checkpoint(dir, nullptr); }, FW_ERR_INVALID_ARGUMENT, "");
}

class Compatible : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = fwtest::temp_dir("compat"); }
  std::unique_ptr<fw::Checkpoint> make(const std::string &name,
                                       const std::vector<fwtest::TestTensor> &tensors) {
    fwtest::write_safetensors(dir_ + "/" + name, tensors);
    return fw::open_checkpoint(dir_ + "/" + name, nullptr);
  }
  std::string dir_;
};

TEST_F(Compatible, ErrorsNameTensorShapesAndDtypes) {
  auto base = make("base.safetensors", {{"a", {2, 3}, std::vector<float>(6, 1), "F32"},
                                        {"b", {4}, std::vector<float>(4, 1), "F16"}});
  auto same = make("same.safetensors", {{"b", {4}, std::vector<float>(4, 2), "F16"},
                                        {"a", {2, 3}, std::vector<float>(6, 2), "F32"}});
  EXPECT_NO_THROW(fw::check_compatible(*base, *same));

  auto missing = make("missing.safetensors", {{"a", {2, 3}, std::vector<float>(6, 1), "F32"}});
  iotest::expect_error([&] { fw::check_compatible(*base, *missing); }, FW_ERR_NAME_MISMATCH,
                       "lacks tensor \"b\"");
  auto extra = make("extra.safetensors", {{"a", {2, 3}, std::vector<float>(6, 1), "F32"},
                                          {"b", {4}, std::vector<float>(4, 1), "F16"},
                                          {"c", {1}, {1}, "F32"}});
  iotest::expect_error([&] { fw::check_compatible(*base, *extra); }, FW_ERR_NAME_MISMATCH,
                       "has tensor \"c\"");
  auto shape = make("shape.safetensors", {{"a", {3, 2}, std::vector<float>(6, 1), "F32"},
                                          {"b", {4}, std::vector<float>(4, 1), "F16"}});
  iotest::expect_error([&] { fw::check_compatible(*base, *shape); }, FW_ERR_SHAPE_MISMATCH,
                       "tensor \"a\": shape [3, 2] in pool member " + dir_ +
                           "/shape.safetensors but [2, 3] in base");
  auto dtype = make("dtype.safetensors", {{"a", {2, 3}, std::vector<float>(6, 1), "F32"},
                                          {"b", {4}, std::vector<float>(4, 1), "BF16"}});
  iotest::expect_error(
      [&] { fw::check_compatible(*base, *dtype); }, FW_ERR_DTYPE_MISMATCH,
      "tensor \"b\": dtype BF16 in pool member " + dir_ + "/dtype.safetensors but F16 in base");
}

TEST_F(Compatible, NonMergeableDtypeIsUnsupported) {
  const std::vector<uint8_t> ids =
      iotest::raw_file("{\"ids\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8);
  fwtest::write_bytes(dir_ + "/i1.safetensors", ids);
  fwtest::write_bytes(dir_ + "/i2.safetensors", ids);
  auto a = fw::open_checkpoint(dir_ + "/i1.safetensors", nullptr);
  auto b = fw::open_checkpoint(dir_ + "/i2.safetensors", nullptr);
  iotest::expect_error([&] { fw::check_compatible(*a, *b); }, FW_ERR_UNSUPPORTED,
                       "tensor \"ids\": dtype I32");
}

TEST(InMemory, HoldsFp32TensorsInGivenOrder) {
  std::vector<fw::InMemoryCheckpoint::Entry> entries;
  entries.push_back({"z", at::arange(6, at::kDouble).reshape({2, 3}), fw::DType::BF16});
  entries.push_back({"a", at::full({}, 2.5f), fw::DType::F32});
  fw::InMemoryCheckpoint ckpt(std::move(entries), "start point");
  ASSERT_EQ(ckpt.tensors().size(), 2u);
  EXPECT_EQ(ckpt.tensors()[0].name, "z");
  EXPECT_EQ(ckpt.tensors()[0].dtype, fw::DType::BF16);
  EXPECT_EQ(ckpt.tensors()[0].shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(ckpt.tensors()[0].numel, 6);
  EXPECT_EQ(ckpt.tensors()[1].numel, 1);
  EXPECT_EQ(ckpt.find("a"), &ckpt.tensors()[1]);
  EXPECT_EQ(ckpt.find("q"), nullptr);
  const at::Tensor z = ckpt.load_f32("z");
  EXPECT_EQ(z.scalar_type(), at::kFloat);
  EXPECT_EQ(z.data_ptr<float>()[5], 5.0f);
  EXPECT_EQ(ckpt.load_f32("a").item<float>(), 2.5f);
  EXPECT_EQ(ckpt.path(), "start point");
  iotest::expect_error([&] { ckpt.load_f32("q"); }, FW_ERR_NAME_MISMATCH, "\"q\"");

  std::vector<fw::InMemoryCheckpoint::Entry> dup;
  dup.push_back({"a", at::zeros({1}), fw::DType::F32});
  dup.push_back({"a", at::zeros({1}), fw::DType::F32});
  iotest::expect_error([&] { fw::InMemoryCheckpoint(std::move(dup), "dup"); },
                       FW_ERR_INVALID_ARGUMENT, "appears twice");
}

// Tensors are read into fresh memory (nothing is mapped): dropping one gives its memory back.
TEST(Release, RssReturnsAfterA64MiBTensorIsDropped) {
#if defined(__SANITIZE_ADDRESS__)
  // The sanitizer build (FWMERGE_SANITIZE): ASan's allocator keeps freed blocks in a quarantine
  // (to catch use after free), so the RSS would measure ASan, not the library.
  GTEST_SKIP() << "ASan quarantines freed memory";
#endif
  const std::string path = fwtest::temp_dir("release") + "/big.safetensors";
  const int64_t n = 16 * 1024 * 1024;  // 64 MiB of F32
  {
    std::vector<float> values(static_cast<size_t>(n), 0.5f);
    fw::write_safetensors(path, {{"w", fw::DType::F32, {n}, values.data(), uint64_t(n) * 4}}, {});
  }
  auto ckpt = fw::open_checkpoint(path, nullptr);
  const uint64_t before = fwtest::current_rss_bytes();
  uint64_t loaded = 0;
  {
    const at::Tensor w = ckpt->load_f32("w");
    EXPECT_EQ(w.sum().item<double>(), 0.5 * static_cast<double>(n));  // touches every page
    loaded = fwtest::current_rss_bytes();
  }
  EXPECT_GT(loaded, before + 60 * 1024 * 1024);
  const uint64_t released = fwtest::current_rss_bytes();
  EXPECT_LT(released, before + 8 * 1024 * 1024)
      << "before " << before << " loaded " << loaded << " released " << released;
  std::printf("RSS MiB: before %.1f, loaded %.1f, released %.1f\n", before / 1048576.0,
              loaded / 1048576.0, released / 1048576.0);
  EXPECT_EQ(ckpt->load_f32("w").sum().item<double>(), 0.5 * static_cast<double>(n));
  EXPECT_LT(fwtest::current_rss_bytes(), before + 8 * 1024 * 1024);
}

}  // namespace
