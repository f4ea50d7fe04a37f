// PEFT LoRA adapters as checkpoints: W + scale * (B @ A) per tensor against a direct computation,
// scale rules (alpha / r, rsLoRA, rank/alpha patterns), fan_in_fan_out, embeddings,
// modules_to_save, and the rejected variants.
#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <cmath>

#include "capi/status_map.h"
#include "io/checkpoint.h"
#include "io/lora_adapter.h"
#include "lora_fixture.h"
#include "merge_test_util.h"
#include "util/error.h"

namespace {

using fwtest::TestTensor;

const char kP[] = "base_model.model.";

struct LoraTest : ::testing::Test {
  void SetUp() override {
    dir = fwtest::temp_dir("lora");
    base = fw::open_checkpoint(lf::write_base(dir), nullptr);
    bt = lf::base_tensors();
  }
  const std::vector<float> &w(const std::string &name) { return lf::find(bt, name).values; }
  fw_status open_status(const std::string &adapter) {
    try {
      fw::open_lora_adapter(adapter, base.get());
      return FW_OK;
    } catch (const fw::Error &e) {
      last_message = e.what();
      return fw::capi::to_public(e.code());
    }
  }
  std::string dir, last_message;
  std::unique_ptr<fw::Checkpoint> base;
  std::vector<TestTensor> bt;
};

const std::vector<float> kA2x4 = lf::ramp(8, 0.2f, -0.1f), kB3x2 = lf::ramp(6, -0.3f, 0.15f);

TEST_F(LoraTest, LinearPatternsEmbeddingAndModulesToSave) {
  const std::vector<float> a_v = {0.5f, -1.0f, 0.25f, 2.0f}, b_v = {1.0f, 0.0f, -2.0f};
  const std::vector<float> ea = lf::ramp(10, 0.1f, 0.05f), eb = lf::ramp(6, -0.2f, 0.1f);
  const std::vector<float> cls = {9, 8, 7, 6, 5, 4};
  const std::string adapter =
      lf::write_adapter("adapter",
                        R"({"peft_type": "LORA", "r": 2, "lora_alpha": 4, "use_rslora": false,
          "rank_pattern": {"v_proj": 1}, "alpha_pattern": {"v_proj": 3},
          "target_modules": ["q_proj", "v_proj", "embed_tokens"], "modules_to_save": ["classifier"],
          "use_dora": false, "lora_dropout": 0.05, "bias": "none", "task_type": "CAUSAL_LM",
          "some_future_flag": null})",
                        {{std::string(kP) + "model.layers.0.q_proj.lora_A.weight", {2, 4}, kA2x4},
                         {std::string(kP) + "model.layers.0.q_proj.lora_B.weight", {3, 2}, kB3x2},
                         {std::string(kP) + "model.layers.0.v_proj.lora_A.weight", {1, 4}, a_v},
                         {std::string(kP) + "model.layers.0.v_proj.lora_B.weight", {3, 1}, b_v},
                         {std::string(kP) + "model.embed_tokens.lora_embedding_A", {2, 5}, ea},
                         {std::string(kP) + "model.embed_tokens.lora_embedding_B", {3, 2}, eb},
                         {std::string(kP) + "classifier.weight", {2, 3}, cls}});
  const auto ckpt = fw::open_lora_adapter(adapter, base.get());
  fw::check_compatible(*base, *ckpt);  // same names, shapes, dtypes as the base

  // q_proj: scale = 4 / 2 = 2.
  mt::expect_near(
      ckpt->load_f32("model.layers.0.q_proj.weight"),
      lf::lora_expected(w("model.layers.0.q_proj.weight"), kA2x4, kB3x2, 3, 2, 4, 2.0, false));
  // v_proj: rank 1 and alpha 3 from the patterns: scale 3.
  mt::expect_near(
      ckpt->load_f32("model.layers.0.v_proj.weight"),
      lf::lora_expected(w("model.layers.0.v_proj.weight"), a_v, b_v, 3, 1, 4, 3.0, false));
  // Embedding [5, 3] += 2 * (B [3, 2] @ A [2, 5])^T.
  mt::expect_near(ckpt->load_f32("model.embed_tokens.weight"),
                  lf::lora_expected(w("model.embed_tokens.weight"), ea, eb, 3, 2, 5, 2.0, true));
  // modules_to_save: replaced as a whole; the bias is untouched.
  mt::expect_near(ckpt->load_f32("classifier.weight"), cls);
  mt::expect_near(ckpt->load_f32("classifier.bias"), w("classifier.bias"));
  mt::expect_near(ckpt->load_f32("h.0.attn.c_attn.weight"), w("h.0.attn.c_attn.weight"));
}

