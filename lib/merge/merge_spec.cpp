#include "merge/merge_spec.h"

#include <fnmatch.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>

#include "util/error.h"

namespace fw {

namespace {

[[noreturn]] void invalid(const std::string &message) { fail(Status::InvalidArgument, message); }

std::string number(double value) {
  std::ostringstream out;
  out.precision(17);
  out << value;
  return out.str();
}

// The merges compute in fp32 (or narrower): a weight or scaling beyond fp32's range is infinite
// there, and so is every merged value it touches (an "inf" checkpoint written with exit 0).
bool fits_fp32(double value) {
  return std::isfinite(value) && std::fabs(value) <= std::numeric_limits<float>::max();
}

// A magnitude in 6 significant digits ("1.7e+308"): enough to see what overflowed.
std::string magnitude_text(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

// Status::InvalidArgument naming `what` unless `value` fits fp32.
void require_fp32(double value, const std::string &what) {
  if (!std::isfinite(value)) invalid(what + " is not finite");
  if (!fits_fp32(value))
    invalid(what + " (" + magnitude_text(value) +
            ") overflows fp32, in which the merge computes (|value| <= " +
            magnitude_text(std::numeric_limits<float>::max()) + ")");
}

// Weights whose magnitudes add up beyond fp32's range overflow the weighted sums and their
// normalization (two weights of 1.7e308 sum to inf).
void require_weight_sum_fits(const std::vector<double> &weights, const std::string &what) {
  double magnitude = 0;
  for (double w : weights) magnitude += std::fabs(w);
  if (!fits_fp32(magnitude))
    invalid(what + ": the weights' magnitudes add up to " + magnitude_text(magnitude) +
            ", which overflows fp32 (at most " + magnitude_text(std::numeric_limits<float>::max()) +
            ")");
}

const char *field_name(fw_merge_field field) {
  switch (field) {
    case FW_FIELD_WEIGHT:
      return "weight";
    case FW_FIELD_DENSITY:
      return "density";
    case FW_FIELD_BETA:
      return "beta";
    case FW_FIELD_SCALING:
      return "scaling";
  }
  return "unknown";
}

// Whether normalize divides by the sum of all weights (the linear family). TIES-style methods
// normalize per entry over agreeing members, so only there must the global sum be nonzero.
bool divides_by_weight_sum(fw_merge_method method) {
  return method == FW_MERGE_LINEAR || method == FW_MERGE_TASK_ARITHMETIC ||
         method == FW_MERGE_DARE_LINEAR || method == FW_MERGE_BREADCRUMBS;
}

// Entry k of fw_merge_params.overrides, validated for the method and a pool of n members.
MergeOverride read_override(const fw_merge_override &caller, size_t k, fw_merge_method method,
                            size_t n, bool uses_density, bool uses_beta) {
  const std::string where =
      std::string(merge_method_name(method)) + ": overrides[" + std::to_string(k) + "]";
  int32_t raw_field;  // checked as an integer first, like the method (see spec_from_params)
  std::memcpy(&raw_field, &caller.field, sizeof raw_field);
  if (raw_field < FW_FIELD_WEIGHT || raw_field > FW_FIELD_SCALING)
    invalid(where + ": unknown field " + std::to_string(raw_field));
  MergeOverride o;
  o.field = static_cast<fw_merge_field>(raw_field);
  o.tensors = caller.tensors == nullptr ? "*" : caller.tensors;
  if (o.tensors.empty()) invalid(where + ": empty tensors pattern");
  o.member = caller.member;
  o.value = caller.value;
  const std::string what = where + " (" + field_name(o.field) + ")";
  if (o.member < -1 || o.member >= static_cast<int64_t>(n))
    invalid(what + ": member " + std::to_string(o.member) + " is outside [-1, " +
            std::to_string(n) + ")");
  switch (o.field) {
    case FW_FIELD_WEIGHT:
      if (method == FW_MERGE_MODEL_STOCK) invalid(what + ": model_stock takes no weights");
      require_fp32(o.value, what + ": the weight");
      break;
    case FW_FIELD_DENSITY:
      if (!uses_density) invalid(what + ": the method takes no density");
      if (!(o.value > 0.0 && o.value <= 1.0))
        invalid(what + ": density " + number(o.value) + " is outside (0, 1]");
      break;
    case FW_FIELD_BETA:
      if (!uses_beta) invalid(what + ": the method takes no beta");
      if (!(o.value >= 0.0 && o.value < 1.0))
        invalid(what + ": beta " + number(o.value) + " is outside [0, 1)");
      break;
    case FW_FIELD_SCALING:
      if (o.member != -1) invalid(what + ": scaling is the method's, member must be -1");
      require_fp32(o.value, what + ": scaling");
      break;
  }
  return o;
}

}  // namespace

bool is_known_method(fw_merge_method method) {
  return method >= FW_MERGE_LINEAR && method <= FW_MERGE_BREADCRUMBS_TIES;
}

const char *merge_method_name(fw_merge_method method) {
  switch (method) {
    case FW_MERGE_LINEAR:
      return "linear";
    case FW_MERGE_TASK_ARITHMETIC:
      return "task_arithmetic";
    case FW_MERGE_TIES:
      return "ties";
    case FW_MERGE_DARE_LINEAR:
      return "dare_linear";
    case FW_MERGE_DARE_TIES:
      return "dare_ties";
    case FW_MERGE_BREADCRUMBS:
      return "breadcrumbs";
    case FW_MERGE_MODEL_STOCK:
      return "model_stock";
    case FW_MERGE_BREADCRUMBS_TIES:
      return "breadcrumbs_ties";
  }
  return "unknown";
}

bool is_dare(fw_merge_method method) {
  return method == FW_MERGE_DARE_LINEAR || method == FW_MERGE_DARE_TIES;
}

bool method_leaves_hull(fw_merge_method method) {
  return method != FW_MERGE_LINEAR && method != FW_MERGE_MODEL_STOCK;
}

MergeSpec spec_from_params(const fw_merge_params &caller, size_t n) {
  if (caller.struct_size < offsetof(fw_merge_params, method) + sizeof(fw_merge_method))
    invalid("fw_merge_params.struct_size is " + std::to_string(caller.struct_size) +
            ": set it with fw_default_merge_params()");
  // The method is checked as the integer the caller stored: a C caller (or a struct copied from
  // one) can hold any int there, and loading a value outside the enum as fw_merge_method is
  // undefined behaviour (UBSan's enum check), which would also let the range check be folded away.
  static_assert(sizeof(fw_merge_method) == sizeof(int32_t), "public enums are int-sized");
  int32_t raw_method;
  std::memcpy(&raw_method, &caller.method, sizeof raw_method);
  if (raw_method < FW_MERGE_LINEAR || raw_method > FW_MERGE_BREADCRUMBS_TIES)
    invalid("unknown merge method " + std::to_string(raw_method));
  // Fields past the caller's struct_size keep the method's defaults (older callers).
  fw_merge_params p = default_merge_params(caller.method);
  std::memcpy(&p, &caller, std::min<size_t>(caller.struct_size, sizeof p));

  MergeSpec s;
  s.method = p.method;
  const char *name = merge_method_name(p.method);
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
      if (abort(user_data) != 0) fail(Status::Aborted, "aborted by fw_merge_params.abort");
    };
  }
  if (p.weights != nullptr) {
    if (n == 0) invalid(std::string(name) + ": weights are not used here; pass NULL");
    if (p.method == FW_MERGE_MODEL_STOCK) invalid("model_stock takes no weights; pass NULL");
    s.weights.assign(p.weights, p.weights + n);
    double sum = 0;
    for (size_t i = 0; i < n; ++i) {
      require_fp32(s.weights[i], std::string(name) + ": weight " + std::to_string(i));
      sum += s.weights[i];
    }
    require_weight_sum_fits(s.weights, std::string(name) + ": weights");
    if (s.normalize && divides_by_weight_sum(p.method) && sum == 0.0)
      invalid(std::string(name) + ": normalize with weights summing to 0");
  }
  const bool uses_density = p.method == FW_MERGE_TIES || p.method == FW_MERGE_DARE_LINEAR ||
                            p.method == FW_MERGE_DARE_TIES || p.method == FW_MERGE_BREADCRUMBS ||
                            p.method == FW_MERGE_BREADCRUMBS_TIES;
  const bool uses_beta = p.method == FW_MERGE_BREADCRUMBS || p.method == FW_MERGE_BREADCRUMBS_TIES;
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
  if (p.method == FW_MERGE_MODEL_STOCK && n == 1)
    invalid("model_stock needs at least 2 pool members, got 1");
  if (p.mergekit_compat != 0) {
    if (n == 0) invalid(std::string(name) + ": mergekit_compat is fw_merge's");
    if (p.method == FW_MERGE_MODEL_STOCK) invalid("model_stock has no mergekit-compatible mode");
    if (p.compute_dtype != FW_DTYPE_DEFAULT && p.compute_dtype != FW_DTYPE_F32 &&
        p.compute_dtype != FW_DTYPE_F16 && p.compute_dtype != FW_DTYPE_BF16)
      invalid("compute_dtype must be FW_DTYPE_DEFAULT, F32, F16 or BF16");
    s.mergekit = true;
    s.mergekit_tie_order = p.mergekit_compat == 2;
    s.compute_dtype = p.compute_dtype;
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
  if (p.n_overrides > 0) {
    if (p.overrides == nullptr) invalid(std::string(name) + ": overrides is NULL, n_overrides > 0");
    if (n == 0) invalid(std::string(name) + ": overrides are fw_merge's and fw_set_start_merge's");
    for (size_t k = 0; k < p.n_overrides; ++k)
      s.overrides.push_back(read_override(p.overrides[k], k, p.method, n, uses_density, uses_beta));
  }
  return s;
}

MergeSpec MergeSpec::for_tensor(const std::string &name, size_t n) const {
  MergeSpec t = *this;
  t.overrides.clear();
  if (overrides.empty()) return t;
  // done[field][member]: a value was already taken (the first match wins).
  std::vector<std::vector<char>> done(4, std::vector<char>(n, 0));
  bool scaling_done = false;
  const auto materialize = [n](std::vector<double> &values, auto value_of) {
    if (!values.empty()) return;
    for (size_t i = 0; i < n; ++i) values.push_back(value_of(i));
  };
  for (const MergeOverride &o : overrides) {
    if (::fnmatch(o.tensors.c_str(), name.c_str(), 0) != 0) continue;
    if (o.field == FW_FIELD_SCALING) {
      if (!scaling_done) t.scaling = o.value;
      scaling_done = true;
      continue;
    }
    const size_t lo = o.member < 0 ? 0 : static_cast<size_t>(o.member);
    const size_t hi = o.member < 0 ? n : lo + 1;
    for (size_t i = lo; i < hi; ++i) {
      char &taken = done[static_cast<size_t>(o.field)][i];
      if (taken) continue;
      taken = 1;
      switch (o.field) {
        case FW_FIELD_WEIGHT:
          materialize(t.weights, [&](size_t j) { return weight(j); });
          t.weights[i] = o.value;
          break;
        case FW_FIELD_DENSITY:
          if (is_dare(method)) {
            materialize(t.drop_rates, [&](size_t j) { return drop_rate_of(j); });
            t.drop_rates[i] = 1.0 - o.value;
          } else {
            materialize(t.densities, [&](size_t j) { return density_of(j); });
            t.densities[i] = o.value;
          }
          break;
        case FW_FIELD_BETA:
          materialize(t.betas, [&](size_t j) { return beta_of(j); });
          t.betas[i] = o.value;
          break;
        case FW_FIELD_SCALING:
          break;
      }
    }
  }
  if (!t.weights.empty())
    require_weight_sum_fits(t.weights, std::string(merge_method_name(method)) + ": tensor \"" +
                                           name + "\" (after overrides)");
  if (normalize && divides_by_weight_sum(method) && !t.weights.empty()) {
    double sum = 0;
    for (double w : t.weights) sum += w;
    if (sum == 0.0)
      invalid(std::string(merge_method_name(method)) +
              ": normalize with weights summing to 0 for " + "tensor \"" + name +
              "\" (after overrides)");
  }
  return t;
}

nlohmann::json spec_json(const MergeSpec &spec) {
  nlohmann::json j;
  j["method"] = merge_method_name(spec.method);
  j["scaling"] = spec.scaling;
  j["density"] = spec.density;
  j["drop_rate"] = spec.drop_rate;
  j["beta"] = spec.beta;
  j["normalize"] = spec.normalize;
  if (spec.weights.empty())
    j["weights"] = nullptr;
  else
    j["weights"] = spec.weights;
  // Only when given, so recipes without them keep their bytes.
  if (!spec.densities.empty()) j["densities"] = spec.densities;
  if (!spec.betas.empty()) j["betas"] = spec.betas;
  if (!spec.filter.empty())
    j["tensors"] = {{"include", spec.filter.include()}, {"exclude", spec.filter.exclude()}};
  if (!spec.overrides.empty()) {
    nlohmann::json list = nlohmann::json::array();
    for (const MergeOverride &o : spec.overrides)
      list.push_back({{"tensors", o.tensors},
                      {"member", o.member},
                      {"field", field_name(o.field)},
                      {"value", o.value}});
    j["overrides"] = list;
  }
  if (spec.mergekit) {
    j["semantics"] = "mergekit";
    if (spec.mergekit_tie_order) j["tie_order"] = "argsort";
    j["compute_dtype"] = spec.compute_dtype == FW_DTYPE_DEFAULT ? "each tensor's"
                         : spec.compute_dtype == FW_DTYPE_F32   ? "F32"
                         : spec.compute_dtype == FW_DTYPE_F16   ? "F16"
                                                                : "BF16";
  }
  j["seed"] = spec.seed;
  if (spec.method == FW_MERGE_DARE_LINEAR || spec.method == FW_MERGE_DARE_TIES)
    j["generator"] = "splitmix64(stream_key(seed, tensor, member), element)";
  j["leaves_hull"] = method_leaves_hull(spec.method);
  return j;
}

}  // namespace fw
