// Recipes and checkpoints from users who may be hostile: YAML whose aliases expand past the
// bounds (both recipe kinds), repeated keys and extra documents (which YAML readers resolve
// differently), and control characters in what `fwmerge inspect` prints.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "fw_recipe.h"
#include "fwmerge.h"
#include "inspect.h"
#include "recipe.h"
#include "yaml_guard.h"

namespace {

const char kMergeHead[] =
    "merge_method: linear\nmodels:\n  - {model: a, parameters: {weight: 1}}\n";
const char kFwHead[] =
    "base_model: base\nmodels: [a, {model: b}]\nobjective:\n  module: net.pt\n"
    "  calibration: calib.safetensors\n  terms:\n    - {inputs: x, labels: y}\n";

std::string merge_error(const std::string &yaml) {
  try {
    fwcli::parse_recipe(yaml, "r.yml");
  } catch (const fwcli::RecipeError &e) {
    return e.what();
  }
  return "(no error)";
}

std::string fw_error(const std::string &yaml) {
  try {
    fwcli::parse_fw_recipe(yaml, "fw.yml");
  } catch (const fwcli::RecipeError &e) {
    return e.what();
  }
  return "(no error)";
}

// The "billion laughs": 9 levels of 10 aliases each, 10^9 nodes once expanded, from ~1 KB.
std::string laughs(const std::string &key) {
  std::string y = key + ":\n  l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (int i = 1; i < 9; ++i) {
    const std::string prev = "*l" + std::to_string(i - 1);
    y += "  l" + std::to_string(i) + ": &l" + std::to_string(i) + " [";
    for (int k = 0; k < 10; ++k) y += (k ? ", " : "") + prev;
    y += "]\n";
  }
  return y;
}

// A 1 MB string aliased 1000 times: 1 GB of scalars once expanded.
std::string big_string_aliased() {
  std::string y = "s: &s " + std::string(1 << 20, 'x') + "\nt: [";
  for (int k = 0; k < 1000; ++k) y += (k ? ", " : "") + std::string("*s");
  return y + "]\n";
}

TEST(RecipeHostile, AliasBombsAreRefusedWithANamedErrorInBothRecipeKinds) {
  const std::string bomb = laughs("parameters");
  for (const std::string &e : {merge_error(std::string(kMergeHead) + bomb),
                               fw_error(std::string(kFwHead) + laughs("extra"))}) {
    EXPECT_NE(e.find("[yaml_too_large]"), std::string::npos) << e;
    EXPECT_NE(e.find("nodes once YAML aliases are expanded"), std::string::npos) << e;
  }
  const std::string strings = big_string_aliased();
  for (const std::string &e :
       {merge_error(std::string(kMergeHead) + strings), fw_error(std::string(kFwHead) + strings)}) {
    EXPECT_NE(e.find("[yaml_too_large]"), std::string::npos) << e;
    EXPECT_NE(e.find("bytes of scalars"), std::string::npos) << e;
  }
}

