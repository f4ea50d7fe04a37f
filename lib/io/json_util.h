// Strict JSON parsing for file headers and index files: UTF-8 checked, duplicate keys rejected
// (nlohmann's parser would silently keep the last duplicate).
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>

namespace fw {

// True if bytes[0, size) is well-formed UTF-8 (no overlongs, surrogates or code points > U+10FFFF).
bool is_valid_utf8(const char *bytes, size_t size);

// Objects and arrays nest at most this deep (the formats need 3 or 4 levels).
constexpr size_t kMaxJsonNesting = 64;

// Parses `text` as JSON. On failure throws Status::Format with the defect
// "<prefix>not_utf8", "<prefix>not_json", "<prefix>too_deep" (nested deeper than
// kMaxJsonNesting), "<prefix>duplicate_name" (a repeated top-level key) or
// "<prefix>duplicate_field" (a repeated key in a nested object); `what` names the source in the
// message (e.g. the file path).
nlohmann::json parse_json_strict(const char *text, size_t size, const std::string &prefix,
                                 const std::string &what);

}  // namespace fw
