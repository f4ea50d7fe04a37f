// The reader of fw_merge_params (read_merge_params.h): every check of its fields, once.
#include "capi/read_merge_params.h"

#include <sstream>
#include <string>

#include "capi/dtype_map.h"
#include "capi/enums.h"
#include "capi/guard.h"
#include "capi/versioned.h"
#include "io/tensor_filter.h"
#include "merge/geometric.h"
#include "merge/merge_spec.h"
#include "util/error.h"

namespace fw::capi {

namespace {

[[noreturn]] void invalid(const std::string &message) {
  fail(::fw::Status::InvalidArgument, message);
}

// A value as the caller wrote it, to 17 digits (0.1 stays 0.1, 1 - 1e-17 shows it is not 1).
std::string number(double value) {
  std::ostringstream out;
  out.precision(17);
  out << value;
  return out.str();
}

// Entry k of fw_merge_params.overrides, validated for the method and a pool of n members.
MergeOverride read_override(const fw_merge_override &caller, size_t k, MergeMethod method, size_t n,
                            bool uses_density, bool uses_beta) {
  const std::string where =
      std::string(merge_method_name(method)) + ": overrides[" + std::to_string(k) + "]";
  // Checked as the integer the caller stored (enums.h): a value outside fw_merge_field is not
  // formed as one.
  const int32_t raw_field = raw_enum(&caller.field);
  if (!enum_in_range<fw_merge_field>(raw_field))
    invalid(where + ": unknown field " + std::to_string(raw_field));
  MergeOverride o;
  o.field = to_core_enum<MergeField>(static_cast<fw_merge_field>(raw_field));
  o.tensors = caller.tensors == nullptr ? "*" : caller.tensors;
  if (o.tensors.empty()) invalid(where + ": empty tensors pattern");
  o.member = caller.member;
  o.value = caller.value;
  const std::string what = where + " (" + merge_field_name(o.field) + ")";
  if (o.member < -1 || o.member >= static_cast<int64_t>(n))
    invalid(what + ": member " + std::to_string(o.member) + " is outside [-1, " +
            std::to_string(n) + ")");
  switch (o.field) {
    case MergeField::Weight:
      if (method == MergeMethod::ModelStock) invalid(what + ": model_stock takes no weights");
      if (is_svd_merge(method))
        invalid(what + ": " + merge_method_name(method) + " takes no weights");
      require_fp32(o.value, what + ": the weight");
      break;
    case MergeField::Density:
      if (!uses_density) invalid(what + ": the method takes no density");
      if (!(o.value > 0.0 && o.value <= 1.0))
        invalid(what + ": density " + number(o.value) + " is outside (0, 1]");
      break;
    case MergeField::Beta:
      if (!uses_beta) invalid(what + ": the method takes no beta");
      if (!(o.value >= 0.0 && o.value < 1.0))
        invalid(what + ": beta " + number(o.value) + " is outside [0, 1)");
      break;
    case MergeField::Scaling:
      if (o.member != -1) invalid(what + ": scaling is the method's, member must be -1");
      require_fp32(o.value, what + ": scaling");
      break;
    // The 0.5.0 methods' values are range-checked with the resolved spec of each tensor
    // (check_method_params, check_geometric), as the fields they replace.
    case MergeField::Epsilon:
      if (!is_della(method) && !is_ram(method)) invalid(what + ": the method takes no epsilon");
      if (is_ram(method) && o.member != -1)
        invalid(what + ": ram's epsilon is shared by the members, member must be -1");
      break;
    case MergeField::Scale:
      if (method != MergeMethod::Passthrough) invalid(what + ": only passthrough takes a scale");
      if (o.member > 0) invalid(what + ": passthrough has one member, member must be -1 or 0");
      break;
    case MergeField::T:
      if (method != MergeMethod::Slerp && method != MergeMethod::Nearswap)
        invalid(what + ": only slerp and nearswap take t");
      if (o.member != -1) invalid(what + ": t is the method's, member must be -1");
      break;
  }
  return o;
}

}  // namespace

MergeSpec read_merge_params(const fw_merge_params *caller, size_t n) {
  FW_REQUIRE_ARG(caller, "params is NULL");
  // The method is checked as the integer the caller stored (enums.h) before its defaults are
  // chosen; fields past the caller's version (struct_size) keep that method's defaults.
  const uint32_t size = input_size(caller);
  const fw_merge_method method = checked_enum(&caller->method, "fw_merge_params.method");
  const fw_merge_params p =
      read_input(caller, size, public_merge_params(to_core_enum<MergeMethod>(method)));
  checked_enum(&p.compute_dtype, "fw_merge_params.compute_dtype");

  MergeSpec s;
  s.method = to_core_enum<MergeMethod>(p.method);
  const char *name = merge_method_name(s.method);
  require_fp32(p.scaling, std::string(name) + ": scaling");
  if (!(p.density > 0.0 && p.density <= 1.0))
    invalid(std::string(name) + ": density " + number(p.density) + " is outside (0, 1]");
  if (!(p.drop_rate >= 0.0 && p.drop_rate < 1.0))
    invalid(std::string(name) + ": drop_rate " + number(p.drop_rate) + " is outside [0, 1)");
  if (!(p.beta >= 0.0 && p.beta < 1.0))
    invalid(std::string(name) + ": beta " + number(p.beta) + " is outside [0, 1)");
  if (p.threads < 0) invalid(std::string(name) + ": threads must be >= 0");
  s.scaling = p.scaling;
  s.density = p.density;
  s.drop_rate = p.drop_rate;
  s.beta = p.beta;
  s.normalize = p.normalize != 0;
  s.seed = p.seed;
  s.threads = p.threads;
  if (p.abort != nullptr) {
    const fw_abort_fn abort = p.abort;
    void *const user_data = p.abort_user_data;
    s.stop = [abort, user_data] {
      if (abort(user_data) != 0) fail(::fw::Status::Aborted, "aborted by fw_merge_params.abort");
    };
  }
  if (p.weights != nullptr) {
    if (n == 0) invalid(std::string(name) + ": weights are not used here; pass NULL");
    if (s.method == MergeMethod::ModelStock) invalid("model_stock takes no weights; pass NULL");
    s.weights.assign(p.weights, p.weights + n);
    double sum = 0;
    for (size_t i = 0; i < n; ++i) {
      require_fp32(s.weights[i], std::string(name) + ": weight " + std::to_string(i));
      sum += s.weights[i];
    }
    require_weight_sum_fits(s.weights, std::string(name) + ": weights");
    if (s.normalize && divides_by_weight_sum(s.method) && sum == 0.0)
      invalid(std::string(name) + ": normalize with weights summing to 0");
  }
  const bool uses_density = s.method == MergeMethod::Ties || s.method == MergeMethod::DareLinear ||
                            s.method == MergeMethod::DareTies ||
                            s.method == MergeMethod::Breadcrumbs ||
                            s.method == MergeMethod::BreadcrumbsTies || is_della(s.method);
  const bool uses_beta =
      s.method == MergeMethod::Breadcrumbs || s.method == MergeMethod::BreadcrumbsTies;
  if (p.densities != nullptr) {
    if (n == 0) invalid(std::string(name) + ": densities are not used here; pass NULL");
    if (!uses_density) invalid(std::string(name) + " takes no densities; pass NULL");
    s.densities.assign(p.densities, p.densities + n);
    for (size_t i = 0; i < n; ++i)
      if (!(s.densities[i] > 0.0 && s.densities[i] <= 1.0))
        invalid(std::string(name) + ": density of member " + std::to_string(i) + " (" +
                number(s.densities[i]) + ") is outside (0, 1]");
  }
  if (p.betas != nullptr) {
    if (n == 0) invalid(std::string(name) + ": betas are not used here; pass NULL");
    if (!uses_beta) invalid(std::string(name) + " takes no betas; pass NULL");
    s.betas.assign(p.betas, p.betas + n);
    for (size_t i = 0; i < n; ++i)
      if (!(s.betas[i] >= 0.0 && s.betas[i] < 1.0))
        invalid(std::string(name) + ": beta of member " + std::to_string(i) + " (" +
                number(s.betas[i]) + ") is outside [0, 1)");
  }
  if (s.method == MergeMethod::ModelStock && n == 1)
    invalid("model_stock needs at least 2 pool members, got 1");
  if (p.mergekit_compat != 0) {
    if (n == 0) invalid(std::string(name) + ": mergekit_compat is fw_merge's");
    if (s.method == MergeMethod::ModelStock) invalid("model_stock has no mergekit-compatible mode");
    if (p.compute_dtype != FW_DTYPE_DEFAULT && p.compute_dtype != FW_DTYPE_F32 &&
        p.compute_dtype != FW_DTYPE_F16 && p.compute_dtype != FW_DTYPE_BF16)
      invalid("compute_dtype must be FW_DTYPE_DEFAULT, F32, F16 or BF16");
    s.mergekit = true;
    s.mergekit_tie_order = p.mergekit_compat == 2;
    // FW_DTYPE_DEFAULT: nullopt, each tensor's own dtype.
    if (p.compute_dtype != FW_DTYPE_DEFAULT) s.compute_dtype = from_public(p.compute_dtype);
  } else if (p.compute_dtype != FW_DTYPE_DEFAULT) {
    invalid("compute_dtype is only used with mergekit_compat (fwmerge computes in fp32)");
  }
  if (p.n_include_tensors > 0 || p.n_exclude_tensors > 0) {
    if (n == 0)
      invalid(std::string(name) +
              ": include_tensors / exclude_tensors are fw_merge's; a solver merges the tensors "
              "its fw_params filter selects");
    s.filter = filter_from_c(p.include_tensors, p.n_include_tensors, p.exclude_tensors,
                             p.n_exclude_tensors, std::string(name) + ": ");
  }
  s.allow_outside_links = p.allow_outside_links != 0;
  s.fill_missing_from_base = p.fill_missing_from_base != 0;
  // v8 (0.5.0): the later methods' parameters. Their ranges depend on the method and, through
  // overrides, on the tensor: the core's checks (merge_spec.h's check_method_params, geometric.h's
  // check_geometric) run here on the spec as given, and again on each tensor's resolved spec.
  s.t = p.t;
  s.epsilon = p.epsilon;
  if (p.epsilons != nullptr) {
    if (n == 0) invalid(std::string(name) + ": epsilons are not used here; pass NULL");
    if (!is_della(s.method)) invalid(std::string(name) + " takes no epsilons; pass NULL");
    s.epsilons.assign(p.epsilons, p.epsilons + n);
  }
  s.eps = p.eps;
  s.tol = p.tol;
  s.select_topk = p.select_topk;
  s.ram_r = p.ram_r;
  s.ram_alpha = p.ram_alpha;
  s.scale = p.scale;
  s.max_iter = p.max_iter;
  s.rescale = p.rescale != 0;
  s.nuslerp_flatten = p.nuslerp_flatten != 0;
  s.nuslerp_row_wise = p.nuslerp_row_wise != 0;
  if (n > 0) {  // fw_merge: the pool's size is known, so refuse now, before any file is read
    check_method_params(s, n);
    if (is_geometric(s.method)) check_geometric(s, n);
  }
  if (p.n_overrides > 0) {
    if (p.overrides == nullptr) invalid(std::string(name) + ": overrides is NULL, n_overrides > 0");
    if (n == 0)
      invalid(std::string(name) + ": overrides are fw_merge's and fw_solver_set_start_merge's");
    for (size_t k = 0; k < p.n_overrides; ++k)
      s.overrides.push_back(read_override(p.overrides[k], k, s.method, n, uses_density, uses_beta));
  }
  return s;
}

}  // namespace fw::capi
