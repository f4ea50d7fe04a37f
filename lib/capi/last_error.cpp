// The thread-local message of the last failed call on this thread (fw_last_error) and the host's
// text for a failing callback (fw_set_callback_error). No LibTorch: the fuzz build links it with
// init_api.cpp.
#include <string>

#include "capi/guard.h"

namespace fw::capi {
namespace {
thread_local std::string last_error;
thread_local std::string callback_error;
}  // namespace

void set_last_error(const std::string &message) { last_error = message; }
void clear_last_error() { last_error.clear(); }

std::string take_callback_error() {
  std::string out;
  out.swap(callback_error);
  return out;
}

}  // namespace fw::capi

extern "C" {

FW_API const char *fw_last_error(void) { return fw::capi::last_error.c_str(); }

FW_API void fw_set_callback_error(const char *message) {
  fw::capi::callback_error = message ? message : "";
}

}  // extern "C"
