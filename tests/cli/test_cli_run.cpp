// Whole runs of the fwmerge binary: a TIES recipe on a small pool (numbers worked out by hand),
// the Hugging Face output folder file by file, shards, and failures that leave nothing behind.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "fwmerge.h"
#include "linear_net_module.h"

namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path &p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_text(const fs::path &p, const std::string &text) {
  std::ofstream out(p, std::ios::binary);
  out << text;
}

// Writes {name: values} (1-D fp32) with the C API.
void save(const fs::path &path, const std::vector<std::pair<std::string, std::vector<float>>> &ts) {
  std::vector<fw_tensor> views;
  std::vector<int64_t> shapes;
  shapes.reserve(ts.size());
  for (const auto &t : ts) {
    shapes.push_back(static_cast<int64_t>(t.second.size()));
    fw_tensor v;
    std::memset(&v, 0, sizeof v);
    v.name = t.first.c_str();
    v.dtype = FW_DTYPE_F32;
    v.ndim = 1;
    v.shape = &shapes.back();
    v.numel = shapes.back();
    v.data = const_cast<float *>(t.second.data());
    views.push_back(v);
  }
  ASSERT_EQ(fw_save_tensors(path.c_str(), views.data(), views.size(), FW_DTYPE_F32, nullptr, 0),
            FW_OK)
      << fw_last_error();
}

// A tensor of a safetensors file, decoded as fp32 (the header's offsets, by hand).
std::vector<float> read_f32(const fs::path &file, const std::string &name) {
  const std::string bytes = slurp(file);
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  const nlohmann::json header = nlohmann::json::parse(bytes.substr(8, n));
  EXPECT_EQ(header.at(name).at("dtype"), "F32");
  const size_t begin = header.at(name).at("data_offsets")[0],
               end = header.at(name).at("data_offsets")[1];
  std::vector<float> out((end - begin) / 4);
  std::memcpy(out.data(), bytes.data() + 8 + n + begin, end - begin);
  return out;
}

struct Outcome {
  int status;
  std::string err;
};

// `prefix` goes before the binary (e.g. "timeout 60", so that a hang fails instead of blocking).
Outcome fwmerge(const std::string &args, const fs::path &dir, const std::string &prefix = "") {
  const fs::path err = dir / "stderr.txt";
  const std::string cmd = prefix + (prefix.empty() ? "" : " ") + std::string(FW_CLI_BIN) + " " +
                          args + " 2>" + err.string() + " >/dev/null";
  const int rc = std::system(cmd.c_str());
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, slurp(err)};
}

std::set<std::string> listing(const fs::path &dir) {
  std::set<std::string> names;
  for (const auto &e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
  return names;
}

class CliRun : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(FW_TEST_TMP) / ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "base");
    // A Hugging Face base folder: weights plus the files an output folder needs to load.
    save(dir_ / "base" / "model.safetensors", {{"w", {0, 0, 0, 0}}, {"b", {1, 1}}});
    write_text(dir_ / "base" / "config.json", "{\"model_type\": \"llama\", \"hidden_size\": 4}\n");
    write_text(dir_ / "base" / "generation_config.json", "{\"do_sample\": false}\n");
    write_text(dir_ / "base" / "tokenizer.json", "{\"version\": \"1.0\"}\n");
    write_text(dir_ / "base" / "notes.txt", "not a model file\n");
    // tau_a = w [4, -3, 2, 1], b [1, 0]; tau_b = w [2, 2, -3, -4], b [0, 2].
    save(dir_ / "a.safetensors", {{"w", {4, -3, 2, 1}}, {"b", {2, 1}}});
    save(dir_ / "b.safetensors", {{"w", {2, 2, -3, -4}}, {"b", {1, 3}}});
  }

  std::string ties_recipe() const {
    return "merge_method: ties\nbase_model: " + (dir_ / "base").string() +
           "\nmodels:\n  - model: " + (dir_ / "a.safetensors").string() +
           "\n    parameters: {weight: 1, density: 1.0}\n  - model: " +
           (dir_ / "b.safetensors").string() +
           "\n    parameters: {weight: 3, density: 0.5}\nparameters:\n  lambda: 0.5\n"
           "dtype: float32\n";
  }

  fs::path dir_;
};

