// fw_merge_params in and out of the core: the one place that reads the caller's struct (any shipped
// version, lib/capi/versioned.h) and checks each field, once, into the merge's MergeSpec; and
// the public struct of a method's defaults from the core's (merge/merge_defaults.h).
// Part of the internal static library fwmerge_capi_readers (lib/CMakeLists.txt), which the shared
// library and the internal unit tests link.
#pragma once

#include <cstddef>
#include <cstring>

#include "capi/config_map.h"
#include "fwmerge.h"
#include "merge/merge_defaults.h"

namespace fw {
struct MergeSpec;  // merge/merge_spec.h (LibTorch): this header stays LibTorch-free for the fuzz
}  // namespace fw

namespace fw::capi {

// The recipe `params` asks for, for a pool of n members (n == 0: an FW step merge function, which
// takes no weights, per-member values, filters or overrides). Status::InvalidArgument naming the
// field ("fw_merge_params.method is 42: ...", "ties: density 0 is outside (0, 1]") for a value out
// of its range, and for what needs the pool (n weights summing to 0 when normalized, a member
// index past n).
MergeSpec read_merge_params(const fw_merge_params *params, size_t n);

// The core's defaults of `method` as the public struct; every
// other field zero, NULL or FW_DTYPE_DEFAULT. Inline (no LibTorch) for defaults.cpp, which the
// fuzz build compiles on its own.
inline fw_merge_params public_merge_params(MergeMethod method) {
  const MergeDefaults d = merge_defaults(method);
  fw_merge_params p;
  std::memset(&p, 0, sizeof p);  // pointers NULL, counts 0, flags off, compute_dtype below
  p.struct_size = sizeof p;
  p.method = to_public_enum<fw_merge_method>(method);
  p.scaling = d.scaling;
  p.density = d.density;
  p.drop_rate = d.drop_rate;
  p.beta = d.beta;
  p.normalize = d.normalize ? 1 : 0;
  p.compute_dtype = FW_DTYPE_DEFAULT;  // -1, not the 0 of the memset
  p.t = d.t;
  p.epsilon = d.epsilon;
  p.eps = d.eps;
  p.tol = d.tol;
  p.select_topk = d.select_topk;
  p.ram_r = d.ram_r;
  p.ram_alpha = d.ram_alpha;
  p.scale = d.scale;
  p.max_iter = static_cast<int32_t>(d.max_iter);
  p.rescale = d.rescale ? 1 : 0;
  p.nuslerp_flatten = d.nuslerp_flatten ? 1 : 0;
  p.nuslerp_row_wise = d.nuslerp_row_wise ? 1 : 0;
  return p;
}

}  // namespace fw::capi