TEST_F(LoraTest, RsLoraScalesBySqrtRank) {
  const std::vector<float> a = lf::ramp(16, -0.4f, 0.05f), b = lf::ramp(12, 0.3f, -0.05f);
  const std::vector<TestTensor> ts = {
      {std::string(kP) + "model.layers.0.q_proj.lora_A.weight", {4, 4}, a},
      {std::string(kP) + "model.layers.0.q_proj.lora_B.weight", {3, 4}, b}};
  const std::string rs =
      lf::write_adapter("rs", R"({"r": 4, "lora_alpha": 4, "use_rslora": true})", ts);
  const std::string plain = lf::write_adapter("plain", R"({"r": 4, "lora_alpha": 4})", ts);
  const auto w0 = w("model.layers.0.q_proj.weight");
  // rsLoRA: 4 / sqrt(4) = 2; plain: 4 / 4 = 1.
  mt::expect_near(fw::open_lora_adapter(rs, base.get())->load_f32("model.layers.0.q_proj.weight"),
                  lf::lora_expected(w0, a, b, 3, 4, 4, 2.0, false));
  mt::expect_near(
      fw::open_lora_adapter(plain, base.get())->load_f32("model.layers.0.q_proj.weight"),
      lf::lora_expected(w0, a, b, 3, 4, 4, 1.0, false));
}

TEST_F(LoraTest, FanInFanOutTransposesAndLegacyNamesResolve) {
  // GPT-2 Conv1D: base [in 4, out 6]; PEFT stores A [r, in] and B [out, r]; the module is
  // "transformer.h.0.attn.c_attn", the base file names it "h.0.attn.c_attn.weight".
  const std::vector<float> a = lf::ramp(8, 0.1f, 0.1f), b = lf::ramp(12, -0.5f, 0.1f);
  const std::string adapter = lf::write_adapter(
      "conv1d", R"({"r": 2, "lora_alpha": 1, "fan_in_fan_out": true})",
      {{std::string(kP) + "transformer.h.0.attn.c_attn.lora_A.weight", {2, 4}, a},
       {std::string(kP) + "transformer.h.0.attn.c_attn.lora_B.weight", {6, 2}, b}});
  mt::expect_near(fw::open_lora_adapter(adapter, base.get())->load_f32("h.0.attn.c_attn.weight"),
                  lf::lora_expected(w("h.0.attn.c_attn.weight"), a, b, 6, 2, 4, 0.5, true));
}

TEST_F(LoraTest, PatternSemanticsFollowPeft) {
  const std::vector<TestTensor> rank1 = {
      {std::string(kP) + "model.layers.0.v_proj.lora_A.weight", {1, 4}, {1, 2, 3, 4}},
      {std::string(kP) + "model.layers.0.v_proj.lora_B.weight", {3, 1}, {1, -1, 0.5f}}};
  const auto w0 = w("model.layers.0.v_proj.weight");
  // A dotted suffix matches; the first matching pattern in file order wins (1, not 5).
  std::string a = lf::write_adapter(
      "p1", R"({"r": 8, "lora_alpha": 2, "rank_pattern": {"layers.0.v_proj": 1, "v_proj": 5}})",
      rank1);
  mt::expect_near(fw::open_lora_adapter(a, base.get())->load_f32("model.layers.0.v_proj.weight"),
                  lf::lora_expected(w0, {1, 2, 3, 4}, {1, -1, 0.5f}, 3, 1, 4, 2.0, false));
  // A regex over the whole name.
  a = lf::write_adapter(
      "p2",
      R"({"r": 8, "lora_alpha": 8, "rank_pattern": {"model\\.layers\\.\\d+\\.v_proj": 1},
                            "alpha_pattern": {"v_proj": 0.5}})",
      rank1);
  mt::expect_near(fw::open_lora_adapter(a, base.get())->load_f32("model.layers.0.v_proj.weight"),
                  lf::lora_expected(w0, {1, 2, 3, 4}, {1, -1, 0.5f}, 3, 1, 4, 0.5, false));
  // "proj" is not a dotted suffix of "...v_proj": r stays 8, which the rank-1 factors contradict.
  a = lf::write_adapter("p3", R"({"r": 8, "lora_alpha": 8, "rank_pattern": {"proj": 1}})", rank1);
  EXPECT_EQ(open_status(a), FW_ERR_FORMAT);
  EXPECT_NE(last_message.find("[adapter_rank]"), std::string::npos) << last_message;
}

