// The merging methods compared by the demo. Data-free ones call the library's fw_merge; FW-Merging
// variants drive an fw_solver through the public C API with the host's LibTorch objective; the
// AdaMerging-like baseline is host code that keeps all n task vectors in memory (the memory
// comparison's point).
#pragma once

#include <string>
#include <vector>

#include "calib_objective.h"
#include "model.h"

namespace demo {

struct MergeSetup {
  std::string base_path;                // pre-trained backbone (.safetensors)
  std::vector<std::string> pool_paths;  // fine-tuned backbones
  CalibObjective *objective = nullptr;  // for the data-informed methods
  int fw_iters = 10;                    // FW_soft iterations (T)
  int soft_iters = 20;                  // inner evaluations per soft step
  int top_k = 4;                        // soft: vertices per block
  fw_soft_solver soft_solver = FW_SOFT_SOLVER_CAPPED;
  double soft_lr = 0;   // fw_params.soft_lr
  int eval_budget = 0;  // objective evaluations of every data-informed method (0: what T per-term
                        // FW_soft steps take, T * (soft_iters + tasks))
  int threads = 1;
  uint64_t seed = 0;
  std::string work_dir;     // scratch files (data-free merge outputs)
  std::string export_path;  // when set, the merged backbone is written here
};

// One FW step as the progress callback saw it (the stall analysis reads these).
struct StepTrace {
  int iteration = 0, evaluations = 0;
  double loss = 0, loss_after = 0, gap = 0, gamma = 0;
};

struct MergeOutcome {
  NamedTensors merged;           // backbone_names() order
  int evaluations = 0;           // objective evaluations spent
  std::vector<StepTrace> trace;  // FW methods: every step
};

// "pretrained", "average", "task_arithmetic", "ties", "dare_ties", "adamerging", "fw_hard_task",
// "fw_hard_layer", "fw_soft_task", "fw_soft_layer", "fw_soft_task_unopt", "fw_soft_layer_unopt",
// "fw_soft_task_simplex", "fw_soft_layer_simplex", "fw_soft_task_capped", "fw_soft_layer_capped",
// "fw_soft_task_summed", "fw_soft_layer_summed", "tsv_m", "iso_c", "iso_cts",
// "fw_soft_task_from_task_arithmetic", "fw_soft_task_from_tsv_m", "fw_soft_task_from_iso_cts"
// ("_from_X": FW_soft started at the data-free merge X, fw_solver_set_start_merge; a data-free
// method or X spelled "name@A" runs with fw_merge_params.scaling = A) (soft: the
// configured lambda constraint, the paper's simplex for "_simplex", the capped simplex for
// "_capped"; per-term top-k, or the whole objective's top-k for "_summed").
const std::vector<std::string> &method_names();
bool is_method(const std::string &name);

// Throws std::runtime_error (with fw_last_error() text for library failures).
MergeOutcome run_method(const std::string &method, const MergeSetup &setup);

}  // namespace demo
