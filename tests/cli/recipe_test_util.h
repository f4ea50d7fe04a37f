// Helpers shared by the recipe tests: the message a recipe is refused with, and substring checks.
#pragma once

#include <string>

#include "recipe.h"

namespace recipe_test {

// What parse_recipe says of `yaml` (read as "r.yml"), or "(no error)".
inline std::string error_of(const std::string &yaml) {
  try {
    fwcli::parse_recipe(yaml, "r.yml");
  } catch (const fwcli::RecipeError &e) {
    return e.what();
  }
  return "(no error)";
}

inline bool contains(const std::string &text, const std::string &part) {
  return text.find(part) != std::string::npos;
}

}  // namespace recipe_test
