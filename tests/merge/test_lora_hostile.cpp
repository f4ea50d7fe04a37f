// Hostile adapter configs and inputs that change while they are read (issue 8): PEFT's pattern
// keys are regexes from files, so a pattern must neither overflow the stack, nor crash on a long
// name, nor take exponential time; a checkpoint truncated while a merge streams it is FW_ERR_IO.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "capi/status_map.h"
#include "io/checkpoint.h"
#include "io/lora_adapter.h"
#include "io/lora_config.h"
#include "lora_fixture.h"
#include "merge/merge_spec.h"
#include "merge/streaming.h"
#include "merge_test_util.h"
#include "util/error.h"

namespace {

using fwtest::TestTensor;

const char kP[] = "base_model.model.";

struct Outcome {
  fw_status status = FW_OK;
  std::string message;
  double seconds = 0;
};

template <typename F>
Outcome run(F &&f) {
  Outcome out;
  const auto t0 = std::chrono::steady_clock::now();
  try {
    f();
  } catch (const fw::Error &e) {
    out.status = fw::capi::to_public(e.code());
    out.message = e.what();
  }
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

// A one-module adapter for the base's "model.layers.0.q_proj.weight" ([3, 4]) with `config`.
std::string q_adapter(const std::string &label, const std::string &config) {
  return lf::write_adapter(
      label, config,
      {{std::string(kP) + "model.layers.0.q_proj.lora_A.weight", {2, 4}, lf::ramp(8, 0.2f, -0.1f)},
       {std::string(kP) + "model.layers.0.q_proj.lora_B.weight",
        {3, 2},
        lf::ramp(6, -0.3f, 0.15f)}});
}

struct LoraHostile : ::testing::Test {
  void SetUp() override {
    dir = fwtest::temp_dir("lora_hostile");
    base = fw::open_checkpoint(lf::write_base(dir), nullptr);
  }
  std::string dir;
  std::unique_ptr<fw::Checkpoint> base;
};

// std::regex recursed once per parenthesis and overflowed the stack (SIGSEGV) on this key; the
// key is over the length bound, and a shorter deeply nested one still compiles or fails cleanly.
TEST_F(LoraHostile, DeeplyNestedPatternIsAFormatErrorNotAStackOverflow) {
  const std::string deep = std::string(100000, '(') + "q_proj" + std::string(100000, ')');
  Outcome o = run([&] {
    fw::open_lora_adapter(
        q_adapter("deep", R"({"r": 2, "lora_alpha": 2, "rank_pattern": {")" + deep + R"(": 2}})"),
        base.get());
  });
  EXPECT_EQ(o.status, FW_ERR_FORMAT) << o.message;
  EXPECT_NE(o.message.find("[adapter_config_pattern]"), std::string::npos) << o.message;
  EXPECT_NE(o.message.find("limit"), std::string::npos) << o.message;
  // 400 levels (under the length bound): RE2 parses it without recursion, and it matches.
  const std::string nested = std::string(400, '(') + "q_proj" + std::string(400, ')');
  o = run([&] {
    auto ckpt = fw::open_lora_adapter(
        q_adapter("nested",
                  R"({"r": 8, "lora_alpha": 2, "rank_pattern": {")" + nested + R"(": 2}})"),
        base.get());
    ckpt->load_f32("model.layers.0.q_proj.weight");
  });
  EXPECT_EQ(o.status, FW_OK) << o.message;
}

// Found while fuzzing (tests/fuzz/fuzz_lora_config.cpp): the message for a non-"LORA" peft_type
// dumped the value recursively, so a config nested a million deep overflowed the stack.
TEST_F(LoraHostile, DeeplyNestedConfigIsAFormatErrorNotAStackOverflow) {
  const std::string deep = std::string(1000000, '[') + std::string(1000000, ']');
  const Outcome o = run([&] {
    fw::open_lora_adapter(
        q_adapter("deep_config", R"({"r": 2, "lora_alpha": 2, "peft_type": )" + deep + "}"),
        base.get());
  });
  EXPECT_EQ(o.status, FW_ERR_FORMAT) << o.message;
  EXPECT_NE(o.message.find("[adapter_config_too_deep]"), std::string::npos) << o.message;
}

// A backtracking matcher takes 2^32 steps for (a|a)*b against 32 a's (over a minute measured);
// RE2 is linear. The module is named with 32 a's so the pattern is really matched against it.
TEST(LoraHostilePattern, ExponentialBacktrackingPatternMatchesInLinearTime) {
  const std::string dir = fwtest::temp_dir("lora_redos");
  const std::string module = std::string(32, 'a');
  fwtest::write_safetensors(dir + "/base.safetensors",
                            {{module + ".weight", {3, 4}, lf::ramp(12, -1.0f, 0.25f)}});
  auto base = fw::open_checkpoint(dir + "/base.safetensors", nullptr);
  const std::vector<float> a = lf::ramp(4, 0.5f, 0.25f), b = {1.0f, -1.0f, 2.0f};
  const std::string adapter = lf::write_adapter(
      "redos", R"({"r": 1, "lora_alpha": 1, "rank_pattern": {"(a|a)*b": 7, "(a|a)*": 1},
                   "alpha_pattern": {"(a|a)*b": 9}})",
      {{std::string(kP) + module + ".lora_A.weight", {1, 4}, a},
       {std::string(kP) + module + ".lora_B.weight", {3, 1}, b}});
  at::Tensor merged;
  const Outcome o = run(
      [&] { merged = fw::open_lora_adapter(adapter, base.get())->load_f32(module + ".weight"); });
  ASSERT_EQ(o.status, FW_OK) << o.message;
  EXPECT_LT(o.seconds, 5.0) << "pattern matching is not linear-time";
  // "(a|a)*b" does not match (no b), "(a|a)*" does: rank 1, alpha 1 (the default) -> scale 1.
  mt::expect_near(merged, lf::lora_expected(lf::ramp(12, -1.0f, 0.25f), a, b, 3, 1, 4, 1.0, false));
}

