#include "io/json_util.h"

#include <cstdint>
#include <cstring>
#include <set>
#include <string>
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

nlohmann::json parse_json_strict(const char *text, size_t size, const std::string &prefix,
                                 const std::string &what) {
  using nlohmann::json;
  if (!is_valid_utf8(text, size)) fail_format(prefix + "not_utf8", what + ": not valid UTF-8");
  // nlohmann's lexer takes a NUL byte for the end of input, which would accept "{}\0junk".
  if (std::memchr(text, '\0', size) != nullptr) {
    fail_format(prefix + "not_json", what + ": NUL byte in JSON text");
  }

  // One key set per open object; arrays push nothing (their objects push their own sets).
  std::vector<std::set<std::string>> open_objects;
  std::string duplicate;
  int duplicate_depth = -1;
  // Open objects and arrays. nlohmann parses without recursion but dumps, copies and compares
  // recursively: a value nested a million deep would overflow the stack in an error message.
  size_t nesting = 0;
  auto callback = [&](int depth, json::parse_event_t event, json &parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        if (++nesting > kMaxJsonNesting) {
          fail_format(prefix + "too_deep", what + ": JSON nested deeper than " +
                                               std::to_string(kMaxJsonNesting) + " levels");
        }
        if (event == json::parse_event_t::object_start) open_objects.emplace_back();
        break;
      case json::parse_event_t::object_end:
        --nesting;
        if (!open_objects.empty()) open_objects.pop_back();
        break;
      case json::parse_event_t::array_end:
        --nesting;
        break;
      case json::parse_event_t::key:
        if (!open_objects.empty() && duplicate_depth < 0 &&
            !open_objects.back().insert(parsed.get<std::string>()).second) {
          duplicate = parsed.get<std::string>();
          duplicate_depth = depth;
        }
        break;
      default:
        break;
    }
    return true;
  };

  json value;
  try {
    value = json::parse(text, text + size, callback, /*allow_exceptions=*/true);
  } catch (const json::exception &e) {
    fail_format(prefix + "not_json", what + ": " + e.what());
  }
  if (duplicate_depth == 1) {
    fail_format(prefix + "duplicate_name", what + ": key \"" + duplicate + "\" appears twice");
  }
  if (duplicate_depth > 1) {
    fail_format(prefix + "duplicate_field",
                what + ": key \"" + duplicate + "\" appears twice in one object");
  }
  return value;
}

}  // namespace fw
