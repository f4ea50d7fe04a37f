// fw_export_options.hf_folder: fw_solver_export and fw_merge write a Hugging Face model folder (the
// weights as the plain export writes them, the base folder's config and tokenizer files, a model
// card), atomically, and refuse a target that is not new or empty.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "capi_fixture.h"
#include "fwmerge.h"
#include "test_support.h"

namespace {

void write_text(const std::string &path, const std::string &text) {
  std::ofstream(path, std::ios::binary) << text;
}

std::string slurp(const std::string &path) {
  const std::vector<uint8_t> bytes = fwtest::read_bytes(path);
  return std::string(bytes.begin(), bytes.end());
}

bool has_temp(const std::string &dir) {
  for (const std::string &name : capi::list_dir(dir))
    if (name.find(".tmp-") != std::string::npos) return true;
  return false;
}

// A base folder (model.safetensors + config and tokenizer files + a file that is not copied) and
// two member files; "w" holds 3 floats (12 bytes), "v" 2 (8 bytes).
struct HfFolderTest : ::testing::Test {
  void SetUp() override {
    dir = fwtest::temp_dir("hf_folder");
    base = dir + "/base";
    fs_mkdir(base);
    fwtest::write_safetensors(base + "/model.safetensors",
                              {{"w", {3}, {0, 0, 0}}, {"v", {2}, {1, 1}}});
    write_text(base + "/config.json", "{\"model_type\": \"llama\"}\n");
    write_text(base + "/tokenizer.json", "{\"version\": \"1.0\"}\n");
    write_text(base + "/tokenizer_config.json", "{}\n");
    write_text(base + "/notes.txt", "not a model file\n");  // copied too: every non-weight file
    for (int i = 0; i < 2; ++i) {
      members.push_back(dir + "/m" + std::to_string(i) + ".safetensors");
      const float a = static_cast<float>(i + 1);
      fwtest::write_safetensors(members.back(), {{"w", {3}, {a, 0, 0}}, {"v", {2}, {a, a}}});
    }
    for (const auto &m : members) member_ptrs.push_back(m.c_str());
  }
  static void fs_mkdir(const std::string &path) { ASSERT_EQ(::mkdir(path.c_str(), 0755), 0); }
  capi::SolverPtr solver_at_member(int member) {
    capi::SolverPtr solver = capi::new_solver();
    EXPECT_EQ(fw_solver_set_base(solver.get(), base.c_str()), FW_OK) << fw_last_error();
    for (const char *m : member_ptrs)
      EXPECT_EQ(fw_solver_pool_add(solver.get(), m, nullptr), FW_OK);
    EXPECT_EQ(fw_solver_set_start_member(solver.get(), member), FW_OK) << fw_last_error();
    return solver;
  }
  fw_status merge(const std::string &out, const fw_export_options &opts,
                  const fw_merge_params *params = nullptr) {
    const fw_merge_params linear = fw_default_merge_params(FW_MERGE_METHOD_LINEAR);
    return fw_merge(params ? params : &linear, base.c_str(), member_ptrs.data(), 2, out.c_str(),
                    &opts);
  }
  std::string dir, base;
  std::vector<std::string> members;
  std::vector<const char *> member_ptrs;
};

TEST_F(HfFolderTest, ExportWritesTheWeightsOfThePlainExportSideFilesAndACard) {
  const capi::SolverPtr solver = solver_at_member(1);
  const std::string plain = dir + "/plain.safetensors", out = dir + "/out";
  ASSERT_EQ(fw_solver_export(solver.get(), plain.c_str(), nullptr), FW_OK) << fw_last_error();
  fw_export_options opts = fw_default_export_options();
  opts.hf_folder = 1;
  ASSERT_EQ(fw_solver_export(solver.get(), out.c_str(), &opts), FW_OK) << fw_last_error();
  EXPECT_EQ(capi::list_dir(out),
            (std::vector<std::string>{"README.md", "config.json", "model.safetensors", "notes.txt",
                                      "tokenizer.json", "tokenizer_config.json"}));
  EXPECT_EQ(fwtest::read_bytes(out + "/model.safetensors"), fwtest::read_bytes(plain));
  for (const char *f : {"config.json", "tokenizer.json", "tokenizer_config.json"})
    EXPECT_EQ(slurp(out + "/" + f), slurp(base + "/" + f)) << f;
  const std::string card = slurp(out + "/README.md");
  EXPECT_EQ(card.rfind("---\nbase_model:\n  - \"" + base + "\"\n", 0), 0u) << card;
  EXPECT_NE(card.find("library_name: transformers"), std::string::npos) << card;
  EXPECT_NE(card.find("Frank-Wolfe merging (0 steps) with fwmerge " FW_VERSION_STRING),
            std::string::npos)
      << card;
  // The recipe as the weights' metadata has it, indented.
  const auto recipe = nlohmann::json::parse(
      capi::parse_safetensors(out + "/model.safetensors").metadata().at("fwmerge.recipe"));
  EXPECT_NE(card.find(recipe.dump(2)), std::string::npos) << card;
  EXPECT_FALSE(has_temp(dir));
}

TEST_F(HfFolderTest, ModelsLargerThanAShardGetShardsAndAnIndex) {
  fw_export_options opts = fw_default_export_options();
  opts.hf_folder = 1;
  opts.max_shard_bytes = 12;  // packed in name order: "v" in one shard, "w" fills the next
  const std::string out = dir + "/sharded";
  ASSERT_EQ(merge(out, opts), FW_OK) << fw_last_error();
  EXPECT_EQ(
      capi::list_dir(out),
      (std::vector<std::string>{"README.md", "config.json", "model-00001-of-00002.safetensors",
                                "model-00002-of-00002.safetensors", "model.safetensors.index.json",
                                "notes.txt", "tokenizer.json", "tokenizer_config.json"}));
  const auto index = nlohmann::json::parse(slurp(out + "/model.safetensors.index.json"));
  EXPECT_EQ(index["weight_map"]["v"], "model-00001-of-00002.safetensors");
  EXPECT_EQ(index["weight_map"]["w"], "model-00002-of-00002.safetensors");
  // linear, normalized: the mean of the members.
  EXPECT_EQ(
      capi::decode(
          capi::parse_safetensors(out + "/model-00002-of-00002.safetensors").tensor_bytes("w"),
          "F32"),
      (std::vector<float>{1.5f, 0, 0}));
  // One shard's worth: a bare model.safetensors, no index.
  opts.max_shard_bytes = 1000;
  ASSERT_EQ(merge(dir + "/one", opts), FW_OK) << fw_last_error();
  EXPECT_EQ(capi::list_dir(dir + "/one").size(), 6u);  // card, weights, 4 side files
  EXPECT_EQ(capi::decode(capi::parse_safetensors(dir + "/one/model.safetensors").tensor_bytes("v"),
                         "F32"),
            (std::vector<float>{1.5f, 1.5f}));
}

TEST_F(HfFolderTest, TheHostsCardIsWrittenAsGiven) {
  fw_export_options opts = fw_default_export_options();
  opts.hf_folder = 1;
  opts.model_card = "# my merge\n\nmade by a host\n";
  const std::string out = dir + "/carded";
  ASSERT_EQ(merge(out, opts), FW_OK) << fw_last_error();
  EXPECT_EQ(slurp(out + "/README.md"), "# my merge\n\nmade by a host\n");
  // The default card of a data-free merge names the method.
  opts.model_card = nullptr;
  ASSERT_EQ(merge(dir + "/default", opts), FW_OK) << fw_last_error();
  EXPECT_NE(slurp(dir + "/default/README.md").find("Data-free merge (linear) of 2 models"),
            std::string::npos);
}

TEST_F(HfFolderTest, TargetsThatAreNotNewOrEmptyAreRefusedAndKept) {
  fw_export_options opts = fw_default_export_options();
  opts.hf_folder = 1;
  const std::string busy = dir + "/busy";
  fs_mkdir(busy);
  write_text(busy + "/keep.txt", "mine\n");
  EXPECT_EQ(merge(busy, opts), FW_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(fw_last_error()).find("exists and is not an empty folder"),
            std::string::npos)
      << fw_last_error();
  EXPECT_EQ(capi::list_dir(busy), (std::vector<std::string>{"keep.txt"}));
  const std::string file = dir + "/file";
  write_text(file, "x");
  EXPECT_EQ(merge(file, opts), FW_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(slurp(file), "x");
  const capi::SolverPtr solver = solver_at_member(0);
  EXPECT_EQ(fw_solver_export(solver.get(), busy.c_str(), &opts), FW_ERR_INVALID_ARGUMENT);
  // An empty folder is replaced by the result.
  const std::string empty = dir + "/empty/";
  fs_mkdir(empty);
  ASSERT_EQ(fw_solver_export(solver.get(), empty.c_str(), &opts), FW_OK) << fw_last_error();
  EXPECT_EQ(capi::list_dir(empty).size(), 6u);
  // A card without a folder is a mistake, not ignored.
  fw_export_options card_only = fw_default_export_options();
  card_only.model_card = "card";
  EXPECT_EQ(fw_solver_export(solver.get(), (dir + "/x.safetensors").c_str(), &card_only),
            FW_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(fw_last_error()).find("model_card is set without hf_folder"),
            std::string::npos);
  EXPECT_FALSE(has_temp(dir));
}

int abort_on_third_poll(void *user) { return ++*static_cast<int *>(user) >= 3 ? 1 : 0; }

TEST_F(HfFolderTest, AnAbortedMergeLeavesNothing) {
  fw_export_options opts = fw_default_export_options();
  opts.hf_folder = 1;
  int polls = 0;
  fw_merge_params p = fw_default_merge_params(FW_MERGE_METHOD_LINEAR);
  p.abort = abort_on_third_poll;
  p.abort_user_data = &polls;
  const std::string out = dir + "/aborted";
  EXPECT_EQ(merge(out, opts, &p), FW_ERR_ABORTED);
  EXPECT_GE(polls, 3);
  EXPECT_EQ(capi::list_dir(dir).size(), 3u) << "base, m0, m1 only";
  EXPECT_FALSE(has_temp(dir));
}

TEST_F(HfFolderTest, ABaseFileHasNoSideFilesAndNoBaseModelInTheCard) {
  fw_export_options opts = fw_default_export_options();
  opts.hf_folder = 1;
  const std::string base_file = base + "/model.safetensors", out = dir + "/from_file";
  const fw_merge_params linear = fw_default_merge_params(FW_MERGE_METHOD_LINEAR);
  ASSERT_EQ(fw_merge(&linear, base_file.c_str(), member_ptrs.data(), 2, out.c_str(), &opts), FW_OK)
      << fw_last_error();
  EXPECT_EQ(capi::list_dir(out), (std::vector<std::string>{"README.md", "model.safetensors"}));
  EXPECT_EQ(slurp(out + "/README.md").find("base_model"), std::string::npos);
}

}  // namespace
