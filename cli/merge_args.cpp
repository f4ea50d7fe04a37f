#include "merge_args.h"

#include <map>
#include <optional>

namespace fwcli {
namespace {

// A tensor name as an fnmatch pattern that matches only itself.
std::string exact_pattern(const std::string &name) {
  std::string out;
  for (char c : name) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

// The most common value (the first of equally common ones).
double most_common(const std::vector<double> &values) {
  std::map<double, size_t> count;
  for (double v : values) ++count[v];
  double best = values.front();
  for (double v : values)
    if (count[v] > count[best]) best = v;
  return best;
}

struct Resolved {
  double value;
  int line;  // where it came from; 0: the default
};

// mergekit's lookup for one tensor: the model's own setting, else the top-level one, else none.
std::optional<Resolved> lookup(const std::map<std::string, Setting> *own,
                               const std::map<std::string, Setting> &global, const std::string &key,
                               const std::string &tensor, double t) {
  for (const auto *level : {own, &global}) {
    if (level == nullptr) continue;
    const auto it = level->find(key);
    if (it == level->end()) continue;
    if (const std::optional<double> v = it->second.at(tensor, t))
      return Resolved{*v, it->second.line};
  }
  return std::nullopt;
}

}  // namespace

MergeArgs::MergeArgs(const Recipe &recipe, int32_t mergekit_compat,
                     const std::vector<std::string> &tensor_names)
    : params_(fw_default_merge_params(recipe.method)) {
  // model_stock has no mergekit mode (mergekit's computes as fwmerge's, in fp32); linear needs
  // none.
  // The SVD methods are not mergekit's: there is no mergekit arithmetic to reproduce.
  const bool svd = recipe.method == FW_MERGE_METHOD_TSV_M ||
                   recipe.method == FW_MERGE_METHOD_ISO_C ||
                   recipe.method == FW_MERGE_METHOD_ISO_CTS;
  if (mergekit_compat != 0 && recipe.method != FW_MERGE_METHOD_MODEL_STOCK && !svd) {
    params_.mergekit_compat = mergekit_compat;
    params_.compute_dtype = recipe.compute_dtype;
  }
  const size_t n = recipe.models.size();
  const bool weighted = recipe.model_parameters.count("weight") > 0;
  const bool takes_density = recipe.model_parameters.count("density") > 0;
  const bool takes_gamma = recipe.model_parameters.count("gamma") > 0;
  const bool takes_epsilon = recipe.model_parameters.count("epsilon") > 0;  // della's per model
  const bool takes_scale = recipe.model_parameters.count("scale") > 0;      // passthrough's
  for (const RecipeModel &m : recipe.models) {
    weights_.push_back(m.weight);
    densities_.push_back(m.density);
    betas_.push_back(m.gamma);
    epsilons_.push_back(m.epsilon);
  }
  params_.scaling = recipe.lambda;
  params_.normalize = recipe.normalize ? 1 : 0;
  params_.rescale = recipe.rescale ? 1 : 0;
  if (takes_scale) params_.scale = recipe.models[0].scale;
  // The 0.5.0 methods' scalar options: each into its field (the recipe checked the keys).
  for (const auto &[key, value] : recipe.options) {
    if (key == "normalize_weights") params_.normalize = value != 0.0 ? 1 : 0;
    if (key == "eps") params_.eps = value;
    if (key == "nuslerp_flatten") params_.nuslerp_flatten = value != 0.0 ? 1 : 0;
    if (key == "nuslerp_row_wise") params_.nuslerp_row_wise = value != 0.0 ? 1 : 0;
    if (key == "max_iter") params_.max_iter = static_cast<int32_t>(value);
    if (key == "tol") params_.tol = value;
    if (key == "select_topk") params_.select_topk = value;
    if (key == "epsilon") params_.epsilon = value;  // ram's, shared
    if (key == "r") params_.ram_r = value;
    if (key == "alpha") params_.ram_alpha = value;
    if (key == "common_space_fraction") params_.select_topk = value;  // iso_cts
  }
  // t as a plain number (a gradient is expanded per tensor below).
  if (const auto t = recipe.global.find("t"); t != recipe.global.end() && !t->second.per_tensor())
    params_.t = t->second.number;
  params_.fill_missing_from_base = recipe.fill_missing_from_base ? 1 : 0;

  struct Pending {
    size_t tensor;
    int64_t member;
    fw_merge_field field;
    double value;
  };
  std::vector<Pending> pending;
  if (recipe.per_tensor()) {
    const std::vector<double> t = layer_positions(tensor_names);
    const auto fail = [&](int line, const std::string &message) {
      throw RecipeError(recipe.file + (line > 0 ? ":" + std::to_string(line) : "") + ": " +
                        message);
    };
    // One parameter of one member (or lambda, member -1) over every tensor.
    const auto expand = [&](const std::string &key, int64_t member, fw_merge_field field,
                            double fallback, double *array_value) {
      const RecipeModel *m = member >= 0 ? &recipe.models[static_cast<size_t>(member)] : nullptr;
      std::vector<double> values;
      for (size_t i = 0; i < tensor_names.size(); ++i) {
        const std::string &name = tensor_names[i];
        const std::optional<Resolved> r =
            lookup(m ? &m->own : nullptr, recipe.global, key, name, t[i]);
        if (!r && key == "weight")
          fail(m->line, "no weight for model '" + m->path + "' at tensor '" + name +
                            "': no filter matches it (mergekit requires a weight)");
        const double v = r ? r->value : fallback;
        const int line = r ? r->line : 0;
        if (key == "density" && !(v > 0.0 && v <= 1.0))
          fail(line,
               "density " + std::to_string(v) + " for tensor '" + name + "' is outside (0, 1]");
        if (key == "gamma" && !(v >= 0.0 && v < 1.0))
          fail(line, "gamma " + std::to_string(v) + " for tensor '" + name + "' is outside [0, 1)");
        values.push_back(v);
      }
      if (values.empty()) return;
      *array_value = most_common(values);
      for (size_t i = 0; i < values.size(); ++i)
        if (values[i] != *array_value) pending.push_back({i, member, field, values[i]});
    };
    for (size_t i = 0; i < n; ++i) {
      const auto member = static_cast<int64_t>(i);
      if (weighted) expand("weight", member, FW_MERGE_FIELD_WEIGHT, 1.0, &weights_[i]);
      if (takes_density) expand("density", member, FW_MERGE_FIELD_DENSITY, 1.0, &densities_[i]);
      if (takes_gamma) expand("gamma", member, FW_MERGE_FIELD_BETA, 0.01, &betas_[i]);
      if (takes_epsilon) expand("epsilon", member, FW_MERGE_FIELD_EPSILON, 0.15, &epsilons_[i]);
    }
    if (recipe.takes_lambda) expand("lambda", -1, FW_MERGE_FIELD_SCALING, 1.0, &params_.scaling);
    if (recipe.global.count("t")) expand("t", -1, FW_MERGE_FIELD_T, params_.t, &params_.t);
    if (takes_scale) expand("scale", 0, FW_MERGE_FIELD_SCALE, 1.0, &params_.scale);
  }
  patterns_.reserve(pending.size());
  for (const Pending &p : pending) patterns_.push_back(exact_pattern(tensor_names[p.tensor]));
  for (size_t k = 0; k < pending.size(); ++k)
    overrides_.push_back(
        {patterns_[k].c_str(), pending[k].member, pending[k].field, pending[k].value});
  if (!overrides_.empty()) {
    params_.overrides = overrides_.data();
    params_.n_overrides = overrides_.size();
  }

  if (weighted) params_.weights = weights_.data();
  if (takes_density) params_.densities = densities_.data();
  if (takes_gamma) params_.betas = betas_.data();
  if (takes_epsilon) params_.epsilons = epsilons_.data();
}

}  // namespace fwcli