TEST(RecipeHostile, EachBoundIsNamed) {
  const auto error_of = [](const std::string &yaml, const fwcli::YamlLimits &limits) {
    try {
      fwcli::check_yaml(yaml, "r.yml", limits);
    } catch (const fwcli::RecipeError &e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  fwcli::YamlLimits small;
  small.max_aliases = 3;
  EXPECT_NE(error_of("a: &a 1\nb: [*a, *a, *a, *a]\n", small)
                .find("r.yml:2: [yaml_too_large] "
                      "more than 3 aliases"),
            std::string::npos);
  EXPECT_EQ(error_of("a: &a 1\nb: [*a, *a, *a]\n", small), "(no error)");
  small = fwcli::YamlLimits();
  small.max_depth = 3;
  EXPECT_NE(error_of("a: [[[1]]]\n", small).find("more than 3 levels of nesting"),
            std::string::npos);
  EXPECT_EQ(error_of("a: [[1]]\n", small), "(no error)");
  // A cycle (an alias inside its own anchor) would make the readers loop.
  EXPECT_NE(error_of("a: &a [1, *a]\n", fwcli::YamlLimits()).find("cycle"), std::string::npos);
  // Anchors and aliases within the bounds are fine: what real recipes do with them.
  const fwcli::Recipe r = fwcli::parse_recipe(
      "merge_method: ties\nbase_model: base\nmodels:\n"
      "  - {model: a, parameters: &p {weight: 0.5, density: 0.5}}\n"
      "  - {model: b, parameters: *p}\n",
      "r.yml");
  ASSERT_EQ(r.models.size(), 2u);
  EXPECT_EQ(r.models[1].weight, 0.5);
}

TEST(RecipeHostile, DuplicateKeysAreErrorsNamingBothLines) {
  // yaml-cpp would take the first value, mergekit (PyYAML) the last: ties, or linear?
  const std::string e = merge_error(
      "merge_method: ties\nbase_model: base\nmerge_method: linear\n"
      "models:\n  - {model: a, parameters: {weight: 1}}\n");
  EXPECT_NE(e.find("r.yml:3: duplicate key 'merge_method' (first at line 1"), std::string::npos)
      << e;
  // Nested mappings too, in both recipe kinds; the same key in two mappings is not a repeat.
  const std::string nested = merge_error(
      "merge_method: linear\nmodels:\n  - model: a\n    parameters: {weight: 1, weight: 2}\n");
  EXPECT_NE(nested.find("r.yml:4: duplicate key 'weight'"), std::string::npos) << nested;
  const std::string fw =
      fw_error(std::string(kFwHead) + "params:\n  max_iters: 3\n  max_iters: 4\n");
  EXPECT_NE(fw.find("fw.yml:10: duplicate key 'max_iters' (first at line 9"), std::string::npos)
      << fw;
  EXPECT_EQ(merge_error("merge_method: linear\nmodels:\n  - {model: a, parameters: {weight: 1}}\n"
                        "  - {model: b, parameters: {weight: 1}}\n"),
            "(no error)");
}

// YAML allows a sequence or a mapping as a key; found by fuzz_recipe: converting one to a string
// threw yaml-cpp's "bad conversion" without the recipe's name or line.
TEST(RecipeHostile, AKeyThatIsNotAPlainNameIsAnErrorNamingItsLine) {
  const std::string top = merge_error(std::string(kMergeHead) + "? [a, b]\n: 1\n");
  EXPECT_NE(top.find("r.yml:4: a key must be a plain name"), std::string::npos) << top;
  const std::string nested = merge_error(
      "merge_method: linear\nmodels:\n  - model: a\n    parameters: {weight: 1, {x: 1}: 2}\n");
  EXPECT_NE(nested.find("r.yml:4: a key must be a plain name"), std::string::npos) << nested;
  const std::string fw = fw_error(std::string(kFwHead) + "parameters:\n  ? {lmo: hard}\n  : 1\n");
  EXPECT_NE(fw.find("fw.yml:9: a key must be a plain name"), std::string::npos) << fw;
}

TEST(RecipeHostile, ASecondDocumentIsAnErrorNamingItsLine) {
  const std::string e =
      merge_error(std::string("---\n") + kMergeHead + "---\nmerge_method: ties\n");
  EXPECT_NE(e.find("r.yml:5: a recipe is one YAML document"), std::string::npos) << e;
  const std::string fw = fw_error(std::string(kFwHead) + "---\nbase_model: other\n");
  EXPECT_NE(fw.find("a recipe is one YAML document"), std::string::npos) << fw;
  // One document with explicit markers is fine.
  EXPECT_EQ(merge_error(std::string("---\n") + kMergeHead + "...\n"), "(no error)");
}

std::string inspect_output(const std::string &path) {
  std::FILE *out = std::tmpfile();
  EXPECT_EQ(fwcli::run_inspect(path, fwcli::InspectOptions(), out), 0);
  std::rewind(out);
  std::string text;
  char buf[4096];
  size_t got;
  while ((got = std::fread(buf, 1, sizeof buf, out)) > 0) text.append(buf, got);
  std::fclose(out);
  return text;
}

TEST(RecipeHostile, InspectEscapesControlCharactersOfNamesAndMetadata) {
  const std::string dir = std::string(FW_TEST_TMP) + "/inspect_escapes";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/evil.safetensors";
  float value = 1;
  int64_t shape = 1;
  const std::string name = "w\x1b]0;pwned\x07\x1b[2J";
  fw_tensor t;
  std::memset(&t, 0, sizeof t);
  t.name = name.c_str();
  t.dtype = FW_DTYPE_F32;
  t.ndim = 1;
  t.shape = &shape;
  t.numel = 1;
  t.data = &value;
  const char *meta[] = {"note\r",
                        "clear\x1b[2J and csi \xc2\x9b"
                        "31m"};
  ASSERT_EQ(fw_save_tensors(path.c_str(), &t, 1, FW_DTYPE_F32, meta, 1), FW_OK) << fw_last_error();
  const std::string text = inspect_output(path);
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    EXPECT_TRUE(u >= 0x20 || c == '\n') << "raw control byte " << static_cast<int>(u);
    EXPECT_NE(u, 0x7f);
  }
  EXPECT_EQ(text.find("\xc2\x9b"), std::string::npos);
  EXPECT_NE(text.find("w\\x1b]0;pwned\\x07\\x1b[2J"), std::string::npos) << text;
  EXPECT_NE(text.find("note\\x0d: clear\\x1b[2J and csi \\u009b31m"), std::string::npos) << text;
  EXPECT_EQ(fwcli::printable("model.layers.0.weight ü"), "model.layers.0.weight ü");
}

}  // namespace
