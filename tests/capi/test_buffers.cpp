// Real checkpoints as users have them (issue 31): a BERT / sentence-transformers base folder holds
// an integer buffer (embeddings.position_ids, I64) that fine-tunes saved by transformers 5 lack.
// Every data-free method and an FW merge take it from the base, byte for byte in its own dtype,
// and list it in the export's recipe; a member that has it must have the base's; the output
// folder carries the base's non-weight files, subfolders included. A member lacking a floating
// tensor is refused by default and, with fill_missing_from_base, reads it from the base (a zero
// task vector there), listed in the recipe and the model card. Everything through fwmerge.h,
// outputs read back with fw_load_tensors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "capi_fixture.h"

namespace fs = std::filesystem;

namespace {

const std::vector<int64_t> kPositions = {0, 1, 2, 3};

// Every data-free method of fw_merge.
const fw_merge_method kDataFreeMethods[] = {
    FW_MERGE_METHOD_LINEAR,      FW_MERGE_METHOD_TASK_ARITHMETIC, FW_MERGE_METHOD_TIES,
    FW_MERGE_METHOD_DARE_LINEAR, FW_MERGE_METHOD_DARE_TIES,       FW_MERGE_METHOD_BREADCRUMBS,
    FW_MERGE_METHOD_MODEL_STOCK, FW_MERGE_METHOD_BREADCRUMBS_TIES};

struct Model {
  std::vector<float> embed;        // embeddings.word_embeddings.weight [2, 3]
  std::vector<float> query;        // encoder.layer.0.attention.self.query.weight [3]
  std::vector<int64_t> positions;  // empty: no embeddings.position_ids
};

const std::vector<int64_t> kEmbedShape = {2, 3}, kQueryShape = {3}, kPositionShape = {1, 4};

// A view of `data` (zeroed reserved words); ndim and numel from `shape`, which must outlive it.
fw_tensor view(const char *name, fw_dtype dtype, const std::vector<int64_t> &shape,
               const void *data) {
  fw_tensor t;
  std::memset(&t, 0, sizeof t);
  t.name = name;
  t.dtype = dtype;
  t.ndim = static_cast<int32_t>(shape.size());
  t.shape = shape.data();
  t.numel = 1;
  for (int64_t d : shape) t.numel *= d;
  t.data = const_cast<void *>(data);
  return t;
}

void save(const std::string &path, const Model &m) {
  std::vector<fw_tensor> t = {
      view("embeddings.word_embeddings.weight", FW_DTYPE_F32, kEmbedShape, m.embed.data())};
  if (!m.positions.empty())
    t.push_back(view("embeddings.position_ids", FW_DTYPE_I64, kPositionShape, m.positions.data()));
  t.push_back(view("encoder.layer.0.attention.self.query.weight", FW_DTYPE_F32, kQueryShape,
                   m.query.data()));
  ASSERT_EQ(fw_save_tensors(path.c_str(), t.data(), t.size(), FW_DTYPE_DEFAULT, nullptr, 0), FW_OK)
      << fw_last_error();
}

void write_text(const fs::path &path, const std::string &text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

struct Loaded {
  std::map<std::string, std::vector<float>> floats;
  std::map<std::string, std::vector<int64_t>> ints;
  std::map<std::string, fw_dtype> dtypes;
  std::map<std::string, std::string> metadata;
};

Loaded load(const std::string &path) {
  Loaded out;
  fw_tensor_set *set = nullptr;
  EXPECT_EQ(fw_load_tensors(path.c_str(), 0, &set), FW_OK) << fw_last_error();
  for (size_t i = 0; i < fw_tensor_set_count(set); ++i) {
    fw_tensor t{};
    EXPECT_EQ(fw_tensor_set_get(set, i, &t), FW_OK);
    out.dtypes[t.name] = t.dtype;
    if (t.dtype == FW_DTYPE_I64) {
      const auto *v = static_cast<const int64_t *>(t.data);
      out.ints[t.name].assign(v, v + t.numel);
    } else if (t.dtype == FW_DTYPE_F32) {
      const auto *v = static_cast<const float *>(t.data);
      out.floats[t.name].assign(v, v + t.numel);
    }
  }
  for (size_t i = 0; i < fw_tensor_set_metadata_count(set); ++i) {
    const char *k = nullptr, *v = nullptr;
    EXPECT_EQ(fw_tensor_set_metadata(set, i, &k, &v), FW_OK);
    out.metadata[k] = v;
  }
  fw_tensor_set_free(set);
  return out;
}

class Buffers : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fwtest::temp_dir("buffers");
    base_ = dir_ + "/base";
    fs::create_directories(base_);
    save(base_ + "/model.safetensors", {{0, 0, 0, 0, 0, 0}, {0, 0, 0}, kPositions});
    // A sentence-transformers folder: config, tokenizer, its own side files, a pooling subfolder,
    // and an exported copy of the base's weights (onnx/) that a merge must not pass off as its own.
    write_text(base_ + "/config.json", "{\"model_type\": \"bert\"}\n");
    write_text(base_ + "/tokenizer.json", "{\"version\": \"1.0\"}\n");
    write_text(base_ + "/modules.json",
               "[{\"idx\": 0, \"path\": \"\"}, {\"idx\": 1, \"path\": \"1_Pooling\"}]\n");
    write_text(base_ + "/sentence_bert_config.json", "{\"max_seq_length\": 256}\n");
    write_text(base_ + "/config_sentence_transformers.json", "{\"prompts\": {}}\n");
    write_text(base_ + "/1_Pooling/config.json", "{\"pooling_mode_mean_tokens\": true}\n");
    write_text(base_ + "/onnx/model.onnx", "stale weights");
    write_text(base_ + "/pytorch_model.bin", "stale weights");
    // Fine-tunes saved without the buffer (tau: embed, query), and one that kept the base's.
    save(dir_ + "/m0.safetensors", {{1, 2, 3, 4, 5, 6}, {1, 0, -1}, {}});
    save(dir_ + "/m1.safetensors", {{-1, 0, 1, 0, -1, 2}, {2, 2, 2}, {}});
    save(dir_ + "/m2.safetensors", {{0, 1, 0, 1, 0, 1}, {0, 0, 4}, kPositions});
    pool_ = {dir_ + "/m0.safetensors", dir_ + "/m1.safetensors", dir_ + "/m2.safetensors"};
  }
  std::vector<const char *> pool() const {
    std::vector<const char *> p;
    for (const std::string &s : pool_) p.push_back(s.c_str());
    return p;
  }
  std::string dir_, base_;
  std::vector<std::string> pool_;
};

