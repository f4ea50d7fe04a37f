// Statuses, exceptions to statuses, and the version: the C shim's error model (guard.h) apart from
// the thread-local messages (last_error.cpp).
#include <c10/util/Exception.h>

#include <new>

#include "capi/enums.h"
#include "capi/guard.h"
#include "capi/status_map.h"
#include "util/error.h"
#include "util/version.h"

namespace {

constexpr bool same_text(const char *a, const char *b) {
  for (; *a != '\0' && *a == *b; ++a, ++b) {
  }
  return *a == *b;
}

}  // namespace

// The core's copy of the version (util/version.h) is what it writes into exports and saved state:
// it must be the one fw_version() reports.
static_assert(same_text(FWMERGE_CORE_VERSION, FW_VERSION_STRING),
              "util/version.h's FWMERGE_CORE_VERSION must equal fwmerge.h's FW_VERSION_STRING");

namespace fw::capi {

const char *status_name(int32_t status) {
  // The core's table (util/status.h, whose values status_map.h checks against fw_status): an
  // integer outside the enum names no case there and reads "FW_ERR_UNKNOWN" (fw::Status has a
  // fixed underlying int, so the cast is defined for every value).
  return fw::status_name(static_cast<fw::Status>(status));
}

fw_status status_from_current_exception() noexcept {
  try {
    throw;
  } catch (const Error &e) {
    set_last_error(e.what());
    return to_public(e.code());
  } catch (const std::bad_alloc &) {
    set_last_error("out of memory");
    return FW_ERR_OUT_OF_MEMORY;
  } catch (const c10::Error &e) {
    set_last_error(std::string("LibTorch error: ") + e.what_without_backtrace());
    return FW_ERR_INTERNAL;
  } catch (const std::exception &e) {
    set_last_error(std::string("internal error: ") + e.what());
    return FW_ERR_INTERNAL;
  } catch (...) {
    set_last_error("internal error: unknown exception");
    return FW_ERR_INTERNAL;
  }
}

}  // namespace fw::capi

extern "C" {

FW_API const char *fw_status_name(fw_status status) {
  return fw::capi::status_name(fw::capi::raw_enum(&status));
}

FW_API const char *fw_version(void) { return FW_VERSION_STRING; }

FW_API unsigned fw_version_number(void) { return FW_VERSION_NUMBER; }

// lib/CMakeLists.txt defines it from cmake/FwLibTorch.cmake's FW_LIBTORCH_VERSION.
FW_API const char *fw_libtorch_version(void) { return FWMERGE_LIBTORCH_VERSION; }

}  // extern "C"
