// The solver's configuration in the core's own types: what fw_params asks for once lib/capi has
// read the caller's versioned struct and checked every field, once (lib/capi/read_params.cpp).
// The solver trusts these values and checks only what needs the machine (placement_of: does the
// CUDA device exist). A new fw_params field is read in lib/capi and lands here: the core never
// sees the public struct. No LibTorch here: fw_params_init (lib/capi/defaults.cpp) builds
// from these defaults in the fuzz build too.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fw {

enum class Lmo { Hard, Soft };
enum class Granularity { Taskwise, Layerwise };
enum class Score { Inner, Cosine };
enum class StepRule { LineSearch, Schedule, Constant };
enum class SoftSolver { Simplex, Capped, Adam, Box };
// The soft LMO's top-k of a multi-task objective: over the summed gradient, or each term's best
// vertex in turn.
enum class TopkRule { Summed, PerTerm };
enum class DeviceKind { Cpu, Cuda };
// The dtype of the solver's resident model-sized tensors. fw_params.work_dtype's FW_DTYPE_DEFAULT
// is read as F32 at the boundary: it has no meaning of its own here.
enum class WorkDtype { F32, F16, BF16 };

// fw_params field by field (include/fwmerge.h documents each), with fw_default_params()'s values.
// The ranges in the comments are what lib/capi/read_params.cpp lets through.
struct SolverConfig {
  Lmo lmo = Lmo::Hard;
  Granularity granularity = Granularity::Taskwise;
  int block_depth = 0;  // >= 0
  Score score = Score::Inner;
  int top_k = 2;  // >= 1
  StepRule step_rule = StepRule::LineSearch;
  double step_scale = 1.0;    // finite, > 0; <= 1 with StepRule::Constant
  int line_search_evals = 3;  // >= 1
  // Measured best (fw_soft_solver); the simplex raises the loss.
  SoftSolver soft_solver = SoftSolver::Box;
  int soft_iters = 20;   // >= 1
  double soft_lr = 0.0;  // finite, >= 0; 0: Barzilai-Borwein
  uint64_t soft_memory_budget = 0;
  int max_iters = 10;     // >= 0
  double epsilon = 1e-6;  // >= 0
  int threads = 0;        // >= 0; 0: LibTorch's current setting
  uint64_t seed = 0;
  DeviceKind device = DeviceKind::Cpu;
  int device_index = 0;  // >= 0; 0 on the CPU (whether it exists: placement_of)
  WorkDtype work_dtype = WorkDtype::F32;
  bool host_views = false;
  int64_t max_evaluations = 0;  // >= 0; 0: no budget
  // Each task brings its own model (fw_topk_rule).
  TopkRule topk_rule = TopkRule::PerTerm;
  bool allow_outside_links = false;
  bool fill_missing_from_base = false;
  // The tensor filter's patterns, copied from the caller's arrays (non-empty strings).
  std::vector<std::string> include_tensors, exclude_tensors;
};

}  // namespace fw