TEST_F(Buffers, EveryDataFreeMethodTakesTheBufferFromTheBase) {
  for (fw_merge_method method : kDataFreeMethods) {
    SCOPED_TRACE(static_cast<int>(method));
    fw_merge_params p = fw_default_merge_params(method);
    p.scaling = 1.0;
    const std::string out = dir_ + "/out_" + std::to_string(static_cast<int>(method));
    fw_export_options o = fw_default_export_options();
    o.hf_folder = 1;
    const auto members = pool();
    ASSERT_EQ(fw_merge(&p, base_.c_str(), members.data(), members.size(), out.c_str(), &o), FW_OK)
        << fw_last_error();
    const Loaded got = load(out);
    EXPECT_EQ(got.ints.at("embeddings.position_ids"), kPositions);
    EXPECT_EQ(got.dtypes.at("embeddings.position_ids"), FW_DTYPE_I64);
    EXPECT_EQ(got.floats.size(), 2u);
    const std::string recipe = got.metadata.at("fwmerge.recipe");
    EXPECT_NE(recipe.find("\"from_base\":[\"embeddings.position_ids\"]"), std::string::npos)
        << recipe;
    if (method == FW_MERGE_METHOD_TASK_ARITHMETIC) {  // base 0, scaling 1: the sum of the members
      EXPECT_EQ(got.floats.at("encoder.layer.0.attention.self.query.weight"),
                (std::vector<float>{3, 2, 5}));
      EXPECT_EQ(got.floats.at("embeddings.word_embeddings.weight"),
                (std::vector<float>{0, 3, 4, 5, 4, 9}));
    }
  }
}

