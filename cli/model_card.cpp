#include "model_card.h"

#include <sstream>

#include "fwmerge.h"

namespace fwcli {
namespace {

// A YAML double-quoted scalar.
std::string quoted(const std::string &s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::string model_card(const Recipe &recipe, const std::string &base) {
  std::ostringstream s;
  s << "---\nbase_model:\n  - " << quoted(base) << "\n";
  s << "library_name: transformers\ntags:\n  - merge\n  - fwmerge\n  - " << recipe.method_name
    << "\n---\n\n";
  s << "# Merged model\n\n";
  s << "Merged with fwmerge " << fw_version() << " (`fwmerge merge`), method `"
    << recipe.method_name << "`, base `" << base << "`.\n\n";
  s << "## Models merged\n\n";
  for (const RecipeModel &m : recipe.models) s << "- `" << m.path << "`\n";
  s << "\n## Recipe\n\n```yaml\n" << recipe.text;
  if (!recipe.text.empty() && recipe.text.back() != '\n') s << "\n";
  s << "```\n";
  return s.str();
}

std::string fw_model_card(const FwRecipe &recipe, int steps, double last_loss, double last_gap) {
  std::ostringstream s;
  s << "---\nbase_model:\n  - " << quoted(recipe.base_model) << "\n";
  s << "library_name: transformers\ntags:\n  - merge\n  - fwmerge\n  - frank-wolfe\n---\n\n";
  s << "# Merged model\n\n";
  s << "Merged with fwmerge " << fw_version()
    << " (`fwmerge fw`): Frank-Wolfe merging (Chen et al., ICCV 2025) over the models below, base `"
    << recipe.base_model << "`, " << steps << " steps; the last one started at loss " << last_loss
    << " with Frank-Wolfe gap " << last_gap
    << ". The per-step history is in the weights' metadata (\"fwmerge.history\").\n\n";
  s << "## Models merged\n\n";
  for (const std::string &m : recipe.models) s << "- `" << m << "`\n";
  s << "\n## Recipe\n\n```yaml\n" << recipe.text;
  if (!recipe.text.empty() && recipe.text.back() != '\n') s << "\n";
  s << "```\n";
  return s.str();
}

}  // namespace fwcli