TEST_F(CliRun, TiesRecipeWritesAHuggingFaceFolderWithTheHandComputedMerge) {
  write_text(dir_ / "ties.yml", ties_recipe());
  const fs::path out = dir_ / "out";
  const Outcome r = fwmerge("merge " + (dir_ / "ties.yml").string() + " " + out.string(), dir_);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(listing(out),
            (std::set<std::string>{"README.md", "config.json", "generation_config.json",
                                   "model.safetensors", "notes.txt", "tokenizer.json"}));
  for (const char *f : {"config.json", "generation_config.json", "tokenizer.json"})
    EXPECT_EQ(slurp(out / f), slurp(dir_ / "base" / f)) << f;
  // b keeps the top half of tau_b: [0, 0, -3, -4], weighted by 3: [0, 0, -9, -12]. With a's
  // [4, -3, 2, 1] the elected signs are [+, -, -, -]; the agreeing weighted entries over their
  // weights (normalize, ties' default): [4/1, -3/1, -9/3, -12/3] = [4, -3, -3, -4]; times lambda.
  EXPECT_EQ(read_f32(out / "model.safetensors", "w"), (std::vector<float>{2, -1.5f, -1.5f, -2}));
  // b: tau_a [1, 0], tau_b keeps [0, 2] -> weighted [0, 6]: [1/1, 6/3] = [1, 2]; 1 + 0.5 * that.
  EXPECT_EQ(read_f32(out / "model.safetensors", "b"), (std::vector<float>{1.5f, 2}));
  const std::string card = slurp(out / "README.md");
  EXPECT_NE(card.find("library_name: transformers"), std::string::npos);
  EXPECT_NE(card.find(ties_recipe()), std::string::npos) << card;  // the recipe, verbatim
  for (const std::string &name : listing(dir_))
    EXPECT_EQ(name.find(".tmp-"), std::string::npos) << name;
}

// Every method both tools have, through a recipe and the binary, against hand-computed values
// (mergekit semantics, float32): tau_a = w [4, -3, 2, 1], b [1, 0]; tau_b = w [2, 2, -3, -4],
// b [0, 2]; the base is w 0, b 1.
TEST_F(CliRun, EverySharedMethodGivesTheHandComputedMerge) {
  struct Case {
    std::string method, params_a, params_b, top;
    std::vector<float> w, b;
  };
  const std::vector<Case> cases = {
      // (1 theta_a + 3 theta_b) / 4, no base in the average.
      {"linear", "{weight: 1}", "{weight: 3}", "", {2.5f, 0.75f, -1.75f, -2.75f}, {1.25f, 2.5f}},
      // base + 0.5 (tau_a + 3 tau_b).
      {"task_arithmetic",
       "{weight: 1}",
       "{weight: 3}",
       "  lambda: 0.5\n",
       {5, 1.5f, -3.5f, -5.5f},
       {1.5f, 4}},
      // Keep probability 1: nothing dropped, the L1 rescale is 1; then the plain sum.
      {"dare_linear",
       "{weight: 1, density: 1.0}",
       "{weight: 1, density: 1.0}",
       "",
       {6, -1, -1, -3},
       {2, 3}},
      // No drop, then TIES' election: signs [+, -, -, -], the agreeing entries summed.
      {"dare_ties",
       "{weight: 1, density: 1.0}",
       "{weight: 1, density: 1.0}",
       "",
       {6, -3, -3, -4},
       {2, 3}},
      // a: density 0.5, gamma 0.25 of 4 entries keeps 2 after dropping the top 1 and the bottom
      // 1 by magnitude: [0, -3, 2, 0] (its b: 1 of 2, the larger: [1, 0]; mergekit would keep
      // none there, see the README); b keeps all.
      {"breadcrumbs",
       "{weight: 1, density: 0.5, gamma: 0.25}",
       "{weight: 1, density: 1.0}",
       "",
       {2, -1, -1, -4},
       {2, 3}},
      // The same masks, then the election: [+, -, -, -] over [0, -3, 2, 0] and tau_b.
      {"breadcrumbs_ties",
       "{weight: 1, density: 0.5, gamma: 0.25}",
       "{weight: 1, density: 1.0}",
       "",
       {2, -3, -3, -4},
       {2, 3}},
  };
  for (const Case &c : cases) {
    const std::string recipe =
        "merge_method: " + c.method + "\n" +
        (c.method == "linear" ? "" : "base_model: " + (dir_ / "base").string() + "\n") +
        "models:\n  - model: " + (dir_ / "a.safetensors").string() +
        "\n    parameters: " + c.params_a + "\n  - model: " + (dir_ / "b.safetensors").string() +
        "\n    parameters: " + c.params_b + "\n" + (c.top.empty() ? "" : "parameters:\n" + c.top) +
        "dtype: float32\n";
    write_text(dir_ / (c.method + ".yml"), recipe);
    const fs::path out = dir_ / ("out_" + c.method);
    const Outcome r =
        fwmerge("merge " + (dir_ / (c.method + ".yml")).string() + " " + out.string(), dir_);
    ASSERT_EQ(r.status, 0) << c.method << ": " << r.err;
    EXPECT_EQ(read_f32(out / "model.safetensors", "w"), c.w) << c.method;
    EXPECT_EQ(read_f32(out / "model.safetensors", "b"), c.b) << c.method;
  }
  // model_stock on a pool with a positive cosine: tau_1 = [1, 0], tau_2 = [1, 1], base 0;
  // cos = 1 / sqrt(2), t = 2 cos / (1 + cos); merged = t * mean(theta_i).
  save(dir_ / "s0.safetensors", {{"w", {0, 0}}});
  save(dir_ / "s1.safetensors", {{"w", {1, 0}}});
  save(dir_ / "s2.safetensors", {{"w", {1, 1}}});
  write_text(dir_ / "stock.yml",
             "merge_method: model_stock\nbase_model: " + (dir_ / "s0.safetensors").string() +
                 "\nmodels:\n  - model: " + (dir_ / "s1.safetensors").string() +
                 "\n  - model: " + (dir_ / "s2.safetensors").string() + "\n");
  const Outcome r =
      fwmerge("merge " + (dir_ / "stock.yml").string() + " " + (dir_ / "out_stock").string(), dir_);
  ASSERT_EQ(r.status, 0) << r.err;
  const double cos = 1.0 / std::sqrt(2.0), t = 2 * cos / (1 + cos);
  const std::vector<float> w = read_f32(dir_ / "out_stock" / "model.safetensors", "w");
  ASSERT_EQ(w.size(), 2u);
  EXPECT_NEAR(w[0], t * 1.0, 1e-6);
  EXPECT_NEAR(w[1], t * 0.5, 1e-6);
}

