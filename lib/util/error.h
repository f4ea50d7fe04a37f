// Internal error type: every failure inside the library is an fw::Error carrying a status code
// (util/status.h). The C shim (lib/capi) turns it into a return code and fw_last_error() text.
#pragma once

#include <stdexcept>
#include <string>

#include "util/status.h"

namespace fw {

class Error : public std::runtime_error {
 public:
  Error(Status code, const std::string &message) : std::runtime_error(message), code_(code) {}
  Status code() const { return code_; }

 private:
  Status code_;
};

[[noreturn]] inline void fail(Status code, const std::string &message) {
  throw Error(code, message);
}

// Malformed-file errors name their defect in brackets, e.g. "[offsets_overlap] ...", so callers
// and tests can tell the cases apart while the status stays Status::Format.
[[noreturn]] inline void fail_format(const std::string &defect, const std::string &detail) {
  throw Error(Status::Format, "[" + defect + "] " + detail);
}

}  // namespace fw