TEST_F(LoraTest, RejectsVariantsThatChangeTheMath) {
  const std::vector<TestTensor> q = {
      {std::string(kP) + "model.layers.0.q_proj.lora_A.weight", {2, 4}, kA2x4},
      {std::string(kP) + "model.layers.0.q_proj.lora_B.weight", {3, 2}, kB3x2}};
  const auto status = [&](const std::string &config, std::vector<TestTensor> ts) {
    return open_status(lf::write_adapter("bad", config, ts));
  };
  EXPECT_EQ(status(R"({"r": 2, "lora_alpha": 2, "use_dora": true})", q), FW_ERR_UNSUPPORTED);
  EXPECT_NE(last_message.find("DoRA"), std::string::npos);
  EXPECT_EQ(status(R"({"r": 2, "lora_alpha": 2, "lora_bias": true})", q), FW_ERR_UNSUPPORTED);
  EXPECT_EQ(status(R"({"r": 2, "lora_alpha": 2, "layer_replication": [[0, 1]]})", q),
            FW_ERR_UNSUPPORTED);
  EXPECT_EQ(status(R"({"r": 2, "lora_alpha": 2, "init_lora_weights": "pissa"})", q),
            FW_ERR_UNSUPPORTED);
  EXPECT_EQ(status(R"({"r": 2, "lora_alpha": 2, "peft_type": "IA3"})", q), FW_ERR_UNSUPPORTED);
  EXPECT_EQ(status(R"({"r": 2, "lora_alpha": 2, "brand_new_trick": 0.5})", q), FW_ERR_UNSUPPORTED);
  EXPECT_NE(last_message.find("brand_new_trick"), std::string::npos);
  // DoRA's magnitude vector in the weights, even without the flag.
  std::vector<TestTensor> dora = q;
  dora.push_back({std::string(kP) + "model.layers.0.q_proj.lora_magnitude_vector", {3}, {1, 1, 1}});
  EXPECT_EQ(status(R"({"r": 2, "lora_alpha": 2})", dora), FW_ERR_UNSUPPORTED);
  // Gaussian init is harmless.
  EXPECT_EQ(status(R"({"r": 2, "lora_alpha": 2, "init_lora_weights": "gaussian"})", q), FW_OK);
}

TEST_F(LoraTest, RejectsAdaptersThatDoNotFitTheBase) {
  const std::string cfg = R"({"r": 2, "lora_alpha": 2})";
  const auto status = [&](std::vector<TestTensor> ts, const std::string &config) {
    return open_status(lf::write_adapter("fit", config, ts));
  };
  // in = 5 where the base has 4.
  EXPECT_EQ(
      status({{std::string(kP) + "model.layers.0.q_proj.lora_A.weight", {2, 5}, lf::ramp(10, 0, 1)},
              {std::string(kP) + "model.layers.0.q_proj.lora_B.weight", {3, 2}, kB3x2}},
             cfg),
      FW_ERR_SHAPE_MISMATCH);
  // A module the base does not have.
  EXPECT_EQ(status({{std::string(kP) + "model.layers.9.q_proj.lora_A.weight", {2, 4}, kA2x4},
                    {std::string(kP) + "model.layers.9.q_proj.lora_B.weight", {3, 2}, kB3x2}},
                   cfg),
            FW_ERR_NAME_MISMATCH);
  // A without B.
  EXPECT_EQ(status({{std::string(kP) + "model.layers.0.q_proj.lora_A.weight", {2, 4}, kA2x4}}, cfg),
            FW_ERR_FORMAT);
  // Rank 2 factors, config r = 4.
  EXPECT_EQ(status({{std::string(kP) + "model.layers.0.q_proj.lora_A.weight", {2, 4}, kA2x4},
                    {std::string(kP) + "model.layers.0.q_proj.lora_B.weight", {3, 2}, kB3x2}},
                   R"({"r": 4, "lora_alpha": 2})"),
            FW_ERR_FORMAT);
  // A replacement of the wrong shape.
  EXPECT_EQ(status({{std::string(kP) + "classifier.weight", {3, 2}, lf::ramp(6, 0, 1)}}, cfg),
            FW_ERR_SHAPE_MISMATCH);
  // Keys without the PEFT prefix, a config without r, a folder without weights.
  EXPECT_EQ(status({{"model.layers.0.q_proj.lora_A.weight", {2, 4}, kA2x4}}, cfg), FW_ERR_FORMAT);
  EXPECT_EQ(status({}, R"({"lora_alpha": 2})"), FW_ERR_FORMAT);
  const std::string empty = fwtest::temp_dir("noweights");
  std::ofstream(empty + "/adapter_config.json") << cfg;
  EXPECT_EQ(open_status(empty), FW_ERR_FORMAT);
  // No base.
  try {
    fw::open_lora_adapter(empty, nullptr);
    ADD_FAILURE() << "no error";
  } catch (const fw::Error &e) {
    EXPECT_EQ(fw::capi::to_public(e.code()), FW_ERR_INVALID_ARGUMENT);
  }
}

