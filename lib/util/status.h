// The core's status codes: what an fw::Error carries. The values are fw_status's
// (include/fwmerge.h) so that lib/capi/status_map.h turns one into the other with a cast it checks
// value by value; the core itself never sees the public header (issue 28: lib/capi is the only code
// that knows the ABI).
#pragma once

namespace fw {

enum class Status : int {
  Ok = 0,
  InvalidArgument = -1,
  Io = -2,
  Format = -3,
  ShapeMismatch = -4,
  DtypeMismatch = -5,
  NameMismatch = -6,
  Callback = -7,
  NonFinite = -8,
  OutOfMemory = -9,
  Aborted = -10,
  State = -11,
  Unsupported = -12,
  Internal = -13,
};

// The public name of a status ("FW_ERR_IO"): messages that quote a status (a host's answer to an
// ask/tell request) read as the C API documents it.
constexpr const char *status_name(Status status) {
  switch (status) {
    case Status::Ok:
      return "FW_OK";
    case Status::InvalidArgument:
      return "FW_ERR_INVALID_ARGUMENT";
    case Status::Io:
      return "FW_ERR_IO";
    case Status::Format:
      return "FW_ERR_FORMAT";
    case Status::ShapeMismatch:
      return "FW_ERR_SHAPE_MISMATCH";
    case Status::DtypeMismatch:
      return "FW_ERR_DTYPE_MISMATCH";
    case Status::NameMismatch:
      return "FW_ERR_NAME_MISMATCH";
    case Status::Callback:
      return "FW_ERR_CALLBACK";
    case Status::NonFinite:
      return "FW_ERR_NON_FINITE";
    case Status::OutOfMemory:
      return "FW_ERR_OUT_OF_MEMORY";
    case Status::Aborted:
      return "FW_ERR_ABORTED";
    case Status::State:
      return "FW_ERR_STATE";
    case Status::Unsupported:
      return "FW_ERR_UNSUPPORTED";
    case Status::Internal:
      return "FW_ERR_INTERNAL";
  }
  return "FW_ERR_UNKNOWN";
}

}  // namespace fw
