// One invalid value per validated field of every public input struct (issue 28): the call fails
// with FW_ERR_INVALID_ARGUMENT and fw_last_error() names the field. lib/capi reads and checks each
// field once, at the boundary; this table is the list of those checks. A new validated field adds
// its row here.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "capi_fixture.h"
#include "fwmerge.h"

namespace {

// A value outside an enum, stored as a C caller can (loading it as the enum would be undefined).
template <typename E>
void forge(E *field, int32_t value) {
  static_assert(sizeof(E) == sizeof(int32_t), "public enums are int-sized");
  std::memcpy(field, &value, sizeof value);
}

const double kNan = std::nan("");
const char *const kNullPattern[] = {nullptr};
const char *const kEmptyPattern[] = {""};

template <typename S>
struct Row {
  const char *field;  // what fw_last_error() must contain
  std::function<void(S &)> spoil;
};

void expect_invalid(fw_status status, const char *field) {
  EXPECT_EQ(status, FW_ERR_INVALID_ARGUMENT) << field;
  EXPECT_NE(std::string(fw_last_error()).find(field), std::string::npos)
      << field << ": " << fw_last_error();
}

TEST(ParamValidation, EveryFwParamsField) {
  const std::vector<Row<fw_params>> rows = {
      {"struct_size", [](fw_params &p) { p.struct_size = 3; }},
      {"fw_params.lmo", [](fw_params &p) { forge(&p.lmo, 7); }},
      {"fw_params.granularity", [](fw_params &p) { forge(&p.granularity, 7); }},
      {"block_depth", [](fw_params &p) { p.block_depth = -1; }},
      {"fw_params.score", [](fw_params &p) { forge(&p.score, 7); }},
      {"top_k", [](fw_params &p) { p.top_k = 0; }},
      {"fw_params.step_rule", [](fw_params &p) { forge(&p.step_rule, 7); }},
      {"step_scale", [](fw_params &p) { p.step_scale = 0; }},
      {"step_scale", [](fw_params &p) { p.step_scale = kNan; }},
      {"step_scale",
       [](fw_params &p) {
         p.step_rule = FW_STEP_RULE_CONSTANT;
         p.step_scale = 1.5;
       }},
      {"line_search_evals", [](fw_params &p) { p.line_search_evals = 0; }},
      {"fw_params.soft_solver", [](fw_params &p) { forge(&p.soft_solver, 9); }},
      {"soft_iters", [](fw_params &p) { p.soft_iters = 0; }},
      {"soft_lr", [](fw_params &p) { p.soft_lr = -1; }},
      {"soft_lr", [](fw_params &p) { p.soft_lr = INFINITY; }},
      {"max_iters", [](fw_params &p) { p.max_iters = -1; }},
      {"epsilon", [](fw_params &p) { p.epsilon = -1; }},
      {"threads", [](fw_params &p) { p.threads = -1; }},
      {"fw_params.device", [](fw_params &p) { forge(&p.device, 5); }},
      {"device_index", [](fw_params &p) { p.device_index = -1; }},
      {"device_index", [](fw_params &p) { p.device_index = 1; }},  // on the CPU
      {"fw_params.work_dtype", [](fw_params &p) { forge(&p.work_dtype, 99); }},
      {"work_dtype", [](fw_params &p) { p.work_dtype = FW_DTYPE_I32; }},
      {"host_views", [](fw_params &p) { p.host_views = 2; }},
      {"include_tensors",
       [](fw_params &p) {
         p.include_tensors = nullptr;
         p.n_include_tensors = 1;
       }},
      {"include_tensors",
       [](fw_params &p) {
         p.include_tensors = kNullPattern;
         p.n_include_tensors = 1;
       }},
      {"include_tensors",
       [](fw_params &p) {
         p.include_tensors = kEmptyPattern;
         p.n_include_tensors = 1;
       }},
      {"exclude_tensors",
       [](fw_params &p) {
         p.exclude_tensors = nullptr;
         p.n_exclude_tensors = 2;
       }},
      {"max_evaluations", [](fw_params &p) { p.max_evaluations = -1; }},
      {"fw_params.topk_rule", [](fw_params &p) { forge(&p.topk_rule, 5); }},
  };
  const capi::SolverPtr solver = capi::new_solver();
  for (const auto &row : rows) {
    fw_params p = fw_default_params();
    row.spoil(p);
    fw_solver *out = nullptr;
    expect_invalid(fw_solver_new(&p, &out), row.field);
    EXPECT_EQ(out, nullptr) << row.field;
    expect_invalid(fw_solver_set_params(solver.get(), &p), row.field);
  }
}

TEST(ParamValidation, EveryFwMergeParamsField) {
  const double nan_weight[] = {1.0, kNan};
  const double zero_density[] = {0.5, 0.0};
  const double whole_beta[] = {0.1, 1.0};
  const double cancelling[] = {1.0, -1.0};
  const double half[] = {0.5, 0.5};
  // One override per check of fw_merge_params.overrides[k] (the pool has 2 members).
  static const fw_merge_override unknown_field[] = {{"*", -1, FW_MERGE_FIELD_WEIGHT, 1.0}};
  static const fw_merge_override empty_pattern[] = {{"", -1, FW_MERGE_FIELD_WEIGHT, 1.0}};
  static const fw_merge_override past_member[] = {{"*", 2, FW_MERGE_FIELD_WEIGHT, 1.0}};
  static const fw_merge_override nan_weight_o[] = {{"*", 0, FW_MERGE_FIELD_WEIGHT, kNan}};
  static const fw_merge_override zero_density_o[] = {{"*", 0, FW_MERGE_FIELD_DENSITY, 0.0}};
  static const fw_merge_override whole_beta_o[] = {{"*", 0, FW_MERGE_FIELD_BETA, 1.0}};
  static const fw_merge_override member_scaling[] = {{"*", 0, FW_MERGE_FIELD_SCALING, 1.0}};
  static fw_merge_override forged[1];
  forged[0] = unknown_field[0];
  forge(&forged[0].field, 9);
  const std::vector<Row<fw_merge_params>> rows = {
      {"struct_size", [](fw_merge_params &p) { p.struct_size = 3; }},
      {"fw_merge_params.method", [](fw_merge_params &p) { forge(&p.method, 42); }},
      {"scaling", [](fw_merge_params &p) { p.scaling = kNan; }},
      {"density",
       [](fw_merge_params &p) {
         p = fw_default_merge_params(FW_MERGE_METHOD_TIES);
         p.density = 0;
       }},
      {"drop_rate",
       [](fw_merge_params &p) {
         p = fw_default_merge_params(FW_MERGE_METHOD_DARE_LINEAR);
         p.drop_rate = 1.0;
       }},
      {"beta",
       [](fw_merge_params &p) {
         p = fw_default_merge_params(FW_MERGE_METHOD_BREADCRUMBS);
         p.beta = 1.0;
       }},
      {"weight", [&](fw_merge_params &p) { p.weights = nan_weight; }},
      {"threads", [](fw_merge_params &p) { p.threads = -1; }},
      {"densit",
       [&](fw_merge_params &p) {
         p = fw_default_merge_params(FW_MERGE_METHOD_TIES);
         p.densities = zero_density;
       }},
      {"beta",
       [&](fw_merge_params &p) {
         p = fw_default_merge_params(FW_MERGE_METHOD_BREADCRUMBS);
         p.betas = whole_beta;
       }},
      {"include_tensors",
       [](fw_merge_params &p) {
         p.include_tensors = nullptr;
         p.n_include_tensors = 1;
       }},
      {"exclude_tensors",
       [](fw_merge_params &p) {
         p.exclude_tensors = kNullPattern;
         p.n_exclude_tensors = 1;
       }},
      {"fw_merge_params.compute_dtype", [](fw_merge_params &p) { forge(&p.compute_dtype, 99); }},
      {"compute_dtype", [](fw_merge_params &p) { p.compute_dtype = FW_DTYPE_F16; }},
      {"compute_dtype",
       [](fw_merge_params &p) {
         p.mergekit_compat = 1;
         p.compute_dtype = FW_DTYPE_I32;
       }},
      {"overrides",
       [](fw_merge_params &p) {
         p.overrides = nullptr;
         p.n_overrides = 1;
       }},
      // What a field's value allows depends on the method and the pool.
      {"normalize with weights summing to 0", [&](fw_merge_params &p) { p.weights = cancelling; }},
      {"model_stock takes no weights",
       [&](fw_merge_params &p) {
         p = fw_default_merge_params(FW_MERGE_METHOD_MODEL_STOCK);
         p.weights = half;
       }},
      {"linear takes no densities", [&](fw_merge_params &p) { p.densities = half; }},
      {"linear takes no betas", [&](fw_merge_params &p) { p.betas = half; }},
      {"mergekit-compatible",
       [](fw_merge_params &p) {
         p = fw_default_merge_params(FW_MERGE_METHOD_MODEL_STOCK);
         p.mergekit_compat = 1;
       }},
      {"overrides[0]: unknown field 9",
       [](fw_merge_params &p) {
         p.overrides = forged;
         p.n_overrides = 1;
       }},
      {"overrides[0]: empty tensors pattern",
       [](fw_merge_params &p) {
         p.overrides = empty_pattern;
         p.n_overrides = 1;
       }},
      {"member 2 is outside [-1, 2)",
       [](fw_merge_params &p) {
         p.overrides = past_member;
         p.n_overrides = 1;
       }},
      {"overrides[0] (weight)",
       [](fw_merge_params &p) {
         p.overrides = nan_weight_o;
         p.n_overrides = 1;
       }},
      {"overrides[0] (density)",
       [](fw_merge_params &p) {
         p = fw_default_merge_params(FW_MERGE_METHOD_TIES);
         p.overrides = zero_density_o;
         p.n_overrides = 1;
       }},
      {"overrides[0] (beta)",
       [](fw_merge_params &p) {
         p = fw_default_merge_params(FW_MERGE_METHOD_BREADCRUMBS);
         p.overrides = whole_beta_o;
         p.n_overrides = 1;
       }},
      {"member must be -1",
       [](fw_merge_params &p) {
         p.overrides = member_scaling;
         p.n_overrides = 1;
       }},
  };
  const char *const pool[] = {"/nonexistent/m0.safetensors", "/nonexistent/m1.safetensors"};
  for (const auto &row : rows) {
    fw_merge_params p = fw_default_merge_params(FW_MERGE_METHOD_LINEAR);
    row.spoil(p);
    expect_invalid(
        fw_merge(&p, "/nonexistent/base.safetensors", pool, 2, "/nonexistent/out", nullptr),
        row.field);
  }
}

TEST(ParamValidation, EveryFwExportOptionsField) {
  const std::vector<Row<fw_export_options>> rows = {
      {"struct_size", [](fw_export_options &o) { o.struct_size = 3; }},
      {"fw_export_options.dtype", [](fw_export_options &o) { forge(&o.dtype, 99); }},
      {"dtype", [](fw_export_options &o) { o.dtype = FW_DTYPE_I32; }},
      {"rank_shards", [](fw_export_options &o) { o.rank_shards = -1; }},
      {"model_card", [](fw_export_options &o) { o.model_card = "# card"; }},
  };
  const char *const pool[] = {"/nonexistent/m0.safetensors"};
  const fw_merge_params p = fw_default_merge_params(FW_MERGE_METHOD_LINEAR);
  for (const auto &row : rows) {
    fw_export_options o = fw_default_export_options();
    row.spoil(o);
    expect_invalid(fw_merge(&p, "/nonexistent/base.safetensors", pool, 1, "/nonexistent/out", &o),
                   row.field);
  }
}

TEST(ParamValidation, EveryFwDistParamsField) {
  const std::vector<Row<fw_dist_params>> rows = {
      {"struct_size", [](fw_dist_params &d) { d.struct_size = 3; }},
      {"rank", [](fw_dist_params &d) { d.rank = 1; }},  // world_size 1
      {"world_size", [](fw_dist_params &d) { d.world_size = 0; }},
      {"rendezvous", [](fw_dist_params &d) { d.rendezvous = nullptr; }},
      {"rendezvous", [](fw_dist_params &d) { d.rendezvous = "udp://localhost:1"; }},
      {"timeout_ms", [](fw_dist_params &d) { d.timeout_ms = 0; }},
      {"fw_dist_params.loss", [](fw_dist_params &d) { forge(&d.loss, 7); }},
  };
  for (const auto &row : rows) {
    const capi::SolverPtr solver = capi::new_solver();
    fw_dist_params d = fw_default_dist_params();
    d.rendezvous = "file:///nonexistent/fw_param_validation";
    row.spoil(d);
    expect_invalid(fw_solver_set_distributed(solver.get(), &d), row.field);
  }
}

TEST(ParamValidation, EveryFwTorchscriptObjectiveField) {
  fw_objective_term term = {nullptr, "x", nullptr, 1.0};
  fw_objective_term no_inputs = {nullptr, nullptr, nullptr, 1.0};
  const char *const null_pair[] = {nullptr, "w"};
  const std::vector<Row<fw_torchscript_objective>> rows = {
      {"struct_size", [](fw_torchscript_objective &o) { o.struct_size = 3; }},
      {"module_path", [](fw_torchscript_objective &o) { o.module_path = nullptr; }},
      {"calibration_path", [](fw_torchscript_objective &o) { o.calibration_path = ""; }},
      {"param_map", [](fw_torchscript_objective &o) { o.n_param_map = 1; }},
      {"param_map",
       [&](fw_torchscript_objective &o) {
         o.param_map = null_pair;
         o.n_param_map = 1;
       }},
      {"terms", [](fw_torchscript_objective &o) { o.n_terms = 0; }},
      {"terms", [](fw_torchscript_objective &o) { o.terms = nullptr; }},
      {"inputs", [&](fw_torchscript_objective &o) { o.terms = &no_inputs; }},
  };
  const capi::PoolFiles pool = capi::write_unit_pool("param_validation_ts");
  const capi::SolverPtr solver = capi::new_solver();
  capi::load_pool(solver.get(), pool);
  for (const auto &row : rows) {
    fw_torchscript_objective o = fw_default_torchscript_objective();
    o.module_path = "/nonexistent/model.pt";
    o.calibration_path = "/nonexistent/calibration.safetensors";
    o.terms = &term;
    o.n_terms = 1;
    row.spoil(o);
    expect_invalid(fw_solver_set_objective_torchscript(solver.get(), &o), row.field);
  }
}

}  // namespace
