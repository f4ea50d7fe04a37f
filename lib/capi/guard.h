// The C shim's one error funnel: runs a body, turns every C++ exception into an fw_status and the
// thread-local fw_last_error() text. No exception crosses the C boundary.
#pragma once

#include <cstdint>
#include <string>

#include "fwmerge.h"

namespace fw::capi {

void set_last_error(const std::string &message);
void clear_last_error();
// Text given by the host through fw_set_callback_error (then cleared).
std::string take_callback_error();
// fw_status_name of a status read as an integer ("FW_ERR_UNKNOWN" outside fw_status).
const char *status_name(int32_t status);

template <typename Body>
fw_status guard(Body &&body) noexcept;

fw_status status_from_current_exception() noexcept;

template <typename Body>
fw_status guard(Body &&body) noexcept {
  try {
    clear_last_error();
    body();
    return FW_OK;
  } catch (...) {
    return status_from_current_exception();
  }
}

#define FW_REQUIRE_ARG(cond, what)                                             \
  do {                                                                         \
    if (!(cond)) ::fw::fail(::fw::Status::InvalidArgument, std::string(what)); \
  } while (0)

}  // namespace fw::capi
