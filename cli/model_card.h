// The README.md model card of an output folder: Hugging Face front matter, what was merged, and
// the recipe as given.
#pragma once

#include <string>

#include "recipe.h"

namespace fwcli {

std::string model_card(const Recipe &recipe, const std::string &base);

}  // namespace fwcli
