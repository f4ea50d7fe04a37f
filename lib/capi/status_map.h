// fw::Status (lib/util/status.h) <-> fw_status: the core's codes are the public ones, value for
// value; the static_asserts fail the build if either enum changes without the other. Also the
// one other shared constant of the step protocol, FW_ALL_TERMS.
#pragma once

#include "fwmerge.h"
#include "solver/evaluator.h"
#include "util/status.h"

namespace fw::capi {

#define FW_SAME_STATUS(pub, core) \
  static_assert(static_cast<int>(pub) == static_cast<int>(::fw::Status::core), #pub)
FW_SAME_STATUS(FW_OK, Ok);
FW_SAME_STATUS(FW_ERR_INVALID_ARGUMENT, InvalidArgument);
FW_SAME_STATUS(FW_ERR_IO, Io);
FW_SAME_STATUS(FW_ERR_FORMAT, Format);
FW_SAME_STATUS(FW_ERR_SHAPE_MISMATCH, ShapeMismatch);
FW_SAME_STATUS(FW_ERR_DTYPE_MISMATCH, DtypeMismatch);
FW_SAME_STATUS(FW_ERR_NAME_MISMATCH, NameMismatch);
FW_SAME_STATUS(FW_ERR_CALLBACK, Callback);
FW_SAME_STATUS(FW_ERR_NON_FINITE, NonFinite);
FW_SAME_STATUS(FW_ERR_OUT_OF_MEMORY, OutOfMemory);
FW_SAME_STATUS(FW_ERR_ABORTED, Aborted);
FW_SAME_STATUS(FW_ERR_STATE, State);
FW_SAME_STATUS(FW_ERR_UNSUPPORTED, Unsupported);
FW_SAME_STATUS(FW_ERR_INTERNAL, Internal);
#undef FW_SAME_STATUS
static_assert(FW_ALL_TERMS == Evaluator::kAllTerms, "fw_request.term of the whole objective");

inline fw_status to_public(Status status) { return static_cast<fw_status>(status); }
// `status` in fw_status's range (enums.h checked_enum).
inline Status to_core(fw_status status) { return static_cast<Status>(status); }

}  // namespace fw::capi
