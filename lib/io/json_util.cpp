#include "io/json_util.h"

#include <cstdint>
#include <cstring>
#include <string>
#include <unordered_set>
#include <vector>

#include "util/error.h"

namespace fw {

bool is_valid_utf8(const char *bytes, size_t size) {
  const auto *s = reinterpret_cast<const unsigned char *>(bytes);
  size_t i = 0;
  while (i < size) {
    const unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t extra;
    uint32_t cp;
    uint32_t min_cp;
    if ((c & 0xE0) == 0xC0) {
      extra = 1, cp = c & 0x1F, min_cp = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2, cp = c & 0x0F, min_cp = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3, cp = c & 0x07, min_cp = 0x10000;
    } else {
      return false;  // stray continuation byte or 0xF8..0xFF
    }
    if (size - i <= extra) return false;
    for (size_t k = 1; k <= extra; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if (cp < min_cp || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += extra + 1;
  }
  return true;
}

namespace {

[[noreturn]] void too_deep(const std::string &prefix, const std::string &what) {
  fail_format(prefix + "too_deep",
              what + ": JSON nested deeper than " + std::to_string(kMaxJsonNesting) + " levels");
}

// One SAX pass that builds the value (nlohmann's own DOM builder) and makes the checks nlohmann's
// parser does not: nesting depth, and a count of the keys met, which equals the number of members
// of the objects built unless a key repeats (an object keeps one member per name). A parser
// callback could check while building, but nlohmann's callback parser rescans the enclosing object
// at the end of every nested object: quadratic in the tensor count of a safetensors header (50 k
// tensors took 30 s).
class CheckedDom {
 public:
  using json = nlohmann::json;
  CheckedDom(json &root, const std::string &prefix, const std::string &what)
      : dom_(root), prefix_(prefix), what_(what) {}

  bool null() { return dom_.null(); }
  bool boolean(bool v) { return dom_.boolean(v); }
  bool number_integer(json::number_integer_t v) { return dom_.number_integer(v); }
  bool number_unsigned(json::number_unsigned_t v) { return dom_.number_unsigned(v); }
  bool number_float(json::number_float_t v, const json::string_t &s) {
    return dom_.number_float(v, s);
  }
  bool string(json::string_t &v) { return dom_.string(v); }
  bool binary(json::binary_t &v) { return dom_.binary(v); }
  bool start_object(std::size_t n) {
    // nlohmann parses without recursion but dumps, copies, compares and destroys recursively: a
    // value nested a million deep would overflow the stack later.
    if (++nesting_ > kMaxJsonNesting) too_deep(prefix_, what_);
    return dom_.start_object(n);
  }
  bool key(json::string_t &v) {
    ++keys_;
    return dom_.key(v);
  }
  bool end_object() {
    --nesting_;
    return dom_.end_object();
  }
  bool start_array(std::size_t n) {
    if (++nesting_ > kMaxJsonNesting) too_deep(prefix_, what_);
    return dom_.start_array(n);
  }
  bool end_array() {
    --nesting_;
    return dom_.end_array();
  }
  template <class Exception>
  bool parse_error(std::size_t, const std::string &, const Exception &e) {
    fail_format(prefix_ + "not_json", what_ + ": " + e.what());
  }

  uint64_t keys() const { return keys_; }

 private:
  nlohmann::detail::json_sax_dom_parser<json> dom_;
  const std::string &prefix_;
  const std::string &what_;
  size_t nesting_ = 0;
  uint64_t keys_ = 0;
};

// Members of all objects in `value` (depth is bounded by kMaxJsonNesting, so recursion is safe).
uint64_t count_members(const nlohmann::json &value) {
  uint64_t n = 0;
  if (value.is_object()) n += value.size();
  if (value.is_structured())
    for (const nlohmann::json &child : value) n += count_members(child);
  return n;
}

// Only when a key repeats: a second pass that finds the first repeat in text order and the depth
// it is at (1: a top-level name, deeper: a field of a nested object), for the message.
class FirstDuplicate : public nlohmann::json_sax<nlohmann::json> {
 public:
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t &) override { return true; }
  bool string(string_t &) override { return true; }
  bool binary(binary_t &) override { return true; }
  bool start_object(std::size_t) override {
    ++nesting_;
    keys_.emplace_back();
    return true;
  }
  bool key(string_t &key) override {
    if (depth < 0 && !keys_.back().insert(key).second) {
      name = key;
      depth = static_cast<int>(nesting_);
    }
    return true;
  }
  bool end_object() override {
    keys_.pop_back();
    --nesting_;
    return true;
  }
  bool start_array(std::size_t) override {
    ++nesting_;
    return true;
  }
  bool end_array() override {
    --nesting_;
    return true;
  }
  bool parse_error(std::size_t, const std::string &, const nlohmann::detail::exception &) override {
    return false;
  }

  std::string name;
  int depth = -1;

 private:
  size_t nesting_ = 0;
  std::vector<std::unordered_set<std::string>> keys_;
};

}  // namespace

nlohmann::json parse_json_strict(const char *text, size_t size, const std::string &prefix,
                                 const std::string &what) {
  using nlohmann::json;
  if (!is_valid_utf8(text, size)) fail_format(prefix + "not_utf8", what + ": not valid UTF-8");
  // nlohmann's lexer takes a NUL byte for the end of input, which would accept "{}\0junk".
  if (std::memchr(text, '\0', size) != nullptr) {
    fail_format(prefix + "not_json", what + ": NUL byte in JSON text");
  }
  json value;
  CheckedDom checked(value, prefix, what);
  json::sax_parse(text, text + size, &checked);
  if (count_members(value) == checked.keys()) return value;
  FirstDuplicate dup;
  json::sax_parse(text, text + size, &dup);
  if (dup.depth == 1)
    fail_format(prefix + "duplicate_name", what + ": key \"" + dup.name + "\" appears twice");
  fail_format(prefix + "duplicate_field",
              what + ": key \"" + dup.name + "\" appears twice in one object");
}

}  // namespace fw