TEST_F(CliRun, FilterListsGiveValuesPerTensor) {
  // b's weight is 0 on "w" and 1 elsewhere; lambda is 2 on "b" and 1 elsewhere (mergekit: a
  // filter matches a substring of the tensor name; an entry without one catches all).
  write_text(dir_ / "filters.yml",
             "merge_method: task_arithmetic\nbase_model: " + (dir_ / "base").string() +
                 "\nmodels:\n  - model: " + (dir_ / "a.safetensors").string() +
                 "\n    parameters: {weight: 1}\n  - model: " + (dir_ / "b.safetensors").string() +
                 "\n    parameters:\n      weight: [{filter: w, value: 0}, {value: 1}]\n"
                 "parameters:\n  lambda: [{filter: b, value: 2}, {value: 1}]\ndtype: float32\n");
  const fs::path out = dir_ / "out";
  const Outcome r = fwmerge("merge " + (dir_ / "filters.yml").string() + " " + out.string(), dir_);
  ASSERT_EQ(r.status, 0) << r.err;
  // w: 0 + 1 * tau_a. b: 1 + 2 * (tau_a + tau_b) = 1 + 2 * [1, 2].
  EXPECT_EQ(read_f32(out / "model.safetensors", "w"), (std::vector<float>{4, -3, 2, 1}));
  EXPECT_EQ(read_f32(out / "model.safetensors", "b"), (std::vector<float>{3, 5}));
}

TEST_F(CliRun, SmallShardSizeWritesShardsAndAnIndex) {
  write_text(dir_ / "ties.yml", ties_recipe());
  const fs::path out = dir_ / "out";
  const Outcome r =
      fwmerge("merge --shard-size 12B " + (dir_ / "ties.yml").string() + " " + out.string(), dir_);
  ASSERT_EQ(r.status, 0) << r.err;
  // b (8 bytes) and w (16 bytes, over the limit: a shard of its own), in name order.
  const std::set<std::string> files = listing(out);
  EXPECT_TRUE(files.count("model.safetensors.index.json"));
  EXPECT_TRUE(files.count("model-00001-of-00002.safetensors"));
  EXPECT_TRUE(files.count("model-00002-of-00002.safetensors"));
  EXPECT_FALSE(files.count("model.safetensors"));
  const nlohmann::json index = nlohmann::json::parse(slurp(out / "model.safetensors.index.json"));
  EXPECT_EQ(index.at("weight_map").size(), 2u);
  const std::string w_shard = index.at("weight_map").at("w");
  EXPECT_EQ(read_f32(out / w_shard, "w"), (std::vector<float>{2, -1.5f, -1.5f, -2}));
}

