// Internal error type: every failure inside the library is an fw::Error carrying a public status
// code. The C shim (lib/capi) turns it into a return code and fw_last_error() text.
#pragma once

#include <stdexcept>
#include <string>

#include "fwmerge.h"

namespace fw {

class Error : public std::runtime_error {
 public:
  Error(fw_status code, const std::string &message) : std::runtime_error(message), code_(code) {}
  fw_status code() const { return code_; }

 private:
  fw_status code_;
};

[[noreturn]] inline void fail(fw_status code, const std::string &message) {
  throw Error(code, message);
}

// Malformed-file errors name their defect in brackets, e.g. "[offsets_overlap] ...", so callers
// and tests can tell the cases apart while the status stays FW_ERR_FORMAT.
[[noreturn]] inline void fail_format(const std::string &defect, const std::string &detail) {
  throw Error(FW_ERR_FORMAT, "[" + defect + "] " + detail);
}

}  // namespace fw