// A 200,000-character module name against ".*" crashed std::regex (recursion per character);
// names are bounded, and the error names the bound.
TEST(LoraHostilePattern, HugeModuleNameIsAFormatError) {
  const std::string dir = fwtest::temp_dir("lora_longname");
  const std::string module = std::string(200000, 'm');
  fwtest::write_safetensors(dir + "/base.safetensors", {{module + ".weight", {1, 2}, {1, 2}}});
  auto base = fw::open_checkpoint(dir + "/base.safetensors", nullptr);
  const std::string adapter =
      lf::write_adapter("longname", R"({"r": 1, "lora_alpha": 1, "rank_pattern": {".*": 1}})",
                        {{std::string(kP) + module + ".lora_A.weight", {1, 2}, {1, 1}},
                         {std::string(kP) + module + ".lora_B.weight", {1, 1}, {1}}});
  const Outcome o = run([&] { fw::open_lora_adapter(adapter, base.get()); });
  EXPECT_EQ(o.status, FW_ERR_FORMAT) << o.message;
  EXPECT_NE(o.message.find("[adapter_key]"), std::string::npos) << o.message;
  EXPECT_NE(o.message.find("4096"), std::string::npos) << o.message;
}

// A config's regex keys each cost a compiled matcher (20,000 complex ones took 27 s and 1.7 GB):
// past kMaxLoraRegexPatterns the config is a named format error, before any memory goes.
TEST(LoraHostilePattern, TooManyRegexKeysAreAFormatErrorNamingTheBudget) {
  std::string patterns;
  for (size_t i = 0; i <= fw::kMaxLoraRegexPatterns; ++i)
    patterns += (i ? ", " : "") + ("\"(a|b)*layer" + std::to_string(i) + "[0-9]+\": 4");
  const std::string config = R"({"r": 2, "lora_alpha": 2, "rank_pattern": {)" + patterns + "}}";
  const Outcome o = run([&] { fw::parse_lora_config(config, "hostile/adapter_config.json"); });
  EXPECT_EQ(o.status, FW_ERR_FORMAT) << o.message;
  EXPECT_NE(o.message.find("[adapter_config_pattern_budget]"), std::string::npos) << o.message;
  EXPECT_NE(o.message.find("hostile/adapter_config.json"), std::string::npos) << o.message;

  // One fewer is within the budget, and those keys still match as regexes.
  std::string fewer;
  for (size_t i = 0; i + 1 < fw::kMaxLoraRegexPatterns; ++i)
    fewer += "\"(a|b)*layer" + std::to_string(i) + "[0-9]+\": " + std::to_string(i + 3) + ", ";
  const fw::LoraConfig c = fw::parse_lora_config(
      R"({"r": 2, "lora_alpha": 2, "rank_pattern": {)" + fewer + R"("q_proj": 1}})", "ok");
  EXPECT_EQ(fw::lora_rank_for(c, "model.xablayer712"), 2);  // "x" is in no key: the default r
  EXPECT_EQ(fw::lora_rank_for(c, "model.ablayer7" + std::string("12")), 10);  // key 7: 7 + 3
  EXPECT_EQ(fw::lora_rank_for(c, "model.layers.0.q_proj"), 1);
}

