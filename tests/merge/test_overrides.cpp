// Per-tensor merge parameters (fw_merge_params.overrides) through fw_merge and
// fw_solver_set_start_merge: hand-computed merges, first match wins, members without an override
// keep their values bit for bit, the recipe lists them, and every bad entry is a named error with
// nothing written.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "fwmerge.h"
#include "io/checkpoint.h"
#include "io/safetensors_reader.h"
#include "merge_test_util.h"
#include "test_support.h"

namespace {

std::vector<float> read_tensor(const std::string &path, const std::string &name) {
  const auto ckpt = fw::open_checkpoint(path, nullptr);
  return mt::values(ckpt->load_f32(name).clone());
}

std::vector<uint8_t> raw_bytes(const std::string &path, const std::string &name) {
  const auto ckpt = fw::open_checkpoint(path, nullptr);
  const fw::TensorMeta *meta = ckpt->find(name);
  std::vector<uint8_t> bytes(static_cast<size_t>(meta->numel) * 4);
  ckpt->read_raw_range(name, 0, meta->numel, bytes.data());
  return bytes;
}

// Base: every entry 1. Member i adds tau_i: the layers get [1, 2, 3, 4] and ten times that, the
// head [1, 1] and [2, 2].
struct OverridesTest : ::testing::Test {
  void SetUp() override {
    dir = fwtest::temp_dir("overrides");
    base = dir + "/base.safetensors";
    fwtest::write_safetensors(base, {{"layers.0.w", {4}, {1, 1, 1, 1}},
                                     {"layers.1.w", {4}, {1, 1, 1, 1}},
                                     {"head.b", {2}, {1, 1}}});
    const std::vector<float> scale = {1, 10};
    for (int i = 0; i < 2; ++i) {
      const float s = scale[i];
      members.push_back(dir + "/m" + std::to_string(i) + ".safetensors");
      const std::vector<float> layer = {1 + s, 1 + 2 * s, 1 + 3 * s, 1 + 4 * s};
      const float h = 1.0f + static_cast<float>(i + 1);
      fwtest::write_safetensors(
          members.back(),
          {{"layers.0.w", {4}, layer}, {"layers.1.w", {4}, layer}, {"head.b", {2}, {h, h}}});
    }
    for (const auto &m : members) member_ptrs.push_back(m.c_str());
  }
  fw_status merge(const fw_merge_params &p, const std::string &out) {
    return fw_merge(&p, base.c_str(), member_ptrs.data(), member_ptrs.size(), out.c_str(), nullptr);
  }
  std::string dir, base;
  std::vector<std::string> members;
  std::vector<const char *> member_ptrs;
};

TEST_F(OverridesTest, TaskArithmeticWeightsAndScalingPerTensorFirstMatchWins) {
  const fw_merge_override o[] = {
      {"layers.1.*", 1, FW_MERGE_FIELD_WEIGHT, 0.0},  // member 1 out of layer 1
      {"layers.*", -1, FW_MERGE_FIELD_WEIGHT, 2.0},   // every other (member, layer): 2
      {"layers.0.w", 0, FW_MERGE_FIELD_WEIGHT, 3.0},  // too late: member 0 of layer 0 already has 2
      {"head.*", -1, FW_MERGE_FIELD_SCALING, 0.5},
      {"*", -1, FW_MERGE_FIELD_SCALING, 7.0},  // too late for the head; the layers' scaling
  };
  fw_merge_params p = fw_default_merge_params(FW_MERGE_METHOD_TASK_ARITHMETIC);
  p.scaling = 1.0;
  p.overrides = o;
  p.n_overrides = 5;
  const std::string out = dir + "/ta.safetensors";
  ASSERT_EQ(merge(p, out), FW_OK) << fw_last_error();
  // layer 0: 1 + 7 * 2 * (tau_0 + tau_1) = 1 + 14 * [11, 22, 33, 44].
  mt::expect_near(mt::vec(read_tensor(out, "layers.0.w")), {155, 309, 463, 617});
  // layer 1: 1 + 7 * 2 * tau_0.
  mt::expect_near(mt::vec(read_tensor(out, "layers.1.w")), {15, 29, 43, 57});
  // head: 1 + 0.5 * (1 + 2), weights 1.
  mt::expect_near(mt::vec(read_tensor(out, "head.b")), {2.5f, 2.5f});
  // The recipe lists them in order.
  const auto file = fw::SafetensorsFile::open(out);
  const auto recipe = nlohmann::json::parse(file->metadata().at("fwmerge.recipe"));
  const auto &listed = recipe["merge"]["overrides"];
  ASSERT_EQ(listed.size(), 5u);
  EXPECT_EQ(listed[0]["tensors"], "layers.1.*");
  EXPECT_EQ(listed[0]["member"], 1);
  EXPECT_EQ(listed[0]["field"], "weight");
  EXPECT_EQ(listed[3]["field"], "scaling");
  EXPECT_EQ(listed[3]["value"], 0.5);
}

TEST_F(OverridesTest, TiesDensityPerTensor) {
  // Base 0 here: member 0's task vector [4, -3, 2, 1], member 1's [1, 2, 3, -4], in "x" and "y".
  const std::string b = dir + "/zero.safetensors", m0 = dir + "/t0.safetensors",
                    m1 = dir + "/t1.safetensors";
  fwtest::write_safetensors(b, {{"x", {4}, {0, 0, 0, 0}}, {"y", {4}, {0, 0, 0, 0}}});
  fwtest::write_safetensors(m0, {{"x", {4}, {4, -3, 2, 1}}, {"y", {4}, {4, -3, 2, 1}}});
  fwtest::write_safetensors(m1, {{"x", {4}, {1, 2, 3, -4}}, {"y", {4}, {1, 2, 3, -4}}});
  const fw_merge_override o[] = {{"x", 0, FW_MERGE_FIELD_DENSITY, 0.5},
                                 {"x", 1, FW_MERGE_FIELD_DENSITY, 0.25}};
  fw_merge_params p = fw_default_merge_params(FW_MERGE_METHOD_TIES);
  p.density = 1.0;
  p.normalize = 0;
  p.overrides = o;
  p.n_overrides = 2;
  const char *pool[] = {m0.c_str(), m1.c_str()};
  const std::string out = dir + "/ties.safetensors";
  ASSERT_EQ(fw_merge(&p, b.c_str(), pool, 2, out.c_str(), nullptr), FW_OK) << fw_last_error();
  // x: member 0 keeps its top 2 [4, -3, 0, 0], member 1 its top 1 [0, 0, 0, -4]; signs of the
  // sums [+, -, none, -]: the disjoint sum [4, -3, 0, -4].
  mt::expect_near(mt::vec(read_tensor(out, "x")), {4, -3, 0, -4});
  // y, density 1: sums [5, -1, 5, -3] elect [+, -, +, -]; agreeing entries summed.
  mt::expect_near(mt::vec(read_tensor(out, "y")), {5, -3, 5, -4});
}

TEST_F(OverridesTest, DareMembersWithoutAnOverrideKeepTheirDrawsBitForBit) {
  fw_merge_params p = fw_default_merge_params(FW_MERGE_METHOD_DARE_LINEAR);
  p.drop_rate = 0.5;
  p.scaling = 1.0;
  p.seed = 7;
  const std::string plain = dir + "/dare_plain.safetensors", with = dir + "/dare_with.safetensors";
  ASSERT_EQ(merge(p, plain), FW_OK) << fw_last_error();
  // Layer 1: member 0 out, member 1 kept whole (keep probability 1: no drop, no rescale).
  const fw_merge_override o[] = {{"layers.1.w", 0, FW_MERGE_FIELD_WEIGHT, 0.0},
                                 {"layers.1.w", 1, FW_MERGE_FIELD_DENSITY, 1.0}};
  p.overrides = o;
  p.n_overrides = 2;
  ASSERT_EQ(merge(p, with), FW_OK) << fw_last_error();
  mt::expect_near(mt::vec(read_tensor(with, "layers.1.w")), {11, 21, 31, 41});
  for (const char *name : {"layers.0.w", "head.b"})
    EXPECT_EQ(raw_bytes(with, name), raw_bytes(plain, name)) << name;
}

TEST_F(OverridesTest, StartMergeAppliesThem) {
  fw_solver *solver = nullptr;
  ASSERT_EQ(fw_solver_new(nullptr, &solver), FW_OK);
  ASSERT_EQ(fw_solver_set_base(solver, base.c_str()), FW_OK) << fw_last_error();
  for (const char *m : member_ptrs) ASSERT_EQ(fw_solver_pool_add(solver, m, nullptr), FW_OK);
  const fw_merge_override o[] = {{"head.b", 1, FW_MERGE_FIELD_WEIGHT, 0.0}};
  fw_merge_params p = fw_default_merge_params(FW_MERGE_METHOD_TASK_ARITHMETIC);
  p.scaling = 1.0;
  p.overrides = o;
  p.n_overrides = 1;
  ASSERT_EQ(fw_solver_set_start_merge(solver, &p), FW_OK) << fw_last_error();
  const fw_tensor *views = nullptr;
  size_t n = 0;
  ASSERT_EQ(fw_solver_current(solver, &views, &n), FW_OK);
  ASSERT_EQ(n, 3u);
  for (size_t t = 0; t < n; ++t) {
    const float *v = static_cast<const float *>(views[t].data);
    if (std::string(views[t].name) == "head.b") {
      EXPECT_EQ(v[0], 2.0f);  // 1 + tau_0 only
      EXPECT_EQ(v[1], 2.0f);
    } else {
      EXPECT_EQ(v[0], 12.0f);  // 1 + 1 + 10
    }
  }
  fw_solver_free(solver);
}

TEST_F(OverridesTest, EveryBadEntryIsANamedErrorAndNothingIsWritten) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  struct Case {
    fw_merge_method method;
    fw_merge_override entry;
    const char *message;
  };
  const Case cases[] = {
      {FW_MERGE_METHOD_TASK_ARITHMETIC,
       {"*", 2, FW_MERGE_FIELD_WEIGHT, 1.0},
       "member 2 is outside [-1, 2)"},
      {FW_MERGE_METHOD_TASK_ARITHMETIC,
       {"*", -2, FW_MERGE_FIELD_WEIGHT, 1.0},
       "member -2 is outside"},
      {FW_MERGE_METHOD_LINEAR,
       {"*", 0, FW_MERGE_FIELD_DENSITY, 0.5},
       "the method takes no density"},
      {FW_MERGE_METHOD_TIES, {"*", 0, FW_MERGE_FIELD_BETA, 0.1}, "the method takes no beta"},
      {FW_MERGE_METHOD_MODEL_STOCK,
       {"*", 0, FW_MERGE_FIELD_WEIGHT, 1.0},
       "model_stock takes no weights"},
      {FW_MERGE_METHOD_TIES, {"*", 0, FW_MERGE_FIELD_SCALING, 1.0}, "member must be -1"},
      {FW_MERGE_METHOD_TIES, {"*", 0, FW_MERGE_FIELD_DENSITY, 0.0}, "density 0 is outside (0, 1]"},
      {FW_MERGE_METHOD_BREADCRUMBS, {"*", 0, FW_MERGE_FIELD_BETA, 1.0}, "beta 1 is outside [0, 1)"},
      {FW_MERGE_METHOD_TIES, {"*", 1, FW_MERGE_FIELD_WEIGHT, nan}, "the weight is not finite"},
      {FW_MERGE_METHOD_TIES, {"*", -1, FW_MERGE_FIELD_SCALING, nan}, "scaling is not finite"},
      {FW_MERGE_METHOD_TIES, {"", 0, FW_MERGE_FIELD_WEIGHT, 1.0}, "empty tensors pattern"},
  };
  const std::string out = dir + "/bad.safetensors";
  for (const Case &c : cases) {
    fw_merge_params p = fw_default_merge_params(c.method);
    p.overrides = &c.entry;
    p.n_overrides = 1;
    EXPECT_EQ(merge(p, out), FW_ERR_INVALID_ARGUMENT) << c.message;
    EXPECT_NE(std::string(fw_last_error()).find(c.message), std::string::npos) << fw_last_error();
    EXPECT_NE(std::string(fw_last_error()).find("overrides[0]"), std::string::npos);
  }
  // An unknown field, stored as the integer a C caller could put there.
  fw_merge_override unknown = {"*", 0, FW_MERGE_FIELD_WEIGHT, 1.0};
  const int32_t nine = 9;
  std::memcpy(static_cast<void *>(&unknown.field), &nine, sizeof nine);
  fw_merge_params p = fw_default_merge_params(FW_MERGE_METHOD_TIES);
  p.overrides = &unknown;
  p.n_overrides = 1;
  EXPECT_EQ(merge(p, out), FW_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(fw_last_error()).find("unknown field 9"), std::string::npos);
  p.overrides = nullptr;
  EXPECT_EQ(merge(p, out), FW_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(fw_last_error()).find("overrides is NULL"), std::string::npos);
  // Weights that sum to 0 for one tensor of a normalized linear merge: found at that tensor.
  const fw_merge_override zero[] = {{"head.*", 0, FW_MERGE_FIELD_WEIGHT, 1.0},
                                    {"head.*", 1, FW_MERGE_FIELD_WEIGHT, -1.0}};
  fw_merge_params lin = fw_default_merge_params(FW_MERGE_METHOD_LINEAR);
  lin.overrides = zero;
  lin.n_overrides = 2;
  EXPECT_EQ(merge(lin, out), FW_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(fw_last_error()).find("summing to 0 for tensor \"head.b\""),
            std::string::npos)
      << fw_last_error();
  // A merge function has no members to override.
  fw_solver *solver = nullptr;
  ASSERT_EQ(fw_solver_new(nullptr, &solver), FW_OK);
  fw_merge_params fn = fw_default_merge_params(FW_MERGE_METHOD_TIES);
  fn.overrides = zero;
  fn.n_overrides = 1;
  EXPECT_EQ(fw_solver_set_merge_function(solver, &fn), FW_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(fw_last_error()).find("fw_merge's and fw_solver_set_start_merge's"),
            std::string::npos)
      << fw_last_error();
  fw_solver_free(solver);
  for (const std::string &name : fwtest::list_dir(dir))
    EXPECT_TRUE(name.find("bad") == std::string::npos && name.find(".tmp-") == std::string::npos)
        << name;
}

}  // namespace