TEST_F(CliRun, ABadRecipeFailsWithItsLineAndWritesNothing) {
  write_text(dir_ / "bad.yml",
             "merge_method: ties\nbase_model: x\nmodels:\n  - model: a\n"
             "    parameters: {weight: 1, epsilon: 0.1}\n");
  const fs::path out = dir_ / "out";
  const Outcome r = fwmerge("merge " + (dir_ / "bad.yml").string() + " " + out.string(), dir_);
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("bad.yml:5: unsupported model parameter 'epsilon' for ties"),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(CliRun, AMissingModelFailsAndLeavesNoFolder) {
  std::string recipe = ties_recipe();
  recipe.replace(recipe.find("b.safetensors"), 13, "gone.safetensors");
  write_text(dir_ / "missing.yml", recipe);
  const fs::path out = dir_ / "out";
  const Outcome r = fwmerge("merge " + (dir_ / "missing.yml").string() + " " + out.string(), dir_);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("gone.safetensors"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out));
  for (const std::string &name : listing(dir_))
    EXPECT_EQ(name.find(".tmp-"), std::string::npos) << name;
}

TEST_F(CliRun, AnOutputFolderThatIsNotEmptyIsRefusedAndKept) {
  write_text(dir_ / "ties.yml", ties_recipe());
  const fs::path out = dir_ / "out";
  fs::create_directories(out);
  write_text(out / "keep.txt", "mine\n");
  const Outcome r = fwmerge("merge " + (dir_ / "ties.yml").string() + " " + out.string(), dir_);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("exists and is not an empty folder"), std::string::npos) << r.err;
  EXPECT_EQ(listing(out), (std::set<std::string>{"keep.txt"}));
}

// A base folder someone uploaded, whose config.json links to a file of the host's: the merge must
// not copy it into OUT_DIR (nor read weights through such a link) unless asked to.
TEST_F(CliRun, ABaseFileLinkingOutOfItsFolderIsRefusedUnlessAllowed) {
  write_text(dir_ / "secret.txt", "root:x:0:0:root:/root:/bin/bash\n");
  fs::remove(dir_ / "base" / "config.json");
  fs::create_symlink(dir_ / "secret.txt", dir_ / "base" / "config.json");
  write_text(dir_ / "ties.yml", ties_recipe());
  const fs::path out = dir_ / "out";
  Outcome r = fwmerge("merge " + (dir_ / "ties.yml").string() + " " + out.string(), dir_);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("FW_ERR_INVALID_ARGUMENT"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find((dir_ / "base" / "config.json").string() + " points to " +
                       (dir_ / "secret.txt").string()),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(fs::exists(out));
  for (const std::string &name : listing(dir_))
    EXPECT_EQ(name.find(".tmp-"), std::string::npos) << name;
  r = fwmerge("merge --allow-outside-links " + (dir_ / "ties.yml").string() + " " + out.string(),
              dir_);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(slurp(out / "config.json"), slurp(dir_ / "secret.txt"));

  // The weights themselves, and `inspect`.
  fs::rename(dir_ / "base" / "model.safetensors", dir_ / "weights.safetensors");
  fs::create_symlink(dir_ / "weights.safetensors", dir_ / "base" / "model.safetensors");
  r = fwmerge("inspect " + (dir_ / "base").string(), dir_);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("model.safetensors points to " + (dir_ / "weights.safetensors").string()),
            std::string::npos)
      << r.err;
  EXPECT_EQ(fwmerge("inspect --allow-outside-links " + (dir_ / "base").string(), dir_).status, 0);
}

