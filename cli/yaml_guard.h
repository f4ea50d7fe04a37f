// Checks on a recipe's YAML text before yaml-cpp builds its node graph and the recipe readers walk
// it: recipes come from users (an MLOps platform merges what they upload), and YAML lets a small
// text stand for a huge document (aliases of aliases, a large string aliased many times), which
// the readers would expand while converting it. Also what YAML::Load silently accepts but mergekit
// and PyYAML do not mean the same way: a repeated key (yaml-cpp keeps the first value, PyYAML the
// last) and extra documents after the first (ignored).
#pragma once

#include <cstdint>
#include <string>

namespace fwcli {

// Bounds on the document as if every alias were expanded in place. Real recipes are far below them
// (a few hundred nodes, kilobytes); an alias bomb is far above.
struct YamlLimits {
  uint64_t max_nodes = 100000;           // scalars, sequences and mappings, aliases expanded
  uint64_t max_scalar_bytes = 16 << 20;  // total bytes of the scalars, aliases expanded
  uint64_t max_aliases = 10000;          // alias uses in the text
  uint32_t max_depth = 64;               // nesting of sequences and mappings
};

// RecipeError "NAME:LINE: ..." for: an expansion past `limits` ("[yaml_too_large]", naming the
// bound), a key repeated in one mapping ("duplicate key 'k' (first at line L)"), a second YAML
// document ("a recipe is one YAML document"), or a syntax error ("not valid YAML"). Linear in the
// text.
void check_yaml(const std::string &text, const std::string &name,
                const YamlLimits &limits = YamlLimits());

}  // namespace fwcli
