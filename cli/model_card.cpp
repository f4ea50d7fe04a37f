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

}  // namespace fwcli