// A model saved without one of the base's tensors: refused naming both, unless the recipe says
// fill_missing_from_base, which reads it from the base (a zero task vector there) and says so in
// the card and the metadata.
TEST_F(CliRun, FillMissingFromBaseIsTheRecipesChoice) {
  save(dir_ / "c.safetensors", {{"w", {1, 1, 1, 1}}});  // no b; tau_c = w [1, 1, 1, 1]
  const std::string recipe =
      "merge_method: task_arithmetic\nbase_model: " + (dir_ / "base").string() +
      "\nmodels:\n  - model: " + (dir_ / "a.safetensors").string() +
      "\n  - model: " + (dir_ / "c.safetensors").string() +
      "\nparameters:\n  lambda: 1\n  weight: 1\ndtype: float32\n";
  write_text(dir_ / "ta.yml", recipe);
  const fs::path out = dir_ / "out";
  Outcome r = fwmerge("merge " + (dir_ / "ta.yml").string() + " " + out.string(), dir_);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("lacks tensor \"b\""), std::string::npos) << r.err;
  EXPECT_NE(r.err.find((dir_ / "c.safetensors").string()), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out));
  write_text(dir_ / "ta.yml", recipe + "fill_missing_from_base: true\n");
  r = fwmerge("merge " + (dir_ / "ta.yml").string() + " " + out.string(), dir_);
  ASSERT_EQ(r.status, 0) << r.err;
  // w: 0 + tau_a + tau_c = [5, -2, 3, 2]; b: 1 + tau_a [1, 0] + 0 = [2, 1].
  EXPECT_EQ(read_f32(out / "model.safetensors", "w"), (std::vector<float>{5, -2, 3, 2}));
  EXPECT_EQ(read_f32(out / "model.safetensors", "b"), (std::vector<float>{2, 1}));
  const std::string card = slurp(out / "README.md");
  EXPECT_NE(card.find("## Taken from the base"), std::string::npos) << card;
  EXPECT_NE(card.find("`" + (dir_ / "c.safetensors").string() + "` lacked"), std::string::npos)
      << card;
}

// Finite in YAML, infinite in the merge's fp32: refused naming the field, nothing written.
TEST_F(CliRun, OverflowingWeightsAndLambdaAreInvalidArguments) {
  const fs::path out = dir_ / "out";
  std::string recipe = ties_recipe();
  recipe.replace(recipe.find("weight: 1,"), 10, "weight: 1.7e308,");
  recipe.replace(recipe.find("weight: 3,"), 10, "weight: 1.7e308,");
  write_text(dir_ / "weights.yml", recipe);
  Outcome r = fwmerge("merge " + (dir_ / "weights.yml").string() + " " + out.string(), dir_);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("FW_ERR_INVALID_ARGUMENT"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("weight 0 (1.7e+308) overflows fp32"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out));

  recipe = ties_recipe();
  recipe.replace(recipe.find("lambda: 0.5"), 11, "lambda: 1e308");
  write_text(dir_ / "lambda.yml", recipe);
  r = fwmerge("merge " + (dir_ / "lambda.yml").string() + " " + out.string(), dir_);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("scaling (1e+308) overflows fp32"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out));
}

// An alias bomb fails fast with its named error (it used to take GBs before failing).
TEST_F(CliRun, AnAliasBombRecipeFailsWithANamedError) {
  std::string y =
      "merge_method: linear\nmodels:\n  - {model: a, parameters: {weight: 1}}\n"
      "parameters:\n  x0: &x0 [" +
      std::string(1 << 20, 'x') + "]\n  x1: [";
  for (int k = 0; k < 1000; ++k) y += (k ? ", " : "") + std::string("*x0");
  write_text(dir_ / "bomb.yml", y + "]\n");
  const Outcome r =
      fwmerge("merge " + (dir_ / "bomb.yml").string() + " " + (dir_ / "out").string(), dir_);
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("bomb.yml:6: [yaml_too_large]"), std::string::npos) << r.err;
}

// A FIFO given as the recipe used to block in open() until a writer came; `timeout` turns a hang
// into status 124.
TEST_F(CliRun, AFifoRecipeIsRefusedWithoutBlocking) {
  const fs::path fifo = dir_ / "pipe.yml";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  for (const std::string command : {"merge", "fw"}) {
    const Outcome r =
        fwmerge(command + " " + fifo.string() + " " + (dir_ / "out").string(), dir_, "timeout 60");
    EXPECT_EQ(r.status, 2) << command << ": " << r.err;
    EXPECT_NE(r.err.find(fifo.string() + ": cannot open the recipe: not a regular file (a FIFO)"),
              std::string::npos)
        << r.err;
    EXPECT_FALSE(fs::exists(dir_ / "out"));
  }
}

