// fw_params / fw_merge_params include_tensors and exclude_tensors: per-task heads of different
// shapes stay out of the merge, the output keeps the base's, and the numbers are hand-computed.
#include <gtest/gtest.h>

#include <cmath>

#include "capi_fixture.h"
#include "test_support.h"

namespace {

using fwtest::TestTensor;

bool contains(const std::string &text, const std::string &part) {
  return text.find(part) != std::string::npos;
}

// Base: body.w [2] = 0, body.v [2] = 1, head.w [2] = 9 (the base's head). Members: bodies along
// the axes, and heads of their own shapes (3 and 4 classes).
capi::PoolFiles heads_pool(const std::string &label) {
  return capi::write_pool(
      label, {{"body.w", {2}, {0, 0}}, {"body.v", {2}, {1, 1}}, {"head.w", {2}, {9, 9}}},
      {{{"body.w", {2}, {1, 0}}, {"body.v", {2}, {3, 1}}, {"head.w", {3}, {5, 5, 5}}},
       {{"body.w", {2}, {0, 1}}, {"body.v", {2}, {1, 5}}, {"head.w", {4}, {6, 6, 6, 6}}}});
}

std::vector<float> tensor_of(const std::string &file, const std::string &name) {
  const capi::ParsedFile parsed = capi::parse_safetensors(file);
  return capi::decode(parsed.tensor_bytes(name), parsed.header[name]["dtype"]);
}

TEST(TensorFilters, DataFreeMergeLeavesExcludedHeadsAtTheBase) {
  const capi::PoolFiles pool = heads_pool("filter_merge");
  std::vector<const char *> members = {pool.members[0].c_str(), pool.members[1].c_str()};
  const std::string out = pool.dir + "/merged.safetensors";
  fw_merge_params p = fw_default_merge_params(FW_MERGE_METHOD_TASK_ARITHMETIC);
  p.scaling = 0.5;
  // Without a filter the heads' shapes do not match.
  EXPECT_EQ(fw_merge(&p, pool.base.c_str(), members.data(), 2, out.c_str(), nullptr),
            FW_ERR_SHAPE_MISMATCH);
  const char *exclude[] = {"head.*"};
  p.exclude_tensors = exclude;
  p.n_exclude_tensors = 1;
  ASSERT_EQ(fw_merge(&p, pool.base.c_str(), members.data(), 2, out.c_str(), nullptr), FW_OK)
      << fw_last_error();
  // body.w: 0 + 0.5 * ([1, 0] + [0, 1]) = [0.5, 0.5]; body.v: 1 + 0.5 * ([2, 0] + [0, 4]).
  EXPECT_EQ(tensor_of(out, "body.w"), (std::vector<float>{0.5f, 0.5f}));
  EXPECT_EQ(tensor_of(out, "body.v"), (std::vector<float>{2, 3}));
  EXPECT_EQ(tensor_of(out, "head.w"), (std::vector<float>{9, 9}));
  EXPECT_TRUE(contains(capi::parse_safetensors(out).metadata()["fwmerge.recipe"], "head.*"));

  // include: only body.v is merged; body.w and head.w are the base's.
  const char *include[] = {"body.[v]"};
  p.include_tensors = include;
  p.n_include_tensors = 1;
  ASSERT_EQ(fw_merge(&p, pool.base.c_str(), members.data(), 2, out.c_str(), nullptr), FW_OK)
      << fw_last_error();
  EXPECT_EQ(tensor_of(out, "body.w"), (std::vector<float>{0, 0}));
  EXPECT_EQ(tensor_of(out, "body.v"), (std::vector<float>{2, 3}));

  // A filter that selects nothing; a NULL pattern; a filter on a merge function.
  const char *nothing[] = {"encoder.*"};
  p.include_tensors = nothing;
  EXPECT_EQ(fw_merge(&p, pool.base.c_str(), members.data(), 2, out.c_str(), nullptr),
            FW_ERR_NAME_MISMATCH);
  EXPECT_TRUE(contains(fw_last_error(), "selects none")) << fw_last_error();
  const char *with_null[] = {nullptr};
  p.include_tensors = with_null;
  EXPECT_EQ(fw_merge(&p, pool.base.c_str(), members.data(), 2, out.c_str(), nullptr),
            FW_ERR_INVALID_ARGUMENT);
  p.include_tensors = include;
  capi::SolverPtr s = capi::new_solver();
  ASSERT_EQ(fw_solver_set_base(s.get(), pool.base.c_str()), FW_OK);
  EXPECT_EQ(fw_solver_set_merge_function(s.get(), &p), FW_ERR_INVALID_ARGUMENT);
}

TEST(TensorFilters, SolverMergesOnlyTheSelectedTensorsAndExportsTheRest) {
  const capi::PoolFiles pool = heads_pool("filter_solver");
  fw_params params = fw_default_params();
  const char *exclude[] = {"head.*"};
  params.exclude_tensors = exclude;
  params.n_exclude_tensors = 1;
  params.max_iters = 1;
  params.step_rule = FW_STEP_RULE_SCHEDULE;  // gamma = 1 at t = 0
  capi::SolverPtr s = capi::new_solver(&params);
  exclude[0] = "changed after the call";  // the solver keeps its own copy
  capi::load_pool(s.get(), pool);
  const fw_tensor *views = nullptr;
  size_t n = 0;
  ASSERT_EQ(fw_solver_current(s.get(), &views, &n), FW_OK);
  ASSERT_EQ(n, 2u);  // the heads are not part of the merge
  EXPECT_STREQ(views[0].name, "body.w");
  EXPECT_STREQ(views[1].name, "body.v");

  // l = 1/2 ||x - t||^2 with t = member 1's body: the LMO picks member 1 and gamma = 1 lands on it.
  capi::Quadratic q;
  q.target = {{"body.w", {0, 1}}, {"body.v", {1, 5}}};
  ASSERT_EQ(fw_solver_set_objective_callback(s.get(), capi::quadratic_callback, &q), FW_OK);
  fw_step_info info = capi::blank_info();
  ASSERT_EQ(fw_solver_step(s.get(), &info), FW_OK) << fw_last_error();
  EXPECT_EQ(info.chosen[0], 1);
  const std::string out = pool.dir + "/solver.safetensors";
  ASSERT_EQ(fw_solver_export(s.get(), out.c_str(), nullptr), FW_OK) << fw_last_error();
  EXPECT_EQ(tensor_of(out, "body.w"), (std::vector<float>{0, 1}));
  EXPECT_EQ(tensor_of(out, "body.v"), (std::vector<float>{1, 5}));
  EXPECT_EQ(tensor_of(out, "head.w"), (std::vector<float>{9, 9}));  // the base's head
  EXPECT_TRUE(contains(capi::parse_safetensors(out).metadata()["fwmerge.recipe"], "head.*"));

  // The filter is fixed once a base is set; before, it may change.
  params.n_exclude_tensors = 0;
  EXPECT_EQ(fw_solver_set_params(s.get(), &params), FW_ERR_STATE);
  capi::SolverPtr fresh = capi::new_solver();
  EXPECT_EQ(fw_solver_set_params(fresh.get(), &params), FW_OK);
  ASSERT_EQ(fw_solver_set_base(fresh.get(), pool.base.c_str()), FW_OK);
  EXPECT_EQ(fw_solver_pool_add(fresh.get(), pool.members[0].c_str(), nullptr),
            FW_ERR_SHAPE_MISMATCH);
  // NULL arrays with a count, and a NULL pattern.
  params.exclude_tensors = nullptr;
  params.n_exclude_tensors = 1;
  fw_solver *none = nullptr;
  EXPECT_EQ(fw_solver_new(&params, &none), FW_ERR_INVALID_ARGUMENT);
  const char *empty[] = {""};
  params.exclude_tensors = empty;
  EXPECT_EQ(fw_solver_new(&params, &none), FW_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(none, nullptr);
}

}  // namespace
