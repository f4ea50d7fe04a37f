// A mergekit parameter value as a recipe writes it, and its value for one tensor (mergekit's
// evaluate_setting): a number; a gradient, numbers interpolated linearly over the layers; or a
// list of conditions `{filter: SUBSTRING, value: ...}` tried in order, the first whose filter
// occurs in the tensor's name (or is missing or "*") giving the value.
#pragma once

#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>
#include <vector>

#include "yaml_reader.h"

namespace fwcli {

struct Setting {
  enum class Kind { kNumber, kGradient, kConditions };
  struct Condition;

  Kind kind = Kind::kNumber;
  double number = 0.0;
  std::vector<double> gradient;
  std::vector<Condition> conditions;
  int line = 0;  // 1-based line of the value in the recipe, for messages

  // Reads `node` (`key` names it in errors). Throws RecipeError.
  static Setting read(const Reader &r, const YAML::Node &node, const std::string &key);

  bool per_tensor() const { return kind != Kind::kNumber; }
  // The value for tensor `name` at layer position t in [0, 1]; nullopt when no condition matches
  // (mergekit then falls back to the next level: top-level parameters, then the default).
  std::optional<double> at(const std::string &name, double t) const;
};

struct Setting::Condition {
  std::string filter;  // "" or "*": every tensor
  Setting value;
};

// mergekit's layer position of each tensor: i / (L - 1) for a tensor of layer i (the first
// all-digit component of its dotted name, as in model.layers.7.mlp.up_proj.weight) in a model of
// L layers (1 when L == 1), 0 for the others (embeddings, final norm, head: mergekit's pre- and
// post-layer weights).
std::vector<double> layer_positions(const std::vector<std::string> &names);

}  // namespace fwcli
