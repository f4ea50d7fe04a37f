// The 0.3 names kept as deprecated aliases in 0.4 (lib/capi/deprecated_api.cpp and the enumerators
// of include/fwmerge.h): a host still spelling them gets the same values and the same results as
// with the fw_solver_* / FW_<TYPE>_* names. Compiled without the deprecation warnings, since using
// the old names is the point here.
#ifndef FW_DISABLE_DEPRECATE_WARNINGS
#define FW_DISABLE_DEPRECATE_WARNINGS 1
#endif
#include <gtest/gtest.h>

#include <string>

#include "capi_fixture.h"

namespace {

using capi::Quadratic;

// Every renamed enumerator keeps its 0.3 value.
static_assert(FW_TASKWISE == FW_GRANULARITY_TASKWISE && FW_LAYERWISE == FW_GRANULARITY_LAYERWISE);
static_assert(FW_STEP_LINE_SEARCH == FW_STEP_RULE_LINE_SEARCH &&
              FW_STEP_SCHEDULE == FW_STEP_RULE_SCHEDULE &&
              FW_STEP_CONSTANT == FW_STEP_RULE_CONSTANT);
static_assert(FW_SOFT_SIMPLEX == FW_SOFT_SOLVER_SIMPLEX &&
              FW_SOFT_CAPPED == FW_SOFT_SOLVER_CAPPED && FW_SOFT_ADAM == FW_SOFT_SOLVER_ADAM &&
              FW_SOFT_BOX == FW_SOFT_SOLVER_BOX);
static_assert(FW_TOPK_SUMMED == FW_TOPK_RULE_SUMMED && FW_TOPK_PER_TERM == FW_TOPK_RULE_PER_TERM);
static_assert(FW_LOG_DEBUG == FW_LOG_LEVEL_DEBUG && FW_LOG_INFO == FW_LOG_LEVEL_INFO &&
              FW_LOG_WARN == FW_LOG_LEVEL_WARN);
static_assert(FW_DEVICE_CPU == FW_DEVICE_TYPE_CPU && FW_DEVICE_CUDA == FW_DEVICE_TYPE_CUDA);
static_assert(FW_LOAD_HEADER_ONLY == FW_LOAD_FLAG_HEADER_ONLY &&
              FW_LOAD_ALLOW_OUTSIDE_LINKS == FW_LOAD_FLAG_ALLOW_OUTSIDE_LINKS);
static_assert(FW_MERGE_LINEAR == FW_MERGE_METHOD_LINEAR &&
              FW_MERGE_TASK_ARITHMETIC == FW_MERGE_METHOD_TASK_ARITHMETIC &&
              FW_MERGE_TIES == FW_MERGE_METHOD_TIES &&
              FW_MERGE_DARE_LINEAR == FW_MERGE_METHOD_DARE_LINEAR &&
              FW_MERGE_DARE_TIES == FW_MERGE_METHOD_DARE_TIES &&
              FW_MERGE_BREADCRUMBS == FW_MERGE_METHOD_BREADCRUMBS &&
              FW_MERGE_MODEL_STOCK == FW_MERGE_METHOD_MODEL_STOCK &&
              FW_MERGE_BREADCRUMBS_TIES == FW_MERGE_METHOD_BREADCRUMBS_TIES);
static_assert(FW_FIELD_WEIGHT == FW_MERGE_FIELD_WEIGHT &&
              FW_FIELD_DENSITY == FW_MERGE_FIELD_DENSITY && FW_FIELD_BETA == FW_MERGE_FIELD_BETA &&
              FW_FIELD_SCALING == FW_MERGE_FIELD_SCALING);

// A layer-wise soft solver over the unit pool, set up and stepped twice with the 0.3 names or the
// 0.4 names; returns what a host can observe, and the exported tensor's bytes.
struct Outcome {
  capi::Snapshot snap;
  std::vector<uint8_t> exported;
  std::string block;
  size_t pool_size = 0;
};

Outcome run(bool old_names, const std::string &label) {
  const capi::PoolFiles pool = capi::write_unit_pool(label);
  fw_params p = fw_default_params();
  p.lmo = FW_LMO_SOFT;
  p.granularity = old_names ? FW_LAYERWISE : FW_GRANULARITY_LAYERWISE;
  p.soft_solver = old_names ? FW_SOFT_CAPPED : FW_SOFT_SOLVER_CAPPED;
  capi::SolverPtr s = capi::new_solver(&p);
  Quadratic q;
  q.target["w"] = {1, 1, 0};
  fw_step_info info = capi::blank_info();
  Outcome out;
  const std::string path = pool.dir + "/out.safetensors";
  if (old_names) {
    EXPECT_EQ(fw_set_base(s.get(), pool.base.c_str()), FW_OK);
    for (const auto &m : pool.members) EXPECT_EQ(fw_pool_add(s.get(), m.c_str(), nullptr), FW_OK);
    EXPECT_EQ(fw_set_objective_callback(s.get(), capi::quadratic_callback, &q), FW_OK);
    EXPECT_EQ(fw_step(s.get(), &info), FW_OK);
    // The second step over ask/tell, with the old names of those calls too.
    EXPECT_EQ(fw_step_begin(s.get()), FW_OK);
    fw_request req = {};
    req.struct_size = sizeof req;
    while (fw_step_ask(s.get(), &req) == FW_OK && !req.done) {
      double loss = 0;
      const fw_status st =
          q.evaluate(req.params, req.n, req.need_gradient ? req.grads : nullptr, &loss);
      EXPECT_EQ(fw_step_tell(s.get(), st, loss), FW_OK);
    }
    EXPECT_EQ(fw_step_finish(s.get(), &info), FW_OK);
    EXPECT_EQ(fw_history_size(s.get()), 2);
    EXPECT_EQ(fw_export(s.get(), path.c_str(), nullptr), FW_OK);
    out.block = fw_block_name(s.get(), 0);
    out.pool_size = fw_pool_size(s.get());
  } else {
    EXPECT_EQ(fw_solver_set_base(s.get(), pool.base.c_str()), FW_OK);
    for (const auto &m : pool.members)
      EXPECT_EQ(fw_solver_pool_add(s.get(), m.c_str(), nullptr), FW_OK);
    EXPECT_EQ(fw_solver_set_objective_callback(s.get(), capi::quadratic_callback, &q), FW_OK);
    EXPECT_EQ(fw_solver_step(s.get(), &info), FW_OK);
    EXPECT_EQ(capi::ask_tell_step(s.get(), &q, &info), FW_OK);
    EXPECT_EQ(fw_solver_history_size(s.get()), 2);
    EXPECT_EQ(fw_solver_export(s.get(), path.c_str(), nullptr), FW_OK);
    out.block = fw_solver_block_name(s.get(), 0);
    out.pool_size = fw_solver_pool_size(s.get());
  }
  out.snap = capi::snapshot(s.get());
  out.exported = capi::parse_safetensors(path).tensor_bytes("w");  // the recipe names the paths
  return out;
}

TEST(DeprecatedNames, OldFunctionsGiveTheSameStepsAndExport) {
  const Outcome old_run = run(true, "deprecated_old");
  const Outcome new_run = run(false, "deprecated_new");
  EXPECT_EQ(capi::diff(old_run.snap, new_run.snap), "");
  ASSERT_EQ(old_run.snap.history.size(), 2u);
  EXPECT_EQ(old_run.exported, new_run.exported);
  EXPECT_EQ(old_run.block, new_run.block);
  EXPECT_EQ(old_run.pool_size, new_run.pool_size);
}

// An old name reports errors as the new one does (it is the same function).
TEST(DeprecatedNames, OldFunctionsFailAsTheNewOnes) {
  EXPECT_EQ(fw_step(nullptr, nullptr), fw_solver_step(nullptr, nullptr));
  EXPECT_EQ(fw_set_base(nullptr, "x"), FW_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(fw_pool_size(nullptr), 0u);
}

}  // namespace
