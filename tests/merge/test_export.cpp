// fw_merge end to end: golden values read back from the exported file, metadata, dtypes, shards,
// reproducibility (same seed -> same bytes, 1 vs 2 threads -> same bytes), mixed pools with LoRA
// adapters, and bad input (named errors, nothing written).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <nlohmann/json.hpp>

#include "fwmerge.h"
#include "io/checkpoint.h"
#include "io/safetensors_reader.h"
#include "lora_fixture.h"
#include "merge_test_util.h"

namespace {

using fwtest::TestTensor;

bool exists(const std::string &path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

std::vector<float> read_tensor(const std::string &path, const std::string &name) {
  const auto ckpt = fw::open_checkpoint(path, nullptr);
  return mt::values(ckpt->load_f32(name).clone());
}

struct ExportTest : ::testing::Test {
  void SetUp() override {
    dir = fwtest::temp_dir("export");
    // "a" is F16 (values exact in half precision), "b" F32.
    base = dir + "/base.safetensors";
    fwtest::write_safetensors(base,
                              {{"a", {2, 3}, {1, 2, 3, 4, 5, 6}, "F16"}, {"b", {4}, {0, 0, 0, 0}}});
    const std::vector<std::vector<float>> tau_b = {
        {1, -3, 2, 0.5f}, {-2, 1, 0.5f, 3}, {1, 1, -1, -1}};
    const std::vector<std::vector<float>> tau_a = {
        {1, 0, 0, 0, 0, -1}, {0, 2, 0, 0, 0, 1}, {0, 0, -1, 0, 1, 0}};
    for (int i = 0; i < 3; ++i) {
      std::vector<float> a = {1, 2, 3, 4, 5, 6};
      for (int e = 0; e < 6; ++e) a[e] += tau_a[i][e];
      members.push_back(dir + "/m" + std::to_string(i) + ".safetensors");
      fwtest::write_safetensors(members.back(), {{"a", {2, 3}, a, "F16"}, {"b", {4}, tau_b[i]}});
    }
    for (const auto &m : members) member_ptrs.push_back(m.c_str());
  }
  fw_status merge(const fw_merge_params &p, const std::string &out,
                  const fw_export_options *opts = nullptr) {
    return fw_merge(&p, base.c_str(), member_ptrs.data(), member_ptrs.size(), out.c_str(), opts);
  }
  std::string dir, base;
  std::vector<std::string> members;
  std::vector<const char *> member_ptrs;
};

TEST_F(ExportTest, TiesGoldenKeepsDtypesAndWritesTheRecipe) {
  fw_merge_params p = fw_default_merge_params(FW_MERGE_METHOD_TIES);
  p.density = 0.5;
  p.scaling = 1.0;
  const std::string out = dir + "/ties.safetensors";
  ASSERT_EQ(merge(p, out), FW_OK) << fw_last_error();
  // b, k = 2 per member: [0, -3, 2, 0], [-2, 0, 0, 3], [1, 1, 0, 0] (ties at 1: lower index);
  // signs of the sums [-1, -2, 2, 3] -> [-, -, +, +]; disjoint means [-2, -3, 2, 3].
  mt::expect_near(mt::vec(read_tensor(out, "b")), {-2, -3, 2, 3});
  // a, k = 3 of 6 per member (ties kept by index): [1, 0, 0, 0, 0, -1], [0, 2, 0, 0, 0, 1],
  // [0, 0, -1, 0, 1, 0]; e5: -1 + 1 = 0 elects no sign -> base. Means: [1, 2, -1, 0, 1, 0].
  mt::expect_near(mt::vec(read_tensor(out, "a")), {2, 4, 2, 4, 6, 6});
  const auto file = fw::SafetensorsFile::open(out);
  EXPECT_EQ(file->find("a")->dtype, fw::DType::F16);
  EXPECT_EQ(file->find("b")->dtype, fw::DType::F32);
  ASSERT_EQ(file->metadata().count("format"), 1u);
  EXPECT_EQ(file->metadata().at("format"), "pt");
  const auto recipe = nlohmann::json::parse(file->metadata().at("fwmerge.recipe"));
  EXPECT_EQ(recipe["merge"]["method"], "ties");
  EXPECT_EQ(recipe["merge"]["density"], 0.5);
  EXPECT_EQ(recipe["leaves_hull"], true);
  EXPECT_EQ(recipe["pool"].size(), 3u);
  EXPECT_EQ(recipe["base"], base);
}

TEST_F(ExportTest, TaskArithmeticWeightsAndF32Export) {
  const double weights[] = {1.0, 0.5, -1.0};
  fw_merge_params p = fw_default_merge_params(FW_MERGE_METHOD_TASK_ARITHMETIC);
  p.scaling = 2.0;
  p.weights = weights;
  fw_export_options o = fw_default_export_options();
  o.dtype = FW_DTYPE_F32;
  const std::string out = dir + "/ta.safetensors";
  ASSERT_EQ(merge(p, out, &o), FW_OK) << fw_last_error();
  // b: 2 * (1 [1, -3, 2, 0.5] + 0.5 [-2, 1, 0.5, 3] - [1, 1, -1, -1]) = 2 * [-1, -3.5, 3.25, 3]
  mt::expect_near(mt::vec(read_tensor(out, "b")), {-2, -7, 6.5f, 6});
  // a: base + 2 * ([1,0,0,0,0,-1] + [0,1,0,0,0,0.5] - [0,0,-1,0,1,0]) = base + [2,2,2,0,-2,-1]
  mt::expect_near(mt::vec(read_tensor(out, "a")), {3, 4, 5, 4, 3, 5});
  EXPECT_EQ(fw::SafetensorsFile::open(out)->find("a")->dtype, fw::DType::F32);
}

TEST_F(ExportTest, ShardedExport) {
  fw_merge_params p = fw_default_merge_params(FW_MERGE_METHOD_LINEAR);
  fw_export_options o = fw_default_export_options();
  o.max_shard_bytes = 8;  // every tensor gets a shard of its own
  const std::string out = dir + "/sharded";
  ASSERT_EQ(merge(p, out, &o), FW_OK) << fw_last_error();
  EXPECT_TRUE(exists(out + "/model.safetensors.index.json"));
  // Linear average of b: ([1, -3, 2, 0.5] + [-2, 1, 0.5, 3] + [1, 1, -1, -1]) / 3.
  mt::expect_near(mt::vec(read_tensor(out, "b")), {0, -1.0f / 3, 0.5f, 2.5f / 3});
}

TEST_F(ExportTest, BadParametersWriteNothing) {
  const std::string out = dir + "/bad.safetensors";
  fw_merge_params p = fw_default_merge_params(FW_MERGE_METHOD_TIES);
  p.density = 0.0;
  EXPECT_EQ(merge(p, out), FW_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(fw_last_error()).find("density"), std::string::npos) << fw_last_error();
  p.density = 1.5;
  EXPECT_EQ(merge(p, out), FW_ERR_INVALID_ARGUMENT);
  p = fw_default_merge_params(FW_MERGE_METHOD_DARE_TIES);
  p.drop_rate = 1.0;
  EXPECT_EQ(merge(p, out), FW_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(fw_last_error()).find("drop_rate"), std::string::npos);
  p = fw_default_merge_params(FW_MERGE_METHOD_LINEAR);
  // Stored as a C caller would: static_cast to an enum of a value outside it is undefined.
  const int32_t unknown_method = 42;
  std::memcpy(static_cast<void *>(&p.method), &unknown_method, sizeof unknown_method);
  EXPECT_EQ(merge(p, out), FW_ERR_INVALID_ARGUMENT);
  p = fw_default_merge_params(FW_MERGE_METHOD_MODEL_STOCK);
  EXPECT_EQ(fw_merge(&p, base.c_str(), member_ptrs.data(), 1, out.c_str(), nullptr),
            FW_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(fw_merge(&p, base.c_str(), member_ptrs.data(), 0, out.c_str(), nullptr),
            FW_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(fw_merge(nullptr, base.c_str(), member_ptrs.data(), 3, out.c_str(), nullptr),
            FW_ERR_INVALID_ARGUMENT);
  const char *with_null[] = {member_ptrs[0], nullptr};
  p = fw_default_merge_params(FW_MERGE_METHOD_LINEAR);
  EXPECT_EQ(fw_merge(&p, base.c_str(), with_null, 2, out.c_str(), nullptr),
            FW_ERR_INVALID_ARGUMENT);
  fw_export_options o = fw_default_export_options();
  o.dtype = static_cast<fw_dtype>(7);
  EXPECT_EQ(merge(p, out, &o), FW_ERR_INVALID_ARGUMENT);
  EXPECT_FALSE(exists(out));
}

TEST_F(ExportTest, MismatchedMembersWriteNothing) {
  const std::string out = dir + "/bad.safetensors";
  const fw_merge_params p = fw_default_merge_params(FW_MERGE_METHOD_TASK_ARITHMETIC);
  const auto with_member = [&](const std::vector<TestTensor> &tensors) {
    const std::string path = fwtest::temp_dir("bad_member") + "/m.safetensors";
    fwtest::write_safetensors(path, tensors);
    const char *pool[] = {member_ptrs[0], path.c_str()};
    return fw_merge(&p, base.c_str(), pool, 2, out.c_str(), nullptr);
  };
  const std::vector<float> six = {1, 2, 3, 4, 5, 6};
  EXPECT_EQ(with_member({{"a", {3, 2}, six, "F16"}, {"b", {4}, {0, 0, 0, 0}}}),
            FW_ERR_SHAPE_MISMATCH);
  EXPECT_EQ(with_member({{"a", {2, 3}, six, "F32"}, {"b", {4}, {0, 0, 0, 0}}}),
            FW_ERR_DTYPE_MISMATCH);
  EXPECT_EQ(with_member({{"a", {2, 3}, six, "F16"}}), FW_ERR_NAME_MISMATCH);
  EXPECT_EQ(with_member({{"a", {2, 3}, six, "F16"}, {"b", {4}, {0, 0, 0, 0}}, {"c", {1}, {0}}}),
            FW_ERR_NAME_MISMATCH);
  const char *missing[] = {"/nonexistent/model.safetensors"};
  EXPECT_EQ(fw_merge(&p, base.c_str(), missing, 1, out.c_str(), nullptr), FW_ERR_IO);
  EXPECT_FALSE(exists(out));
}

struct ReproTest : ::testing::Test {
  void SetUp() override {
    dir = fwtest::temp_dir("repro");
    base = dir + "/base.safetensors";
    // Large enough for ATen and the DARE loop to split work over threads.
    const auto fill = [](int64_t n, double phase) {
      std::vector<float> v(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) v[i] = static_cast<float>(std::sin(0.37 * i + phase));
      return v;
    };
    fwtest::write_safetensors(
        base, {{"w", {300, 257}, fill(300 * 257, 0.0)}, {"v", {1000}, fill(1000, 1.0)}});
    for (int i = 0; i < 3; ++i) {
      members.push_back(dir + "/m" + std::to_string(i) + ".safetensors");
      fwtest::write_safetensors(members.back(), {{"w", {300, 257}, fill(300 * 257, 2.0 + i)},
                                                 {"v", {1000}, fill(1000, 7.0 + i)}});
    }
    for (const auto &m : members) ptrs.push_back(m.c_str());
  }
  std::vector<uint8_t> run(fw_merge_params p, const std::string &name) {
    const std::string out = dir + "/" + name;
    EXPECT_EQ(fw_merge(&p, base.c_str(), ptrs.data(), ptrs.size(), out.c_str(), nullptr), FW_OK)
        << fw_last_error();
    return fwtest::read_bytes(out);
  }
  std::string dir, base;
  std::vector<std::string> members;
  std::vector<const char *> ptrs;
};

TEST_F(ReproTest, SameSeedSameBytesOtherSeedOtherBytes) {
  fw_merge_params p = fw_default_merge_params(FW_MERGE_METHOD_DARE_TIES);
  p.drop_rate = 0.7;
  p.seed = 11;
  const auto first = run(p, "d1.safetensors");
  EXPECT_EQ(first, run(p, "d2.safetensors"));
  p.seed = 12;
  EXPECT_NE(first, run(p, "d3.safetensors"));
}

TEST_F(ReproTest, ThreadCountDoesNotChangeTheExport) {
  for (fw_merge_method m :
       {FW_MERGE_METHOD_LINEAR, FW_MERGE_METHOD_TASK_ARITHMETIC, FW_MERGE_METHOD_TIES,
        FW_MERGE_METHOD_DARE_LINEAR, FW_MERGE_METHOD_DARE_TIES, FW_MERGE_METHOD_BREADCRUMBS,
        FW_MERGE_METHOD_MODEL_STOCK, FW_MERGE_METHOD_BREADCRUMBS_TIES}) {
    fw_merge_params p = fw_default_merge_params(m);
    p.seed = 5;
    p.threads = 1;
    const auto one = run(p, "t1.safetensors");
    p.threads = 2;
    EXPECT_EQ(one, run(p, "t2.safetensors")) << m;
  }
}

TEST(MixedPool, FullCheckpointAndAdapterThroughFwMerge) {
  const std::string dir = fwtest::temp_dir("mixed");
  const std::string base = lf::write_base(dir);
  // A full fine-tune: q_proj shifted by +1 everywhere, the rest equal to the base.
  std::vector<TestTensor> full = lf::base_tensors();
  for (auto &t : full)
    if (t.name == "model.layers.0.q_proj.weight")
      for (float &v : t.values) v += 1.0f;
  const std::string full_path = dir + "/full.safetensors";
  fwtest::write_safetensors(full_path, full);
  const std::vector<float> a = lf::ramp(8, 0.2f, -0.1f), b = lf::ramp(6, -0.3f, 0.15f);
  const std::string adapter =
      lf::write_adapter("mixed_adapter", R"({"r": 2, "lora_alpha": 4})",
                        {{"base_model.model.model.layers.0.q_proj.lora_A.weight", {2, 4}, a},
                         {"base_model.model.model.layers.0.q_proj.lora_B.weight", {3, 2}, b}});
  const char *pool[] = {full_path.c_str(), adapter.c_str()};
  fw_merge_params p = fw_default_merge_params(FW_MERGE_METHOD_TASK_ARITHMETIC);
  p.scaling = 0.5;
  const std::string out = dir + "/out.safetensors";
  ASSERT_EQ(fw_merge(&p, base.c_str(), pool, 2, out.c_str(), nullptr), FW_OK) << fw_last_error();
  // q: W + 0.5 * (1 + 2 * B @ A) = (W + 0.5) + 1.0 * B @ A.
  std::vector<float> w = lf::find(lf::base_tensors(), "model.layers.0.q_proj.weight").values;
  for (float &v : w) v += 0.5f;
  mt::expect_near(mt::vec(read_tensor(out, "model.layers.0.q_proj.weight")),
                  lf::lora_expected(w, a, b, 3, 2, 4, 1.0, false), 1e-5);
  mt::expect_near(mt::vec(read_tensor(out, "classifier.weight")),
                  lf::find(lf::base_tensors(), "classifier.weight").values);

  // An adapter for a base of another shape: named error, nothing written.
  const std::string wrong = lf::write_adapter(
      "wrong_adapter", R"({"r": 2, "lora_alpha": 4})",
      {{"base_model.model.model.layers.0.q_proj.lora_A.weight", {2, 8}, lf::ramp(16, 0, 1)},
       {"base_model.model.model.layers.0.q_proj.lora_B.weight", {3, 2}, b}});
  const char *bad_pool[] = {full_path.c_str(), wrong.c_str()};
  const std::string bad_out = dir + "/bad.safetensors";
  EXPECT_EQ(fw_merge(&p, base.c_str(), bad_pool, 2, bad_out.c_str(), nullptr),
            FW_ERR_SHAPE_MISMATCH)
      << fw_last_error();
  EXPECT_FALSE(exists(bad_out));
}

}  // namespace