TEST_F(Buffers, TheOutputFolderCarriesTheBasesNonWeightFiles) {
  fw_merge_params p = fw_default_merge_params(FW_MERGE_METHOD_LINEAR);
  fw_export_options o = fw_default_export_options();
  o.hf_folder = 1;
  const std::string out = dir_ + "/out";
  const auto members = pool();
  ASSERT_EQ(fw_merge(&p, base_.c_str(), members.data(), members.size(), out.c_str(), &o), FW_OK)
      << fw_last_error();
  for (const char *file : {"config.json", "tokenizer.json", "modules.json",
                           "sentence_bert_config.json", "config_sentence_transformers.json",
                           "1_Pooling/config.json", "model.safetensors", "README.md"})
    EXPECT_TRUE(fs::is_regular_file(fs::path(out) / file)) << file;
  std::ifstream pooling(fs::path(out) / "1_Pooling" / "config.json");
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(pooling), {}),
            "{\"pooling_mode_mean_tokens\": true}\n");
  // The base's other weight files would be the base's model under the merge's name.
  EXPECT_FALSE(fs::exists(fs::path(out) / "onnx"));
  EXPECT_FALSE(fs::exists(fs::path(out) / "pytorch_model.bin"));
}

TEST_F(Buffers, AnFwMergeTakesTheBufferFromTheBase) {
  capi::SolverPtr solver = capi::new_solver();
  ASSERT_EQ(fw_solver_set_base(solver.get(), base_.c_str()), FW_OK) << fw_last_error();
  for (const std::string &m : pool_)
    ASSERT_EQ(fw_solver_pool_add(solver.get(), m.c_str(), nullptr), FW_OK) << fw_last_error();
  capi::Quadratic q;
  q.target["encoder.layer.0.attention.self.query.weight"] = {1, 0, -1};
  ASSERT_EQ(fw_solver_set_objective_callback(solver.get(), capi::quadratic_callback, &q), FW_OK);
  fw_step_info info = capi::blank_info();
  ASSERT_EQ(fw_solver_step(solver.get(), &info), FW_OK) << fw_last_error();
  // The objective sees the floating tensors only.
  const fw_tensor *views = nullptr;
  size_t n = 0;
  ASSERT_EQ(fw_solver_current(solver.get(), &views, &n), FW_OK);
  EXPECT_EQ(n, 2u);
  fw_export_options o = fw_default_export_options();
  o.hf_folder = 1;
  const std::string out = dir_ + "/fw_out";
  ASSERT_EQ(fw_solver_export(solver.get(), out.c_str(), &o), FW_OK) << fw_last_error();
  const Loaded got = load(out);
  EXPECT_EQ(got.ints.at("embeddings.position_ids"), kPositions);
  EXPECT_NE(got.metadata.at("fwmerge.recipe").find("\"from_base\":[\"embeddings.position_ids\"]"),
            std::string::npos);
  EXPECT_TRUE(fs::is_regular_file(fs::path(out) / "1_Pooling" / "config.json"));
}

TEST_F(Buffers, AMemberWhoseBufferDiffersIsRefusedNamingIt) {
  save(dir_ + "/bad.safetensors", {{1, 1, 1, 1, 1, 1}, {1, 1, 1}, {0, 1, 2, 7}});
  const std::string bad = dir_ + "/bad.safetensors";
  capi::SolverPtr solver = capi::new_solver();
  ASSERT_EQ(fw_solver_set_base(solver.get(), base_.c_str()), FW_OK) << fw_last_error();
  EXPECT_EQ(fw_solver_pool_add(solver.get(), bad.c_str(), nullptr), FW_ERR_NAME_MISMATCH);
  const std::string message = fw_last_error();
  EXPECT_NE(message.find("embeddings.position_ids"), std::string::npos) << message;
  EXPECT_NE(message.find("bad.safetensors"), std::string::npos) << message;
  EXPECT_EQ(fw_solver_pool_size(solver.get()), 0u);

  fw_merge_params p = fw_default_merge_params(FW_MERGE_METHOD_TASK_ARITHMETIC);
  const char *members[] = {pool_[0].c_str(), bad.c_str()};
  EXPECT_EQ(fw_merge(&p, base_.c_str(), members, 2, (dir_ + "/never.safetensors").c_str(), nullptr),
            FW_ERR_NAME_MISMATCH);
  EXPECT_FALSE(fs::exists(dir_ + "/never.safetensors"));
}

