// fw_default_params and fw_default_merge_params: plain values, in a file of their own so that the
// fuzz build links the CLI's recipe readers with the library's real defaults and nothing else.
#include "capi/enums.h"
#include "merge/merge_defaults.h"
#include "solver/defaults.h"

extern "C" {

FW_API fw_params fw_default_params(void) { return fw::default_params(); }

FW_API fw_merge_params fw_default_merge_params(fw_merge_method method) {
  const int32_t raw = fw::capi::raw_enum(&method);
  if (fw::capi::enum_in_range<fw_merge_method>(raw))
    return fw::default_merge_params(static_cast<fw_merge_method>(raw));
  // Unknown: the LINEAR defaults with the caller's value (fw_merge then rejects it).
  fw_merge_params p = fw::default_merge_params(FW_MERGE_LINEAR);
  fw::capi::store_raw_enum(&p.method, raw);
  return p;
}

}  // extern "C"
