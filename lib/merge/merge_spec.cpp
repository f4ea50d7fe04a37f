#include "merge/merge_spec.h"

#include <fnmatch.h>

#include <cmath>
#include <limits>
#include <sstream>

#include "util/error.h"

namespace fw {

namespace {

[[noreturn]] void invalid(const std::string &message) { fail(Status::InvalidArgument, message); }

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

}  // namespace

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

const char *merge_field_name(MergeField field) {
  switch (field) {
    case MergeField::Weight:
      return "weight";
    case MergeField::Density:
      return "density";
    case MergeField::Beta:
      return "beta";
    case MergeField::Scaling:
      return "scaling";
    case MergeField::Epsilon:
      return "epsilon";
    case MergeField::Scale:
      return "scale";
    case MergeField::T:
      return "t";
  }
  return "unknown";
}

bool divides_by_weight_sum(MergeMethod method) {
  return method == MergeMethod::Linear || method == MergeMethod::TaskArithmetic ||
         method == MergeMethod::DareLinear || method == MergeMethod::Breadcrumbs ||
         method == MergeMethod::DellaLinear;
}

const char *merge_method_name(MergeMethod method) {
  switch (method) {
    case MergeMethod::Linear:
      return "linear";
    case MergeMethod::TaskArithmetic:
      return "task_arithmetic";
    case MergeMethod::Ties:
      return "ties";
    case MergeMethod::DareLinear:
      return "dare_linear";
    case MergeMethod::DareTies:
      return "dare_ties";
    case MergeMethod::Breadcrumbs:
      return "breadcrumbs";
    case MergeMethod::ModelStock:
      return "model_stock";
    case MergeMethod::BreadcrumbsTies:
      return "breadcrumbs_ties";
    case MergeMethod::Passthrough:
      return "passthrough";
    case MergeMethod::Della:
      return "della";
    case MergeMethod::DellaLinear:
      return "della_linear";
    case MergeMethod::Sce:
      return "sce";
    case MergeMethod::Ram:
      return "ram";
    case MergeMethod::RamplusTl:
      return "ramplus_tl";
    case MergeMethod::Slerp:
      return "slerp";
    case MergeMethod::Nuslerp:
      return "nuslerp";
    case MergeMethod::Multislerp:
      return "multislerp";
    case MergeMethod::Karcher:
      return "karcher";
    case MergeMethod::Nearswap:
      return "nearswap";
    case MergeMethod::ArceeFusion:
      return "arcee_fusion";
    case MergeMethod::TsvM:
      return "tsv_m";
    case MergeMethod::IsoC:
      return "iso_c";
    case MergeMethod::IsoCts:
      return "iso_cts";
  }
  return "unknown";
}

bool is_dare(MergeMethod method) {
  return method == MergeMethod::DareLinear || method == MergeMethod::DareTies;
}

bool is_della(MergeMethod method) {
  return method == MergeMethod::Della || method == MergeMethod::DellaLinear;
}

bool is_ram(MergeMethod method) {
  return method == MergeMethod::Ram || method == MergeMethod::RamplusTl;
}

bool is_svd_merge(MergeMethod method) {
  return method == MergeMethod::TsvM || method == MergeMethod::IsoC ||
         method == MergeMethod::IsoCts;
}

// Passthrough is the member itself only with scale 1; every other method here may leave the hull.
bool method_leaves_hull(MergeMethod method) {
  return method != MergeMethod::Linear && method != MergeMethod::ModelStock;
}

namespace {

std::string number_text(double value) { return magnitude_text(value); }

void require_count(const std::vector<double> &values, size_t n, const std::string &what) {
  if (!values.empty() && values.size() != n)
    invalid(what + ": " + std::to_string(values.size()) + " values for " + std::to_string(n) +
            " members");
}

void require_no_weights(const MergeSpec &spec) {
  if (!spec.weights.empty())
    invalid(std::string(merge_method_name(spec.method)) +
            " takes no weights (mergekit's has no weight parameter); pass none");
}

// DELLA's keep probabilities density - epsilon + 2 epsilon rank / (m - 1) must lie in (0, 1):
// mergekit's della_magprune raises otherwise (strictly), except for density >= 1 (no pruning)
// and density <= 0 (nothing kept), which it returns before the check.
void check_della(const MergeSpec &spec, size_t n) {
  const std::string name = merge_method_name(spec.method);
  require_count(spec.densities, n, name + " densities");
  require_count(spec.epsilons, n, name + " epsilons");
  for (size_t i = 0; i < n; ++i) {
    const double d = spec.density_of(i), e = spec.epsilon_of(i);
    const std::string who = name + ": member " + std::to_string(i);
    if (!(d >= 0.0 && d <= 1.0))
      invalid(who + ": density " + number_text(d) + " is outside [0, 1]");
    if (!(std::isfinite(e) && e >= 0.0))
      invalid(who + ": epsilon " + number_text(e) + " is not a finite value >= 0");
    if (d > 0.0 && d < 1.0 && !(d - e > 0.0 && d + e < 1.0))
      invalid(who + ": density " + number_text(d) + " +/- epsilon " + number_text(e) +
              " must lie in (0, 1) (the keep probabilities range over [density - epsilon, density "
              "+ epsilon])");
  }
}

}  // namespace

void check_method_params(const MergeSpec &spec, size_t n) {
  const std::string name = merge_method_name(spec.method);
  switch (spec.method) {
    case MergeMethod::Della:
    case MergeMethod::DellaLinear:
      check_della(spec, n);
      return;
    case MergeMethod::Sce:
      require_no_weights(spec);
      if (!(spec.select_topk >= 0.0 && spec.select_topk <= 1.0))
        invalid("sce: select_topk " + number_text(spec.select_topk) + " is outside [0, 1]");
      return;
    case MergeMethod::Ram:
    case MergeMethod::RamplusTl: {
      require_no_weights(spec);
      require_count(spec.epsilons, n, name + " epsilons");
      for (double e : spec.epsilons)
        if (e != spec.epsilons.front())
          invalid(name + ": epsilon is shared by the members (mergekit's is one value); got " +
                  number_text(spec.epsilons.front()) + " and " + number_text(e));
      const double e = spec.epsilon_of(0);
      // ramplus_tl divides by max(unique count, epsilon): 0 there would give 0 / 0 = NaN.
      const bool positive = spec.method == MergeMethod::RamplusTl;
      if (!(std::isfinite(e) && (positive ? e > 0.0 : e >= 0.0)))
        invalid(name + ": epsilon " + number_text(e) + " must be finite and " +
                (positive ? "> 0" : ">= 0"));
      if (spec.method == MergeMethod::RamplusTl) {
        require_fp32(spec.ram_r, "ramplus_tl: r");
        if (!(std::isfinite(spec.ram_alpha) && spec.ram_alpha >= 0.0))
          invalid("ramplus_tl: alpha " + number_text(spec.ram_alpha) +
                  " must be finite and >= 0 (rho is clamped to [0, alpha])");
        require_fp32(spec.ram_alpha, "ramplus_tl: alpha");
      }
      return;
    }
    // The SVD methods (merge/svd_merge.h): every task vector counts equally in the authors'
    // formulas (TSV-M gives each the same share of the rank), so there is nothing to weigh.
    case MergeMethod::TsvM:
    case MergeMethod::IsoC:
    case MergeMethod::IsoCts:
      if (n == 0) invalid(name + " needs at least 1 pool member, got 0");
      if (!spec.weights.empty())
        invalid(name + " takes no weights (each task vector counts equally); pass none");
      if (spec.method == MergeMethod::IsoCts &&
          !(spec.select_topk >= 0.0 && spec.select_topk <= 1.0))
        invalid("iso_cts: common_space_fraction (select_topk) " + number_text(spec.select_topk) +
                " is outside [0, 1]");
      return;
    case MergeMethod::Passthrough:
      if (n != 1)
        invalid("passthrough takes exactly one model, got " + std::to_string(n) +
                " (the base is not an input: mergekit's passthrough ignores it)");
      require_no_weights(spec);
      require_fp32(spec.scale, "passthrough: scale");
      return;
    default:
      return;
  }
}

MergeSpec MergeSpec::for_tensor(const std::string &name, size_t n) const {
  MergeSpec t = *this;
  t.overrides.clear();
  if (overrides.empty()) return t;
  // done[field][member]: a value was already taken (the first match wins).
  std::vector<std::vector<char>> done(7, std::vector<char>(n, 0));
  bool scaling_done = false, scale_done = false, t_done = false;
  const auto materialize = [n](std::vector<double> &values, auto value_of) {
    if (!values.empty()) return;
    for (size_t i = 0; i < n; ++i) values.push_back(value_of(i));
  };
  for (const MergeOverride &o : overrides) {
    if (::fnmatch(o.tensors.c_str(), name.c_str(), 0) != 0) continue;
    if (o.field == MergeField::Scaling) {
      if (!scaling_done) t.scaling = o.value;
      scaling_done = true;
      continue;
    }
    if (o.field == MergeField::Scale) {  // passthrough's, of its single member
      if (!scale_done) t.scale = o.value;
      scale_done = true;
      continue;
    }
    if (o.field == MergeField::T) {  // the method's, as scaling (mergekit's per-layer t)
      if (!t_done) t.t = o.value;
      t_done = true;
      continue;
    }
    const size_t lo = o.member < 0 ? 0 : static_cast<size_t>(o.member);
    const size_t hi = o.member < 0 ? n : lo + 1;
    for (size_t i = lo; i < hi; ++i) {
      char &taken = done[static_cast<size_t>(o.field)][i];
      if (taken) continue;
      taken = 1;
      switch (o.field) {
        case MergeField::Weight:
          materialize(t.weights, [&](size_t j) { return weight(j); });
          t.weights[i] = o.value;
          break;
        case MergeField::Density:
          if (is_dare(method)) {
            materialize(t.drop_rates, [&](size_t j) { return drop_rate_of(j); });
            t.drop_rates[i] = 1.0 - o.value;
          } else {
            materialize(t.densities, [&](size_t j) { return density_of(j); });
            t.densities[i] = o.value;
          }
          break;
        case MergeField::Beta:
          materialize(t.betas, [&](size_t j) { return beta_of(j); });
          t.betas[i] = o.value;
          break;
        case MergeField::Epsilon:
          materialize(t.epsilons, [&](size_t j) { return epsilon_of(j); });
          t.epsilons[i] = o.value;
          break;
        case MergeField::Scaling:
        case MergeField::Scale:
        case MergeField::T:
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
                      {"field", merge_field_name(o.field)},
                      {"value", o.value}});
    j["overrides"] = list;
  }
  if (spec.mergekit) {
    j["semantics"] = "mergekit";
    if (spec.mergekit_tie_order) j["tie_order"] = "argsort";
    j["compute_dtype"] = spec.compute_dtype ? dtype_name(*spec.compute_dtype) : "each tensor's";
  }
  // The geometric methods' own parameters, only for them (other recipes keep their bytes).
  switch (spec.method) {
    case MergeMethod::Slerp:
    case MergeMethod::Nearswap:
      j["t"] = spec.t;
      break;
    case MergeMethod::Multislerp:
      j["eps"] = spec.eps;
      break;
    case MergeMethod::Nuslerp:
      j["nuslerp_flatten"] = spec.nuslerp_flatten;
      j["nuslerp_row_wise"] = spec.nuslerp_row_wise;
      break;
    case MergeMethod::Karcher:
      j["max_iter"] = spec.max_iter;
      j["tol"] = spec.tol;
      break;
    default:
      break;
  }
  j["seed"] = spec.seed;
  if (is_della(spec.method)) {
    j["epsilon"] = spec.epsilon;
    if (!spec.epsilons.empty()) j["epsilons"] = spec.epsilons;
    j["rescale"] = spec.rescale;
  }
  if (spec.method == MergeMethod::Sce) j["select_topk"] = spec.select_topk;
  if (spec.method == MergeMethod::IsoCts) j["common_space_fraction"] = spec.select_topk;
  if (is_ram(spec.method)) j["epsilon"] = spec.epsilon;
  if (spec.method == MergeMethod::RamplusTl) {
    j["r"] = spec.ram_r;
    j["alpha"] = spec.ram_alpha;
  }
  if (spec.method == MergeMethod::Passthrough) j["scale"] = spec.scale;
  if (spec.method == MergeMethod::DareLinear || spec.method == MergeMethod::DareTies ||
      is_della(spec.method))
    j["generator"] = "splitmix64(stream_key(seed, tensor, member), element)";
  j["leaves_hull"] = method_leaves_hull(spec.method);
  return j;
}

}  // namespace fw