// SIGTERM (or Ctrl-C) in the middle of writing OUT_DIR: the process ends (130) and leaves neither
// OUT_DIR nor its temp folder. The run is stopped (SIGSTOP) once its temp folder exists, so the
// signal lands mid-merge however fast the machine is.
TEST_F(CliRun, SigtermMidMergeEndsTheRunAndLeavesNothing) {
  const std::vector<float> big(1 << 22, 0.5f);  // 16 MB per model: seconds of TIES on one core
  save(dir_ / "base" / "model.safetensors", {{"w", big}, {"b", {1, 1}}});
  save(dir_ / "a.safetensors", {{"w", std::vector<float>(big.size(), 1.0f)}, {"b", {2, 1}}});
  save(dir_ / "b.safetensors", {{"w", std::vector<float>(big.size(), -1.0f)}, {"b", {1, 3}}});
  write_text(dir_ / "ties.yml", ties_recipe());
  const fs::path out = dir_ / "out";
  const std::string recipe = (dir_ / "ties.yml").string();
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 2);
    ::execl(FW_CLI_BIN, FW_CLI_BIN, "merge", "-q", recipe.c_str(), out.c_str(),
            static_cast<char *>(nullptr));
    ::_exit(127);
  }
  const auto temp_exists = [&] {
    for (const std::string &name : listing(dir_))
      if (name.rfind(".out.tmp-", 0) == 0) return true;
    return false;
  };
  bool stopped = false;
  for (int i = 0; i < 60000 && !stopped; ++i) {  // up to a minute for the run to start writing
    if (temp_exists()) {
      ASSERT_EQ(::kill(pid, SIGSTOP), 0);
      stopped = true;
    } else {
      ::usleep(1000);
    }
  }
  int status = 0;
  if (!stopped || !temp_exists()) {  // it finished first: the premise failed
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    FAIL() << "the run was not caught writing its output";
  }
  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  ASSERT_EQ(::kill(pid, SIGCONT), 0);
  // A hang guard, not a timing check: the process should be gone within a second.
  pid_t done = 0;
  for (int i = 0; i < 30000 && done == 0; ++i) {
    done = ::waitpid(pid, &status, WNOHANG);
    if (done == 0) ::usleep(1000);
  }
  if (done == 0) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    FAIL() << "fwmerge did not end after SIGTERM";
  }
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 130);
  EXPECT_FALSE(fs::exists(out));
  for (const std::string &name : listing(dir_))
    EXPECT_EQ(name.find(".tmp-"), std::string::npos) << name;
}

TEST_F(CliRun, HelpAndVersion) {
  Outcome r = fwmerge("--help", dir_);
  EXPECT_EQ(r.status, 0);
  r = fwmerge("--version", dir_);
  EXPECT_EQ(r.status, 0);
  r = fwmerge("", dir_);  // a subcommand is required
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("subcommand"), std::string::npos) << r.err;
}

}  // namespace

namespace {

// Runs the binary and returns its stdout.
std::string fwmerge_stdout(const std::string &args, const fs::path &dir, int *status) {
  const fs::path out = dir / "stdout.txt";
  const std::string cmd = std::string(FW_CLI_BIN) + " " + args + " >" + out.string() + " 2>" +
                          (dir / "stderr.txt").string();
  const int rc = std::system(cmd.c_str());
  *status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  return slurp(out);
}

TEST_F(CliRun, InspectListsTensorsDtypesShapesBytesAndMetadata) {
  // A calibration-like file: fp32 inputs and I64 labels (fw_save_tensors writes integers as is).
  const std::vector<float> x(6, 0.5f);
  const std::vector<int64_t> y = {1, 0, 2};
  const int64_t sx[2] = {3, 2}, sy[1] = {3};
  fw_tensor t[2];
  std::memset(t, 0, sizeof t);
  t[0].name = "inputs";
  t[0].dtype = FW_DTYPE_F32;
  t[0].ndim = 2;
  t[0].shape = sx;
  t[0].numel = 6;
  t[0].data = const_cast<float *>(x.data());
  t[1].name = "labels";
  t[1].dtype = FW_DTYPE_I64;
  t[1].ndim = 1;
  t[1].shape = sy;
  t[1].numel = 3;
  t[1].data = const_cast<int64_t *>(y.data());
  const char *meta[] = {"task", "toy"};
  const fs::path file = dir_ / "calib.safetensors";
  ASSERT_EQ(fw_save_tensors(file.c_str(), t, 2, FW_DTYPE_DEFAULT, meta, 1), FW_OK)
      << fw_last_error();
  int status = -1;
  const nlohmann::json doc =
      nlohmann::json::parse(fwmerge_stdout("inspect --json " + file.string(), dir_, &status));
  ASSERT_EQ(status, 0);
  EXPECT_EQ(doc["parameters"], 9);
  EXPECT_EQ(doc["bytes"], 6 * 4 + 3 * 8);
  EXPECT_EQ(doc["metadata"], (nlohmann::json{{"task", "toy"}}));
  ASSERT_EQ(doc["tensors"].size(), 2u);
  // File order: I64 (8-byte alignment) before F32, as the reference writer sorts.
  EXPECT_EQ(doc["tensors"][0],
            (nlohmann::json{{"name", "labels"}, {"dtype", "I64"}, {"shape", {3}}, {"bytes", 24}}));
  EXPECT_EQ(
      doc["tensors"][1],
      (nlohmann::json{{"name", "inputs"}, {"dtype", "F32"}, {"shape", {3, 2}}, {"bytes", 24}}));
  const std::string text = fwmerge_stdout("inspect " + file.string(), dir_, &status);
  ASSERT_EQ(status, 0);
  EXPECT_NE(text.find("2 tensors, 9e-06 M parameters, 48 B"), std::string::npos) << text;
  EXPECT_NE(text.find("task: toy"), std::string::npos) << text;
  EXPECT_NE(text.find("[3, 2]"), std::string::npos) << text;
  // A Hugging Face folder, and a broken input: the library's status and message, exit 1.
  EXPECT_NE(fwmerge_stdout("inspect " + (dir_ / "base").string(), dir_, &status).find("w "),
            std::string::npos);
  EXPECT_EQ(status, 0);
  // A header length of 16 with 2 header bytes after it.
  write_text(dir_ / "broken.safetensors", std::string("\x10\0\0\0\0\0\0\0{}", 10));
  fwmerge_stdout("inspect " + (dir_ / "broken.safetensors").string(), dir_, &status);
  EXPECT_EQ(status, 1);
  EXPECT_NE(slurp(dir_ / "stderr.txt").find("FW_ERR_FORMAT"), std::string::npos)
      << slurp(dir_ / "stderr.txt");
}

}  // namespace