TEST_F(Buffers, AFloatTensorMissingFromAMemberIsStillAnErrorNamingBoth) {
  const std::vector<float> q = {1, 2, 3};
  const fw_tensor t =
      view("encoder.layer.0.attention.self.query.weight", FW_DTYPE_F32, kQueryShape, q.data());
  const std::string partial = dir_ + "/partial.safetensors";
  ASSERT_EQ(fw_save_tensors(partial.c_str(), &t, 1, FW_DTYPE_DEFAULT, nullptr, 0), FW_OK);
  capi::SolverPtr solver = capi::new_solver();
  ASSERT_EQ(fw_solver_set_base(solver.get(), base_.c_str()), FW_OK) << fw_last_error();
  EXPECT_EQ(fw_solver_pool_add(solver.get(), partial.c_str(), nullptr), FW_ERR_NAME_MISMATCH);
  const std::string message = fw_last_error();
  EXPECT_NE(message.find("embeddings.word_embeddings.weight"), std::string::npos) << message;
  EXPECT_NE(message.find("partial.safetensors"), std::string::npos) << message;
}

// A fine-tune saved with its query weights only (tau = {1, 2, 3}); it lacks the embeddings.
class FillFromBase : public Buffers {
 protected:
  void SetUp() override {
    Buffers::SetUp();
    const std::vector<float> q = {1, 2, 3};
    const fw_tensor t =
        view("encoder.layer.0.attention.self.query.weight", FW_DTYPE_F32, kQueryShape, q.data());
    partial_ = dir_ + "/partial.safetensors";
    ASSERT_EQ(fw_save_tensors(partial_.c_str(), &t, 1, FW_DTYPE_DEFAULT, nullptr, 0), FW_OK);
  }
  std::vector<const char *> members() const {
    return {pool_[0].c_str(), pool_[1].c_str(), partial_.c_str()};
  }
  std::string filled_json() const {
    return "\"filled_from_base\":{\"" + partial_ + "\":[\"embeddings.word_embeddings.weight\"]}";
  }
  std::string partial_;
};

