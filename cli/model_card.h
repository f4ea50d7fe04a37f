// The README.md model card of an output folder: Hugging Face front matter, what was merged, and
// the recipe as given.
#pragma once

#include <string>

#include "fw_recipe.h"
#include "recipe.h"

namespace fwcli {

std::string model_card(const Recipe &recipe, const std::string &base);
// The card of a Frank-Wolfe merge: its pool, how many steps ran, the last step's loss and gap.
std::string fw_model_card(const FwRecipe &recipe, int steps, double last_loss, double last_gap);

}  // namespace fwcli