namespace {

void save_shaped(const fs::path &path,
                 const std::vector<std::pair<std::string, std::vector<float>>> &ts,
                 const std::vector<std::vector<int64_t>> &shapes) {
  std::vector<fw_tensor> views(ts.size());
  std::memset(views.data(), 0, views.size() * sizeof(fw_tensor));
  for (size_t i = 0; i < ts.size(); ++i) {
    views[i].name = ts[i].first.c_str();
    views[i].dtype = FW_DTYPE_F32;
    views[i].ndim = static_cast<int32_t>(shapes[i].size());
    views[i].shape = shapes[i].data();
    views[i].numel = static_cast<int64_t>(ts[i].second.size());
    views[i].data = const_cast<float *>(ts[i].second.data());
  }
  ASSERT_EQ(fw_save_tensors(path.c_str(), views.data(), views.size(), FW_DTYPE_DEFAULT, nullptr, 0),
            FW_OK)
      << fw_last_error();
}

// One Frank-Wolfe step with the built-in objective, closed form: at W = 0, b = 0 the logits are 0,
// p = (1/2, 1/2), loss = ln 2 and dL/dW = [[0.5, -0.75], [-0.5, 0.75]] (x = [[1, 2], [3, -1]],
// y = [0, 1]). Scores <grad, theta_i>: good -1.625, bad +1.625, base 0: good wins, gap 1.625; the
// schedule's gamma at t = 0 is 2 / 2 = 1, so theta_1 = good exactly.
TEST_F(CliRun, FwRecipeRunsTheBuiltInObjectiveAndWritesTheHandComputedStep) {
  fwtest::save_linear_net((dir_ / "net.pt").string());
  const std::vector<std::vector<int64_t>> shapes = {{2, 2}, {2}};
  fs::create_directories(dir_ / "fwbase");
  save_shaped(dir_ / "fwbase" / "model.safetensors",
              {{"fc.weight", {0, 0, 0, 0}}, {"fc.bias", {0, 0}}}, shapes);
  write_text(dir_ / "fwbase" / "config.json", "{\"model_type\": \"toy\"}\n");
  const std::vector<float> good = {-0.5f, 0.75f, 0.5f, -0.75f};
  save_shaped(dir_ / "good.safetensors", {{"fc.weight", good}, {"fc.bias", {0, 0}}}, shapes);
  save_shaped(dir_ / "bad.safetensors",
              {{"fc.weight", {0.5f, -0.75f, -0.5f, 0.75f}}, {"fc.bias", {0, 0}}}, shapes);
  const std::vector<float> x = {1, 2, 3, -1};
  const std::vector<int64_t> y = {0, 1};
  const int64_t sx[2] = {2, 2}, sy[1] = {2};
  fw_tensor calib[2];
  std::memset(calib, 0, sizeof calib);
  calib[0] = {"x", FW_DTYPE_F32, 2, sx, 4, const_cast<float *>(x.data()), FW_DEVICE_TYPE_CPU, 0,
              {}};
  calib[1] = {"y", FW_DTYPE_I64, 1, sy, 2, const_cast<int64_t *>(y.data()), FW_DEVICE_TYPE_CPU, 0,
              {}};
  ASSERT_EQ(
      fw_save_tensors((dir_ / "calib.safetensors").c_str(), calib, 2, FW_DTYPE_DEFAULT, nullptr, 0),
      FW_OK)
      << fw_last_error();
  const std::string recipe = "base_model: " + (dir_ / "fwbase").string() + "\nmodels:\n  - " +
                             (dir_ / "good.safetensors").string() + "\n  - " +
                             (dir_ / "bad.safetensors").string() +
                             "\nobjective:\n  module: " + (dir_ / "net.pt").string() +
                             "\n  calibration: " + (dir_ / "calib.safetensors").string() +
                             "\n  terms:\n    - {inputs: x, labels: y}\n"
                             "parameters: {max_iters: 1, step_rule: schedule, epsilon: 0}\n";
  write_text(dir_ / "fw.yml", recipe);
  const fs::path out = dir_ / "fwout";
  const Outcome r = fwmerge("fw " + (dir_ / "fw.yml").string() + " " + out.string(), dir_);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("step 1/1 loss 0.693147"), std::string::npos) << r.err;  // not a terminal
  EXPECT_EQ(listing(out), (std::set<std::string>{"README.md", "config.json", "model.safetensors"}));
  EXPECT_EQ(read_f32(out / "model.safetensors", "fc.weight"), good);
  EXPECT_EQ(read_f32(out / "model.safetensors", "fc.bias"), (std::vector<float>{0, 0}));
  const std::string bytes = slurp(out / "model.safetensors");
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  const nlohmann::json history = nlohmann::json::parse(
      nlohmann::json::parse(bytes.substr(8, n))["__metadata__"]["fwmerge.history"]
          .get<std::string>());
  ASSERT_EQ(history["steps"].size(), 1u);
  const nlohmann::json &step = history["steps"][0];
  EXPECT_NEAR(step["loss"].get<double>(), std::log(2.0), 1e-6);
  EXPECT_NEAR(step["gap"].get<double>(), 1.625, 1e-6);
  EXPECT_EQ(step["chosen"], nlohmann::json::array({0}));
  EXPECT_EQ(step["gamma"], 1.0);
  EXPECT_NE(slurp(out / "README.md").find(recipe), std::string::npos);