std::string read_text(const fs::path &path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST_F(FillFromBase, OffByDefaultInFwMerge) {
  fw_merge_params p = fw_default_merge_params(FW_MERGE_METHOD_TASK_ARITHMETIC);
  EXPECT_EQ(p.fill_missing_from_base, 0);
  const auto m = members();
  const std::string out = dir_ + "/never.safetensors";
  EXPECT_EQ(fw_merge(&p, base_.c_str(), m.data(), m.size(), out.c_str(), nullptr),
            FW_ERR_NAME_MISMATCH);
  const std::string message = fw_last_error();
  EXPECT_NE(message.find("lacks tensor \"embeddings.word_embeddings.weight\""), std::string::npos)
      << message;
  EXPECT_NE(message.find(partial_), std::string::npos) << message;
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(FillFromBase, EveryDataFreeMethodReadsTheMissingTensorFromTheBase) {
  for (fw_merge_method method : kDataFreeMethods) {
    SCOPED_TRACE(static_cast<int>(method));
    fw_merge_params p = fw_default_merge_params(method);
    p.scaling = 1.0;
    p.fill_missing_from_base = 1;
    const std::string out = dir_ + "/filled_" + std::to_string(static_cast<int>(method));
    fw_export_options o = fw_default_export_options();
    o.hf_folder = 1;
    const auto m = members();
    ASSERT_EQ(fw_merge(&p, base_.c_str(), m.data(), m.size(), out.c_str(), &o), FW_OK)
        << fw_last_error();
    const Loaded got = load(out);
    EXPECT_EQ(got.ints.at("embeddings.position_ids"), kPositions);
    const std::string recipe = got.metadata.at("fwmerge.recipe");
    EXPECT_NE(recipe.find(filled_json()), std::string::npos) << recipe;
    const std::string card = read_text(fs::path(out) / "README.md");
    EXPECT_NE(card.find("## Taken from the base"), std::string::npos) << card;
    EXPECT_NE(card.find("`" + partial_ + "` lacked"), std::string::npos) << card;
    EXPECT_NE(card.find("  - `embeddings.word_embeddings.weight`"), std::string::npos) << card;
    EXPECT_NE(card.find("  - `embeddings.position_ids`"), std::string::npos) << card;
    for (const auto &[name, values] : got.floats)
      for (float v : values) EXPECT_TRUE(std::isfinite(v)) << name;
    const auto &embed = got.floats.at("embeddings.word_embeddings.weight");
    const auto &query = got.floats.at("encoder.layer.0.attention.self.query.weight");
    if (method == FW_MERGE_METHOD_TASK_ARITHMETIC) {
      // Base 0, scaling 1: the members' sum, the partial member adding nothing to the embeddings.
      EXPECT_EQ(embed, (std::vector<float>{0, 2, 4, 4, 4, 8}));
      EXPECT_EQ(query, (std::vector<float>{4, 4, 4}));
    }
    if (method == FW_MERGE_METHOD_LINEAR) {  // the mean of m0, m1 and the base's embeddings (zero)
      const std::vector<float> want = {0, 2 / 3.f, 4 / 3.f, 4 / 3.f, 4 / 3.f, 8 / 3.f};
      for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(embed[i], want[i], 1e-6) << i;
      for (size_t i = 0; i < 3; ++i) EXPECT_NEAR(query[i], 4 / 3.f, 1e-6) << i;
    }
  }
}

TEST_F(FillFromBase, AnFwSolverSeesTheBasesTensorInTheMember) {
  capi::SolverPtr plain = capi::new_solver();
  ASSERT_EQ(fw_solver_set_base(plain.get(), base_.c_str()), FW_OK) << fw_last_error();
  EXPECT_EQ(fw_solver_pool_add(plain.get(), partial_.c_str(), nullptr), FW_ERR_NAME_MISMATCH);

  fw_params params = fw_default_params();
  EXPECT_EQ(params.fill_missing_from_base, 0);
  params.fill_missing_from_base = 1;
  params.lmo = FW_LMO_HARD;  // a whole step to the chosen vertex: theta_1 is that member
  params.step_rule = FW_STEP_RULE_CONSTANT;
  params.step_scale = 1.0;
  fw_solver *raw = nullptr;
  ASSERT_EQ(fw_solver_new(&params, &raw), FW_OK) << fw_last_error();
  capi::SolverPtr solver(raw);
  ASSERT_EQ(fw_solver_set_base(raw, base_.c_str()), FW_OK) << fw_last_error();
  ASSERT_EQ(fw_solver_pool_add(raw, pool_[0].c_str(), nullptr), FW_OK) << fw_last_error();
  ASSERT_EQ(fw_solver_pool_add(raw, partial_.c_str(), nullptr), FW_OK) << fw_last_error();
  // The partial member as the start point: its query weights, the base's (zero) embeddings.
  ASSERT_EQ(fw_solver_set_start_member(raw, 1), FW_OK) << fw_last_error();
  const fw_tensor *views = nullptr;
  size_t n = 0;
  ASSERT_EQ(fw_solver_current(raw, &views, &n), FW_OK);
  ASSERT_EQ(n, 2u);
  std::map<std::string, std::vector<float>> current;
  for (size_t i = 0; i < n; ++i) {
    const auto *v = static_cast<const float *>(views[i].data);
    current[views[i].name].assign(v, v + views[i].numel);
  }
  EXPECT_EQ(current.at("embeddings.word_embeddings.weight"), (std::vector<float>(6, 0.0f)));
  EXPECT_EQ(current.at("encoder.layer.0.attention.self.query.weight"),
            (std::vector<float>{1, 2, 3}));
  // A step to m0 (the target): the partial member's embeddings were the base's, m0's replace them.
  capi::Quadratic q;
  q.target["embeddings.word_embeddings.weight"] = {1, 2, 3, 4, 5, 6};
  q.target["encoder.layer.0.attention.self.query.weight"] = {1, 0, -1};
  ASSERT_EQ(fw_solver_set_objective_callback(raw, capi::quadratic_callback, &q), FW_OK);
  fw_step_info info = capi::blank_info();
  ASSERT_EQ(fw_solver_step(raw, &info), FW_OK) << fw_last_error();
  ASSERT_EQ(info.k, 1);
  EXPECT_EQ(info.chosen[0], 0);
  fw_export_options o = fw_default_export_options();
  o.hf_folder = 1;
  const std::string out = dir_ + "/fw_filled";
  ASSERT_EQ(fw_solver_export(raw, out.c_str(), &o), FW_OK) << fw_last_error();
  const Loaded got = load(out);
  EXPECT_NE(got.metadata.at("fwmerge.recipe").find(filled_json()), std::string::npos)
      << got.metadata.at("fwmerge.recipe");
  EXPECT_EQ(got.floats.at("embeddings.word_embeddings.weight"),
            (std::vector<float>{1, 2, 3, 4, 5, 6}));
  EXPECT_NE(read_text(fs::path(out) / "README.md").find("## Taken from the base"),
            std::string::npos);
}

}  // namespace