// Plain module paths (what real configs hold) compile nothing, so a config may hold many: 20,000
// of them parse, and each picks its module as PEFT's regex would (a suffix after a '.', each '.'
// of the key any one character).
TEST(LoraHostilePattern, ManyPlainKeysAreMatchedWithoutRegexes) {
  std::string patterns;
  for (int i = 0; i < 20000; ++i)
    patterns += "\"layers." + std::to_string(i) + ".q_proj\": " + std::to_string(i % 64 + 1) + ", ";
  const fw::LoraConfig c = fw::parse_lora_config(
      R"({"r": 128, "lora_alpha": 2, "rank_pattern": {)" + patterns + R"("v_proj": 99}})", "many");
  EXPECT_EQ(c.rank_pattern.size(), 20001u);
  for (const auto &rule : c.rank_pattern) ASSERT_EQ(rule.re, nullptr) << rule.key;
  EXPECT_EQ(fw::lora_rank_for(c, "model.layers.12345.q_proj"), 12345 % 64 + 1);
  EXPECT_EQ(fw::lora_rank_for(c, "layers.7.q_proj"), 8);
  EXPECT_EQ(fw::lora_rank_for(c, "model.xlayers.7.q_proj"), 128);  // not after a '.'
  EXPECT_EQ(fw::lora_rank_for(c, "model.layers.7Xq_proj"), 8);     // '.' is any one character
  EXPECT_EQ(fw::lora_rank_for(c, "model.layers.0.v_proj"), 99);
  EXPECT_EQ(fw::lora_rank_for(c, "model.layers.0.k_proj"), 128);
}

TEST_F(LoraHostile, PatternRe2RejectsIsAFormatErrorNamingIt) {
  const Outcome o = run([&] {
    fw::open_lora_adapter(
        q_adapter("badre", R"J({"r": 2, "lora_alpha": 2, "rank_pattern": {"q_proj(?=x)": 1}})J"),
        base.get());
  });
  EXPECT_EQ(o.status, FW_ERR_FORMAT) << o.message;
  EXPECT_NE(o.message.find("q_proj(?=x)"), std::string::npos) << o.message;
}

// An adapter's weights truncated after it was opened: the read is FW_ERR_IO naming the file.
TEST_F(LoraHostile, AdapterTruncatedAfterOpenIsAnIoError) {
  const std::string adapter = q_adapter("trunc", R"({"r": 2, "lora_alpha": 2})");
  auto ckpt = fw::open_lora_adapter(adapter, base.get());
  const std::string weights = adapter + "/adapter_model.safetensors";
  ASSERT_EQ(::truncate(weights.c_str(), 16), 0);
  const Outcome o = run([&] { ckpt->load_f32("model.layers.0.q_proj.weight"); });
  EXPECT_EQ(o.status, FW_ERR_IO) << o.message;
  EXPECT_NE(o.message.find(weights), std::string::npos) << o.message;
  const Outcome c = run([&] { ckpt->check_unchanged(); });
  EXPECT_EQ(c.status, FW_ERR_IO) << c.message;
}

// fw_merge's streaming loader: a member truncated after validation, while the merge runs (from
// the sink, after the first tensor), ends the merge with FW_ERR_IO naming it.
TEST(StreamingFaults, MemberTruncatedWhileTheMergeStreamsIsAnIoError) {
  const std::string dir = fwtest::temp_dir("stream_trunc");
  std::vector<TestTensor> base_t = {{"a", {64}, lf::ramp(64, 0, 0.01f)},
                                    {"b", {64}, lf::ramp(64, 1, 0.01f)}};
  fwtest::write_safetensors(dir + "/base.safetensors", base_t);
  fwtest::write_safetensors(dir + "/m0.safetensors", {{"a", {64}, lf::ramp(64, 0.5f, 0.01f)},
                                                      {"b", {64}, lf::ramp(64, 1.5f, 0.01f)}});
  fwtest::write_safetensors(dir + "/m1.safetensors", {{"a", {64}, lf::ramp(64, -0.5f, 0.01f)},
                                                      {"b", {64}, lf::ramp(64, 2.5f, 0.01f)}});
  auto base = fw::open_checkpoint(dir + "/base.safetensors", nullptr);
  auto m0 = fw::open_checkpoint(dir + "/m0.safetensors", base.get());
  auto m1 = fw::open_checkpoint(dir + "/m1.safetensors", base.get());
  fw::MergeSpec spec;
  spec.method = fw::MergeMethod::Ties;
  spec.density = 0.5;
  int delivered = 0;
  const Outcome o = run([&] {
    fw::merge_streaming(spec, *base, {m0.get(), m1.get()},
                        [&](size_t, const fw::TensorMeta &, at::Tensor) {
                          if (++delivered == 1) {
                            ASSERT_EQ(::truncate((dir + "/m1.safetensors").c_str(), 40), 0);
                          }
                        });
  });
  EXPECT_EQ(o.status, FW_ERR_IO) << o.message;
  EXPECT_NE(o.message.find(dir + "/m1.safetensors"), std::string::npos) << o.message;
  EXPECT_EQ(delivered, 1);
}

}  // namespace