TEST(LoraDeterminism, ThreadCountDoesNotChangeTheDelta) {
  // A larger projection so the matmul and the add are split over threads.
  const std::string dir = fwtest::temp_dir("lora_threads");
  const int64_t out = 384, in = 512, r = 16;
  const auto fill = [](int64_t n, double f) {
    std::vector<float> v(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) v[i] = static_cast<float>(std::sin(f * static_cast<double>(i)));
    return v;
  };
  const std::string base_path = dir + "/base.safetensors";
  fwtest::write_safetensors(base_path, {{"layer.weight", {out, in}, fill(out * in, 0.11)}});
  const auto base = fw::open_checkpoint(base_path, nullptr);
  const std::string adapter =
      lf::write_adapter("lora_threads_adapter", R"({"r": 16, "lora_alpha": 32})",
                        {{std::string(kP) + "layer.lora_A.weight", {r, in}, fill(r * in, 0.37)},
                         {std::string(kP) + "layer.lora_B.weight", {out, r}, fill(out * r, 0.53)}});
  const auto ckpt = fw::open_lora_adapter(adapter, base.get());
  const int saved = at::get_num_threads();
  at::set_num_threads(1);
  const at::Tensor one = ckpt->load_f32("layer.weight").clone();
  at::set_num_threads(2);
  const at::Tensor two = ckpt->load_f32("layer.weight").clone();
  at::set_num_threads(saved);
  EXPECT_TRUE(mt::same_bytes(one, two));
  // And it is W + 2 B @ A.
  const std::vector<float> expected = lf::lora_expected(
      fill(out * in, 0.11), fill(r * in, 0.37), fill(out * r, 0.53), out, r, in, 2.0, false);
  mt::expect_near(one, expected, 1e-4);
}

}  // namespace

namespace {

// peft's save_embedding_layers: the embedding's own weights under
// "<module>.base_layer.weight" next to its LoRA factors. merge_and_unload gives the saved weights
// plus the LoRA delta; a base_layer without factors replaces the tensor; anything else patched
// twice stays a conflict.
TEST_F(LoraTest, SavedEmbeddingLayersReplaceTheBaseUnderTheirFactors) {
  const std::vector<float> saved = lf::ramp(15, 2.0f, -0.2f);  // [5, 3], not the base's values
  const std::vector<float> ea = lf::ramp(10, 0.1f, 0.05f), eb = lf::ramp(6, -0.2f, 0.1f);
  const std::vector<float> head = lf::ramp(6, -1.0f, 0.4f);
  const std::string config =
      R"({"peft_type": "LORA", "r": 2, "lora_alpha": 4, "target_modules": ["embed_tokens"]})";
  const std::string adapter =
      lf::write_adapter("adapter_embed", config,
                        {{std::string(kP) + "model.embed_tokens.base_layer.weight", {5, 3}, saved},
                         {std::string(kP) + "model.embed_tokens.lora_embedding_A", {2, 5}, ea},
                         {std::string(kP) + "model.embed_tokens.lora_embedding_B", {3, 2}, eb},
                         {std::string(kP) + "classifier.base_layer.weight", {2, 3}, head}});
  const auto ckpt = fw::open_lora_adapter(adapter, base.get());
  fw::check_compatible(*base, *ckpt);
  // saved [5, 3] + (4 / 2) * (B [3, 2] @ A [2, 5])^T.
  mt::expect_near(ckpt->load_f32("model.embed_tokens.weight"),
                  lf::lora_expected(saved, ea, eb, 3, 2, 5, 2.0, true));
  mt::expect_near(ckpt->load_f32("classifier.weight"), head);
  mt::expect_near(ckpt->load_f32("model.layers.0.q_proj.weight"),
                  w("model.layers.0.q_proj.weight"));

  // A modules_to_save copy and LoRA factors on one tensor: still refused.
  const std::string twice =
      lf::write_adapter("adapter_twice", config,
                        {{std::string(kP) + "model.embed_tokens.weight", {5, 3}, saved},
                         {std::string(kP) + "model.embed_tokens.lora_embedding_A", {2, 5}, ea},
                         {std::string(kP) + "model.embed_tokens.lora_embedding_B", {3, 2}, eb}});
  try {
    fw::open_lora_adapter(twice, base.get());
    ADD_FAILURE() << "expected a conflict";
  } catch (const fw::Error &e) {
    EXPECT_EQ(fw::capi::to_public(e.code()), FW_ERR_FORMAT);
    EXPECT_NE(std::string(e.what()).find("patched twice"), std::string::npos) << e.what();
  }
}

}  // namespace
