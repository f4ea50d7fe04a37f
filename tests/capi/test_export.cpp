// fw_solver_export checked against an independent parse of the written bytes: exact F32 round trip,
// F16/BF16 rounding, base dtype by default, Hugging Face shards + index, provenance metadata, and
// atomicity (a failed export leaves nothing behind).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <string>

#include "capi_fixture.h"

namespace {

using capi::Quadratic;
using T = fwtest::TestTensor;

// Three tensors (matrix, vector, scalar) in the given dtypes; two members plus the base.
capi::PoolFiles three_tensor_pool(const std::string &label, const std::string &da,
                                  const std::string &db, const std::string &dc) {
  auto model = [&](std::vector<float> a, std::vector<float> b, float c) {
    return std::vector<T>{T{"a", {2, 3}, a, da}, T{"b", {4}, b, db}, T{"c", {}, {c}, dc}};
  };
  return capi::write_pool(label, model({0, 0, 0, 0, 0, 0}, {0, 0, 0, 0}, 0),
                          {model({1, -2, 3, 0.5f, 0.25f, -1}, {2, 0, -3, 1}, 4),
                           model({-1, 1, 0, 2, -0.5f, 3}, {0, 1, 1, -2}, -2)});
}

// Two line-search steps towards a target that no vertex hits: theta ends with "arbitrary" fp32
// values (not representable in 16 bits), which is what the conversions need.
void step_twice(fw_solver *solver, Quadratic *q) {
  q->target["a"] = {0.3, -0.7, 1.1, 0.9, 0.01, 0.123};
  q->target["b"] = {0.77, 0.2, -1.3, 0.4};
  q->target["c"] = {0.333};
  ASSERT_EQ(fw_solver_set_objective_callback(solver, capi::quadratic_callback, q), FW_OK);
  for (int i = 0; i < 2; ++i) ASSERT_EQ(fw_solver_step(solver, nullptr), FW_OK) << fw_last_error();
}

const std::vector<std::string> kNames = {"a", "b", "c"};
const std::vector<std::vector<int64_t>> kShapes = {{2, 3}, {4}, {}};

// The expected little-endian bytes of `values` in `dtype`, from test_support's own conversions.
std::vector<uint8_t> encode(const std::vector<float> &values, const std::string &dtype) {
  std::vector<uint8_t> out;
  for (float v : values) {
    uint32_t bits = 0;
    size_t width = 2;
    if (dtype == "F32") {
      std::memcpy(&bits, &v, 4);
      width = 4;
    } else {
      bits = dtype == "F16" ? fwtest::f32_to_f16(v) : fwtest::f32_to_bf16(v);
    }
    for (size_t i = 0; i < width; ++i) out.push_back(static_cast<uint8_t>(bits >> (8 * i)));
  }
  return out;
}

void expect_tensors(const capi::ParsedFile &f, const fw_solver *solver,
                    const std::vector<std::string> &dtypes) {
  for (size_t t = 0; t < kNames.size(); ++t) {
    SCOPED_TRACE(kNames[t]);
    ASSERT_TRUE(f.header.contains(kNames[t]));
    EXPECT_EQ(f.header[kNames[t]].at("dtype").get<std::string>(), dtypes[t]);
    EXPECT_EQ(f.header[kNames[t]].at("shape").get<std::vector<int64_t>>(), kShapes[t]);
    const std::vector<float> theta = capi::current_values(solver, t);
    EXPECT_EQ(f.tensor_bytes(kNames[t]), encode(theta, dtypes[t]));
  }
}

class CApiExportFile : public ::testing::Test {
 protected:
  void SetUp() override {
    pool_ = three_tensor_pool("export", "F32", "F32", "F32");
    solver_ = capi::new_solver();
    capi::load_pool(solver_.get(), pool_);
    step_twice(solver_.get(), &q_);
  }
  std::string export_file(fw_dtype dtype) {
    const std::string out =
        pool_.dir + "/out_" + std::to_string(static_cast<int>(dtype)) + ".safetensors";
    fw_export_options o = fw_default_export_options();
    o.dtype = dtype;
    EXPECT_EQ(fw_solver_export(solver_.get(), out.c_str(), &o), FW_OK) << fw_last_error();
    return out;
  }
  capi::PoolFiles pool_;
  capi::SolverPtr solver_;
  Quadratic q_;
};

TEST_F(CApiExportFile, F32RoundTripIsExact) {
  const std::string out = export_file(FW_DTYPE_F32);
  const capi::ParsedFile f = capi::parse_safetensors(out);
  expect_tensors(f, solver_.get(), {"F32", "F32", "F32"});
  // Header padded to 8, data exactly 4 * (6 + 4 + 1) bytes, no holes.
  EXPECT_EQ((f.data_start - 8) % 8, 0u);
  EXPECT_EQ(f.bytes.size(), f.data_start + 4 * 11);
  // The library reads its own output back to the same values (theta as a start file).
  capi::SolverPtr again = capi::new_solver();
  ASSERT_EQ(fw_solver_set_base(again.get(), out.c_str()), FW_OK) << fw_last_error();
  for (size_t t = 0; t < kNames.size(); ++t)
    EXPECT_EQ(capi::current_values(again.get(), t), capi::current_values(solver_.get(), t));
}

TEST_F(CApiExportFile, F16AndBF16AreTheRoundedValues) {
  expect_tensors(capi::parse_safetensors(export_file(FW_DTYPE_F16)), solver_.get(),
                 {"F16", "F16", "F16"});
  expect_tensors(capi::parse_safetensors(export_file(FW_DTYPE_BF16)), solver_.get(),
                 {"BF16", "BF16", "BF16"});
  // The default for an all-F32 base is F32.
  expect_tensors(capi::parse_safetensors(export_file(FW_DTYPE_DEFAULT)), solver_.get(),
                 {"F32", "F32", "F32"});
}

TEST(CApiExport, DefaultDtypeIsEachTensorsBaseDtype) {
  const capi::PoolFiles pool = three_tensor_pool("export_mixed", "BF16", "F16", "F32");
  capi::SolverPtr solver = capi::new_solver();
  capi::load_pool(solver.get(), pool);
  Quadratic q;
  step_twice(solver.get(), &q);
  const std::string out = pool.dir + "/merged.safetensors";
  ASSERT_EQ(fw_solver_export(solver.get(), out.c_str(), nullptr), FW_OK) << fw_last_error();
  expect_tensors(capi::parse_safetensors(out), solver.get(), {"BF16", "F16", "F32"});
  // An explicit dtype overrides the base's.
  fw_export_options o = fw_default_export_options();
  o.dtype = FW_DTYPE_F32;
  ASSERT_EQ(fw_solver_export(solver.get(), out.c_str(), &o), FW_OK) << fw_last_error();
  expect_tensors(capi::parse_safetensors(out), solver.get(), {"F32", "F32", "F32"});
  o.dtype = static_cast<fw_dtype>(9);
  EXPECT_EQ(fw_solver_export(solver.get(), out.c_str(), &o), FW_ERR_INVALID_ARGUMENT);
}

// a is 24 bytes, b 16, c 4 (44 in all); with 24-byte shards at least two files are needed.
TEST_F(CApiExportFile, ShardedExportHasTheHuggingFaceLayout) {
  const std::string dir = pool_.dir + "/sharded";
  fw_export_options o = fw_default_export_options();
  o.max_shard_bytes = 24;
  ASSERT_EQ(fw_solver_export(solver_.get(), dir.c_str(), &o), FW_OK) << fw_last_error();
  const std::vector<std::string> files = capi::list_dir(dir);
  EXPECT_EQ(files, (std::vector<std::string>{"model-00001-of-00002.safetensors",
                                             "model-00002-of-00002.safetensors",
                                             "model.safetensors.index.json"}));
  const std::vector<uint8_t> index_bytes =
      fwtest::read_bytes(dir + "/model.safetensors.index.json");
  const nlohmann::json index = nlohmann::json::parse(index_bytes.begin(), index_bytes.end());
  EXPECT_EQ(index.at("metadata").at("total_size").get<uint64_t>(), 44u);
  const auto &weight_map = index.at("weight_map");
  EXPECT_EQ(weight_map.size(), 3u);

  std::multiset<std::string> seen;
  for (const std::string &file : files) {
    if (file == "model.safetensors.index.json") continue;
    const capi::ParsedFile f = capi::parse_safetensors(dir + "/" + file);
    EXPECT_EQ(f.metadata().at("format"), "pt");
    EXPECT_EQ(f.metadata().count("fwmerge.recipe"), 1u);
    uint64_t data_bytes = 0;
    for (const auto &entry : f.header.items()) {
      if (entry.key() == "__metadata__") continue;
      seen.insert(entry.key());
      EXPECT_EQ(weight_map.at(entry.key()).get<std::string>(), file) << entry.key();
      data_bytes += f.tensor_bytes(entry.key()).size();
      const size_t t = static_cast<size_t>(std::find(kNames.begin(), kNames.end(), entry.key()) -
                                           kNames.begin());
      ASSERT_LT(t, kNames.size());
      EXPECT_EQ(f.tensor_bytes(entry.key()), encode(capi::current_values(solver_.get(), t), "F32"));
    }
    EXPECT_LE(data_bytes, 24u) << file;
    EXPECT_EQ(f.bytes.size(), f.data_start + data_bytes) << file;
  }
  EXPECT_EQ(seen, (std::multiset<std::string>{"a", "b", "c"}));

  // The folder is a valid sharded checkpoint for the library too.
  capi::SolverPtr again = capi::new_solver();
  ASSERT_EQ(fw_solver_set_base(again.get(), dir.c_str()), FW_OK) << fw_last_error();
  for (size_t t = 0; t < kNames.size(); ++t)
    EXPECT_EQ(capi::current_values(again.get(), t), capi::current_values(solver_.get(), t));
}

// Provenance on the closed-form problem (tests/c/closed_form_merge.c): losses 1, 1/2, 1/4, gaps
// 1, 1, 0, gammas 1, 1/2, the third step converged.
TEST(CApiExport, MetadataCarriesRecipeAndHistory) {
  const capi::PoolFiles pool = capi::write_unit_pool("export_meta");
  fw_params p = fw_default_params();
  p.line_search_evals = 4;
  p.seed = 42;
  capi::SolverPtr solver = capi::new_solver(&p);
  capi::load_pool(solver.get(), pool);
  Quadratic q;
  q.target["w"] = {1, 1, 0};
  ASSERT_EQ(fw_solver_set_objective_callback(solver.get(), capi::quadratic_callback, &q), FW_OK);
  fw_step_info last = capi::blank_info();
  ASSERT_EQ(fw_solver_run(solver.get(), &last), FW_OK) << fw_last_error();
  ASSERT_EQ(last.converged, 1);
  ASSERT_EQ(fw_solver_history_size(solver.get()), 3);

  const std::string out = pool.dir + "/merged.safetensors";
  ASSERT_EQ(fw_solver_export(solver.get(), out.c_str(), nullptr), FW_OK) << fw_last_error();
  const auto meta = capi::parse_safetensors(out).metadata();
  EXPECT_EQ(meta.at("format"), "pt");

  const nlohmann::json recipe = nlohmann::json::parse(meta.at("fwmerge.recipe"));
  EXPECT_EQ(recipe.at("lmo"), "hard");
  EXPECT_EQ(recipe.at("granularity"), "task");
  EXPECT_EQ(recipe.at("step_rule"), "line_search");
  EXPECT_EQ(recipe.at("line_search_evals").get<int>(), 4);
  EXPECT_EQ(recipe.at("top_k").get<int>(), 2);
  EXPECT_EQ(recipe.at("epsilon").get<double>(), 1e-6);
  EXPECT_EQ(recipe.at("seed").get<uint64_t>(), 42u);
  EXPECT_EQ(recipe.at("base").get<std::string>(), pool.base);
  EXPECT_EQ(recipe.at("pool").get<std::vector<std::string>>(), pool.members);

  const nlohmann::json history = nlohmann::json::parse(meta.at("fwmerge.history"));
  const auto &steps = history.at("steps");
  ASSERT_EQ(steps.size(), 3u);
  const double losses[] = {1.0, 0.5, 0.25}, gaps[] = {1.0, 1.0, 0.0};
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    fw_step_info info = capi::blank_info();
    ASSERT_EQ(fw_solver_history_get(solver.get(), i, &info), FW_OK);
    EXPECT_EQ(steps[i].at("loss").get<double>(), losses[i]);
    EXPECT_EQ(steps[i].at("loss").get<double>(), info.loss);
    EXPECT_EQ(steps[i].at("gap").get<double>(), gaps[i]);
    EXPECT_EQ(steps[i].at("converged").get<bool>(), i == 2);
    EXPECT_EQ(steps[i].at("evaluations").get<int>(), info.evaluations);
  }
  EXPECT_EQ(steps[0].at("gamma").get<double>(), 1.0);
  EXPECT_EQ(steps[1].at("gamma").get<double>(), 0.5);
  EXPECT_EQ(steps[0].at("chosen").get<std::vector<int>>(), std::vector<int>{0});
  EXPECT_EQ(steps[1].at("chosen").get<std::vector<int>>(), std::vector<int>{1});
}