  // A module that does not exist: the library's message, exit 1, nothing at OUT_DIR.
  write_text(dir_ / "bad.yml", std::string(recipe).replace(recipe.find("net.pt"), 6, "no.pt"));
  const Outcome bad =
      fwmerge("fw " + (dir_ / "bad.yml").string() + " " + (dir_ / "badout").string(), dir_);
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.err.find("objective: FW_ERR_IO"), std::string::npos) << bad.err;
  EXPECT_FALSE(fs::exists(dir_ / "badout"));
}

}  // namespace

namespace {

// A 0.5.0 method end to end: nearswap (mergekit's recipe shape: the base among the models, t
// under parameters) through `fwmerge merge`. w: |a - base| = [4, 3, 2, 1], weight min(1, t / |d|)
// with t = 1: [1/4, 1/3, 1/2, 1] of a's [4, -3, 2, 1] = [1, -1, 1, 1]; b: |d| = [1, 0] -> a's.
TEST_F(CliRun, NearswapRecipeMergesAsComputedByHand) {
  const std::string recipe = "merge_method: nearswap\nbase_model: " + (dir_ / "base").string() +
                             "\nmodels:\n  - model: " + (dir_ / "base").string() +
                             "\n  - model: " + (dir_ / "a.safetensors").string() +
                             "\nparameters:\n  t: 1.0\ndtype: float32\n";
  write_text(dir_ / "nearswap.yml", recipe);
  const fs::path out = dir_ / "out";
  const Outcome r = fwmerge("merge " + (dir_ / "nearswap.yml").string() + " " + out.string(), dir_);
  ASSERT_EQ(r.status, 0) << r.err;
  const std::vector<float> w = read_f32(out / "model.safetensors", "w");
  const std::vector<float> want = {1, -1, 1, 1};
  ASSERT_EQ(w.size(), want.size());
  for (size_t i = 0; i < w.size(); ++i) EXPECT_NEAR(w[i], want[i], 1e-6) << i;
  EXPECT_EQ(read_f32(out / "model.safetensors", "b"), (std::vector<float>{2, 1}));
}

}  // namespace
