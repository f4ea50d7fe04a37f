// The merging methods of the benchmark, all through the public C API: data-free ones with
// fw_merge on the PEFT adapter folders, FW_hard (the paper's language setting) and FW_soft with an
// fw_solver driven by the host's multi-term objective.
#pragma once

#include <string>
#include <vector>

#include "lm_model.h"
#include "objective.h"

namespace lm {

struct MergeSetup {
  LmConfig model;
  std::string base_path;                // the pre-trained model (.safetensors)
  std::vector<std::string> pool_paths;  // PEFT adapter folders
  LmObjective *objective = nullptr;     // for the data-informed methods
  int fw_hard_iters = 10;
  int soft_iters = 6;
  int max_evaluations = 50;
  std::string work_dir;  // merge outputs
};

struct MergeOutcome {
  Weights merged;
  int evaluations = 0;
  std::vector<double> step_losses;  // FW: l(theta_t) at each step
};

// "pretrained", "adapter" (a pool of one: the base with that adapter applied, by fw_merge),
// "task_arithmetic" (scaling 0.3), "task_arithmetic_tuned" (scaling picked on the calibration
// objective), "ties", "fw_hard", "fw_soft".
const std::vector<std::string> &method_names();
bool is_data_informed(const std::string &method);

// Throws std::runtime_error with fw_last_error() text for library failures.
MergeOutcome run_method(const std::string &method, const MergeSetup &setup);

}  // namespace lm