TEST_F(CApiExportFile, UnwritablePathsFailWithIoAndLeaveNothing) {
  const std::string dir = fwtest::temp_dir("export_fail");
  fwtest::write_bytes(dir + "/regular_file", {'x'});
  ASSERT_EQ(::mkdir((dir + "/busy").c_str(), 0755), 0);
  fwtest::write_bytes(dir + "/busy/keep", {'k'});
  ASSERT_EQ(::mkdir((dir + "/obstacle").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((dir + "/obstacle/model.safetensors.index.json").c_str(), 0755), 0);
  fwtest::write_bytes(dir + "/obstacle/model.safetensors.index.json/keep", {'k'});
  const capi::Snapshot before = capi::snapshot(solver_.get());

  fw_export_options sharded = fw_default_export_options();
  sharded.max_shard_bytes = 24;
  struct Case {
    std::string path;
    const fw_export_options *opts;
  };
  const Case cases[] = {
      {dir + "/regular_file/out.safetensors", nullptr},  // a path under a regular file
      {dir + "/busy",
       nullptr},  // rename onto a non-empty directory fails after the data is written
      {dir + "/regular_file/sharded", &sharded},
      {dir + "/obstacle", &sharded},  // the index cannot be renamed: the committed shards go too
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.path);
    EXPECT_EQ(fw_solver_export(solver_.get(), c.path.c_str(), c.opts), FW_ERR_IO);
    EXPECT_NE(std::string(fw_last_error()), "");
    EXPECT_EQ(capi::list_dir(dir), (std::vector<std::string>{"busy", "obstacle", "regular_file"}));
    EXPECT_EQ(capi::list_dir(dir + "/busy"), std::vector<std::string>{"keep"});
    EXPECT_EQ(capi::list_dir(dir + "/obstacle"),
              std::vector<std::string>{"model.safetensors.index.json"});
    EXPECT_EQ(fwtest::read_bytes(dir + "/regular_file"), std::vector<uint8_t>{'x'});
  }
  EXPECT_EQ(capi::diff(before, capi::snapshot(solver_.get())), "");
  // The solver still exports fine.
  const std::string good = dir + "/good.safetensors";
  ASSERT_EQ(fw_solver_export(solver_.get(), good.c_str(), nullptr), FW_OK) << fw_last_error();
  expect_tensors(capi::parse_safetensors(good), solver_.get(), {"F32", "F32", "F32"});
}

}  // namespace
