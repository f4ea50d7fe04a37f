// Symbolic links in model and adapter folders (io/folder_links.h): a file that links out of the
// folder it was named through is refused, naming the file and its target, unless the host allows
// it; links inside the folder, and a Hugging Face cache snapshot's links into its repository's
// blobs/, keep working. The side files an HF folder export copies follow the same rule.
#include "io/folder_links.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "io/checkpoint.h"
#include "io/hf_folder.h"
#include "io/lora_adapter.h"
#include "io/tensor_set.h"
#include "io_test_util.h"
#include "test_support.h"

namespace {

using iotest::expect_error;

const std::vector<fwtest::TestTensor> kTensors = {
    {"model.q_proj.weight", {3, 4}, std::vector<float>(12, 0.5f)}};

void write_text(const std::string &path, const std::string &text) { std::ofstream(path) << text; }

void link(const std::string &target, const std::string &at) {
  ASSERT_EQ(::symlink(target.c_str(), at.c_str()), 0) << at << " -> " << target;
}

// A file outside every model folder: what a hostile link wants the library to read.
std::string secret_file(const std::string &root) {
  const std::string path = root + "/secret.safetensors";
  fwtest::write_safetensors(path, kTensors);
  return path;
}

TEST(FolderLinks, SingleFileFolderLinkingOutIsRefusedNamingFileAndTarget) {
  const std::string root = fwtest::temp_dir("links_single");
  const std::string secret = secret_file(root);
  const std::string folder = root + "/model";
  ASSERT_EQ(::mkdir(folder.c_str(), 0755), 0);
  link(secret, folder + "/model.safetensors");
  expect_error([&] { fw::open_checkpoint(folder, nullptr); }, FW_ERR_INVALID_ARGUMENT,
               folder + "/model.safetensors points to " + secret);
  expect_error([&] { fw::load_tensor_set(folder, true); }, FW_ERR_INVALID_ARGUMENT, secret);
  // The host's explicit opt-in follows it.
  EXPECT_EQ(fw::open_checkpoint(folder, nullptr, true)->tensors().size(), 1u);
  EXPECT_EQ(fw::load_tensor_set(folder, true, true).tensors.size(), 1u);
}

TEST(FolderLinks, RelativeLinkOutOfTheFolderIsRefused) {
  const std::string root = fwtest::temp_dir("links_relative");
  secret_file(root);
  const std::string folder = root + "/model";
  ASSERT_EQ(::mkdir(folder.c_str(), 0755), 0);
  link("../secret.safetensors", folder + "/model.safetensors");
  expect_error([&] { fw::open_checkpoint(folder, nullptr); }, FW_ERR_INVALID_ARGUMENT,
               "points to ../secret.safetensors");
}

TEST(FolderLinks, LinksInsideTheFolderAreFollowed) {
  const std::string folder = fwtest::temp_dir("links_inside");
  ASSERT_EQ(::mkdir((folder + "/weights").c_str(), 0755), 0);
  fwtest::write_safetensors(folder + "/weights/real.safetensors", kTensors);
  link("weights/real.safetensors", folder + "/model.safetensors");
  EXPECT_EQ(fw::open_checkpoint(folder, nullptr)->tensors().size(), 1u);
}

TEST(FolderLinks, ShardAndIndexLinkingOutAreRefused) {
  const std::string root = fwtest::temp_dir("links_shards");
  const std::string secret = secret_file(root);
  const std::string folder = root + "/sharded";
  ASSERT_EQ(::mkdir(folder.c_str(), 0755), 0);
  const std::string index =
      R"({"metadata": {}, "weight_map": {"model.q_proj.weight": "model-00001-of-00001.safetensors"}})";
  write_text(folder + "/model.safetensors.index.json", index);
  link(secret, folder + "/model-00001-of-00001.safetensors");
  expect_error([&] { fw::open_checkpoint(folder, nullptr); }, FW_ERR_INVALID_ARGUMENT,
               folder + "/model-00001-of-00001.safetensors points to " + secret);
  EXPECT_EQ(fw::open_checkpoint(folder, nullptr, true)->tensors().size(), 1u);

  // The index itself linking out.
  const std::string other = root + "/other";
  ASSERT_EQ(::mkdir(other.c_str(), 0755), 0);
  write_text(root + "/index.json", index);
  link(root + "/index.json", other + "/model.safetensors.index.json");
  fwtest::write_safetensors(other + "/model-00001-of-00001.safetensors", kTensors);
  expect_error([&] { fw::open_checkpoint(other, nullptr); }, FW_ERR_INVALID_ARGUMENT,
               other + "/model.safetensors.index.json points to " + root + "/index.json");
}

TEST(FolderLinks, AdapterFilesLinkingOutAreRefused) {
  const std::string root = fwtest::temp_dir("links_adapter");
  fwtest::write_safetensors(root + "/base.safetensors", kTensors);
  const auto base = fw::open_checkpoint(root + "/base.safetensors", nullptr);
  const std::vector<fwtest::TestTensor> lora = {
      {"base_model.model.model.q_proj.lora_A.weight", {2, 4}, std::vector<float>(8, 0.1f)},
      {"base_model.model.model.q_proj.lora_B.weight", {3, 2}, std::vector<float>(6, 0.2f)}};
  fwtest::write_safetensors(root + "/outside_adapter.safetensors", lora);
  write_text(root + "/outside_config.json", R"({"r": 2, "lora_alpha": 4})");

  const std::string weights_out = root + "/a1";
  ASSERT_EQ(::mkdir(weights_out.c_str(), 0755), 0);
  write_text(weights_out + "/adapter_config.json", R"({"r": 2, "lora_alpha": 4})");
  link(root + "/outside_adapter.safetensors", weights_out + "/adapter_model.safetensors");
  expect_error([&] { fw::open_checkpoint(weights_out, base.get()); }, FW_ERR_INVALID_ARGUMENT,
               weights_out + "/adapter_model.safetensors points to " + root +
                   "/outside_adapter.safetensors");
  expect_error([&] { fw::load_tensor_set(weights_out, true); }, FW_ERR_INVALID_ARGUMENT,
               "adapter_model.safetensors points to");
  EXPECT_NO_THROW(fw::open_lora_adapter(weights_out, base.get(), true));

  const std::string config_out = root + "/a2";
  ASSERT_EQ(::mkdir(config_out.c_str(), 0755), 0);
  link(root + "/outside_config.json", config_out + "/adapter_config.json");
  fwtest::write_safetensors(config_out + "/adapter_model.safetensors", lora);
  expect_error([&] { fw::open_checkpoint(config_out, base.get()); }, FW_ERR_INVALID_ARGUMENT,
               config_out + "/adapter_config.json points to " + root + "/outside_config.json");
}

// The Hugging Face cache: models--ORG--NAME/snapshots/REV/FILE -> ../../blobs/HASH.
TEST(FolderLinks, HuggingFaceCacheSnapshotLinksIntoItsBlobs) {
  const std::string root = fwtest::temp_dir("links_hf_cache");
  const std::string repo = root + "/hub/models--org--tiny";
  ASSERT_EQ(::mkdir((root + "/hub").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(repo.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((repo + "/blobs").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((repo + "/snapshots").c_str(), 0755), 0);
  const std::string snapshot = repo + "/snapshots/0123abcd";
  ASSERT_EQ(::mkdir(snapshot.c_str(), 0755), 0);
  fwtest::write_safetensors(repo + "/blobs/5f3e9a", kTensors);
  write_text(repo + "/blobs/77aa01", R"({"model_type": "tiny"})");
  link("../../blobs/5f3e9a", snapshot + "/model.safetensors");
  link("../../blobs/77aa01", snapshot + "/config.json");
  EXPECT_EQ(fw::open_checkpoint(snapshot, nullptr)->tensors().size(), 1u);
  // Named through a trailing slash, or through a link to the snapshot: the same folder.
  EXPECT_EQ(fw::open_checkpoint(snapshot + "/", nullptr)->tensors().size(), 1u);
  link(snapshot, root + "/tiny");
  EXPECT_EQ(fw::open_checkpoint(root + "/tiny", nullptr)->tensors().size(), 1u);
  EXPECT_NO_THROW(fw::check_inside_folder(snapshot, snapshot + "/config.json", false));

  // Out of the cached repository (another repository's blob, or anywhere else): refused.
  const std::string other = root + "/hub/models--org--other/blobs";
  ASSERT_EQ(::mkdir((root + "/hub/models--org--other").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(other.c_str(), 0755), 0);
  fwtest::write_safetensors(other + "/99", kTensors);
  const std::string snapshot2 = repo + "/snapshots/feed";
  ASSERT_EQ(::mkdir(snapshot2.c_str(), 0755), 0);
  link("../../../models--org--other/blobs/99", snapshot2 + "/model.safetensors");
  expect_error([&] { fw::open_checkpoint(snapshot2, nullptr); }, FW_ERR_INVALID_ARGUMENT,
               "outside the folder " + snapshot2 + " and its cached repository");

  // A folder that only looks like a snapshot (its grandparent is not a models-- repository) gets
  // no such allowance.
  const std::string fake = root + "/upload/snapshots/rev";
  ASSERT_EQ(::mkdir((root + "/upload").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((root + "/upload/snapshots").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(fake.c_str(), 0755), 0);
  fwtest::write_safetensors(root + "/upload/blob", kTensors);
  link("../../blob", fake + "/model.safetensors");
  expect_error([&] { fw::open_checkpoint(fake, nullptr); }, FW_ERR_INVALID_ARGUMENT,
               "points to ../../blob");
}

fw::OutputLayout hf_layout(const std::string &base, bool allow) {
  fw::OutputLayout layout;
  layout.hf_folder = true;
  layout.card_given = true;
  layout.model_card = "card";
  layout.base_path = base;
  layout.allow_outside_links = allow;
  return layout;
}

void write_one(const std::string &target, const fw::OutputLayout &layout) {
  const std::vector<float> w(12, 1.0f);
  const std::vector<fw::OutTensor> out = {
      {"model.q_proj.weight", fw::DType::F32, {3, 4}, w.data(), 48}};
  const fw::TensorProducer produce = [&w](size_t, const fw::ByteEmitter &emit) {
    emit(w.data(), w.size() * sizeof(float));
  };
  fw::write_output(target, out, {{"format", "pt"}}, produce, fw::Poll(), layout,
                   [] { return std::string("card"); });
}

// `fwmerge merge` copies the base folder's config and tokenizer files into OUT_DIR: one that links
// out of the base folder would publish a file of the host's.
TEST(FolderLinks, SideFileLinkingOutOfTheBaseIsNotCopied) {
  const std::string root = fwtest::temp_dir("links_side");
  write_text(root + "/passwd", "root:x:0:0:root:/root:/bin/bash\n");
  const std::string base = root + "/base";
  ASSERT_EQ(::mkdir(base.c_str(), 0755), 0);
  fwtest::write_safetensors(base + "/model.safetensors", kTensors);
  write_text(base + "/tokenizer.json", "{}");
  link(root + "/passwd", base + "/config.json");
  expect_error([&] { write_one(root + "/out", hf_layout(base, false)); }, FW_ERR_INVALID_ARGUMENT,
               base + "/config.json points to " + root + "/passwd");
  EXPECT_FALSE(iotest::file_exists(root + "/out"));
  EXPECT_EQ(fwtest::list_dir(root), (std::set<std::string>{"passwd", "base"}));  // no temp folder

  // Allowed: copied as before, with the other side files.
  write_one(root + "/out2", hf_layout(base, true));
  EXPECT_EQ(
      fwtest::list_dir(root + "/out2"),
      (std::set<std::string>{"config.json", "tokenizer.json", "model.safetensors", "README.md"}));
  // A side file linking inside the base is copied without the opt-in.
  ASSERT_EQ(::unlink((base + "/config.json").c_str()), 0);
  write_text(base + "/config.real", R"({"a": 1})");
  link("config.real", base + "/config.json");
  write_one(root + "/out3", hf_layout(base, false));
  EXPECT_EQ(fwtest::read_bytes(root + "/out3/config.json").size(), 8u);
}

}  // namespace
