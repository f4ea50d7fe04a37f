// Reading recipe values from yaml-cpp nodes with errors that name the recipe file and the line:
// "RECIPE:LINE: message" (RecipeError). Shared by the mergekit recipes (`fwmerge merge`) and the
// Frank-Wolfe recipes (`fwmerge fw`).
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>

#include "fwmerge.h"
#include "yaml_guard.h"

namespace fwcli {

// A recipe error: "RECIPE:LINE: message".
class RecipeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Reader {
 public:
  explicit Reader(std::string name) : name_(std::move(name)) {}

  [[noreturn]] void fail(const YAML::Node &at, const std::string &message) const {
    std::ostringstream s;
    s << name_;
    if (at.IsDefined() && at.Mark().line >= 0) s << ":" << at.Mark().line + 1;
    s << ": " << message;
    throw RecipeError(s.str());
  }

  // A mapping key as text. YAML allows sequences and mappings as keys (`? [a, b]: x`); no recipe
  // key is one, and converting one to a string would throw yaml-cpp's own error, without the line.
  std::string key_of(const YAML::Node &k) const {
    if (!k.IsScalar()) fail(k, "a key must be a plain name, not a sequence or a mapping");
    return k.as<std::string>();
  }

  std::string string_of(const YAML::Node &n, const std::string &key) const {
    if (!n.IsScalar()) fail(n, key + " must be a string");
    return n.as<std::string>();
  }

  double number_of(const YAML::Node &n, const std::string &key) const {
    if (n.IsSequence() || n.IsMap()) fail(n, key + " must be one number here");
    if (!n.IsScalar()) fail(n, key + " must be a number");
    double v;
    try {
      v = n.as<double>();
    } catch (const YAML::Exception &) {
      fail(n, key + " must be a number, not '" + n.as<std::string>() + "'");
    }
    if (!std::isfinite(v)) fail(n, key + " must be finite");
    return v;
  }

  bool bool_of(const YAML::Node &n, const std::string &key) const {
    if (!n.IsScalar()) fail(n, key + " must be true or false");
    try {
      return n.as<bool>();
    } catch (const YAML::Exception &) {
      fail(n, key + " must be true or false, not '" + n.as<std::string>() + "'");
    }
  }

  fw_dtype dtype_of(const YAML::Node &n, const std::string &key) const {
    const std::string s = string_of(n, key);
    if (s == "float32" || s == "fp32") return FW_DTYPE_F32;
    if (s == "float16" || s == "fp16") return FW_DTYPE_F16;
    if (s == "bfloat16" || s == "bf16") return FW_DTYPE_BF16;
    fail(n, key + ": unknown dtype '" + s + "' (float32, float16 or bfloat16)");
  }

  // A whole number in [lo, hi].
  int64_t int_of(const YAML::Node &n, const std::string &key, int64_t lo, int64_t hi) const {
    const double v = number_of(n, key);
    if (v != std::floor(v) || v < static_cast<double>(lo) || v > static_cast<double>(hi))
      fail(n, key + " must be a whole number in [" + std::to_string(lo) + ", " +
                  std::to_string(hi) + "]");
    return static_cast<int64_t>(v);
  }

  // One of `choices` (name -> value); the error lists them.
  int choice_of(const YAML::Node &n, const std::string &key,
                const std::map<std::string, int> &choices) const {
    const std::string s = string_of(n, key);
    const auto it = choices.find(s);
    if (it != choices.end()) return it->second;
    std::string names;
    for (const auto &c : choices) names += (names.empty() ? "" : ", ") + c.first;
    fail(n, key + ": unknown value '" + s + "' (" + names + ")");
  }

  // Fails on the first key of mapping `m` that is not in `allowed`.
  template <typename Set>
  void only_keys(const YAML::Node &m, const Set &allowed, const std::string &where) const {
    if (!m.IsMap()) fail(m, where + " must be a mapping");
    for (const auto &kv : m) {
      const std::string key = key_of(kv.first);
      if (!allowed.count(key)) fail(kv.first, "unsupported key '" + key + "' in " + where);
    }
  }

 private:
  std::string name_;
};

// The YAML document of a recipe; a syntax error is "NAME:LINE: not valid YAML: ...". The text is
// checked first (yaml_guard.h): bounded alias expansion, no repeated key, one document.
inline YAML::Node load_yaml(const std::string &text, const std::string &name) {
  check_yaml(text, name);
  try {
    return YAML::Load(text);
  } catch (const YAML::ParserException &e) {
    throw RecipeError(name + ":" + std::to_string(e.mark.line + 1) + ": not valid YAML: " + e.msg);
  }
}

// Recipes are small; the cap stops a hostile file (or /dev/zero behind a link) before it fills
// memory.
constexpr uint64_t kMaxRecipeBytes = 16ull << 20;

// The text of the recipe file at `path` (RecipeError when it cannot be opened, is not a regular
// file or exceeds kMaxRecipeBytes). Opened non-blocking: a FIFO given as RECIPE would otherwise
// block open() until a writer appears.
inline std::string read_recipe_text(const std::string &path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) throw RecipeError(path + ": cannot open the recipe: " + std::strerror(errno));
  struct stat st;
  std::string why;
  if (::fstat(fd, &st) != 0)
    why = std::strerror(errno);
  else if (!S_ISREG(st.st_mode))
    why = S_ISFIFO(st.st_mode)  ? "not a regular file (a FIFO)"
          : S_ISDIR(st.st_mode) ? "not a regular file (a directory)"
                                : "not a regular file";
  else if (static_cast<uint64_t>(st.st_size) > kMaxRecipeBytes)
    why = std::to_string(st.st_size) + " bytes, more than the " + std::to_string(kMaxRecipeBytes) +
          " a recipe may have";
  std::string text;
  if (why.empty()) {
    text.resize(static_cast<size_t>(st.st_size));
    size_t done = 0;
    while (done < text.size()) {
      const ssize_t got = ::read(fd, text.data() + done, text.size() - done);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) break;
      done += static_cast<size_t>(got);
    }
    if (done != text.size()) why = "cannot read it";
  }
  ::close(fd);
  if (!why.empty()) throw RecipeError(path + ": cannot open the recipe: " + why);
  return text;
}

}  // namespace fwcli
