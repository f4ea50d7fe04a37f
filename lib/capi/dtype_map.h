// fw_dtype <-> the core's DType (io/dtype.h): the public dtype enum is known to lib/capi only.
#pragma once

#include "fwmerge.h"
#include "io/dtype.h"

namespace fw::capi {

DType from_public(fw_dtype dtype);  // FW_DTYPE_F32/F16/BF16; else Status::InvalidArgument
fw_dtype to_public(DType dtype);    // mergeable dtypes only; else Status::Unsupported

// Every storage dtype fw_dtype names (fw_save_tensors / fw_load_tensors: floats, integers, BOOL;
// the core's is_host_storage). storage_from_public: Status::InvalidArgument for FW_DTYPE_DEFAULT
// and values outside the enum; storage_to_public: false for dtypes fw_dtype does not name (F8, F6,
// F4, C64).
DType storage_from_public(fw_dtype dtype);
bool storage_to_public(DType dtype, fw_dtype *out);

}  // namespace fw::capi
