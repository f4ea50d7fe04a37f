// The experiments of the demo (the paper's Table 3 and Table 5 analogues) as runs of child
// processes, and their reports: CSV, Markdown tables, gnuplot PNGs.
#pragma once

#include <string>
#include <vector>

#include "child_run.h"

namespace demo {

struct Options {
  bool quick = false;
  std::string experiment = "all";    // irrelevant | relevant | ablation | all
  std::vector<std::string> methods;  // empty: the experiment's default list
  std::string out_dir = "fwmerge-demo-out";
  std::string cache_root;  // empty: default_cache_root()
  int threads = 1;
  int fw_iters = 10;
  int soft_iters = 20;
  int top_k = 4;
  // FW_soft's lambda constraint, the library's default: the box (each lambda in [0, 1]); capped
  // (sum <= 1) keeps the merge in the hull, the paper's simplex (sum = 1); see the ablation.
  std::string soft_solver = "box";  // simplex | capped | adam | box (fw_soft_solver)
  double soft_lr = 0;               // fw_params.soft_lr (0: the library's automatic step)
  // child mode (internal)
  std::string child_method, result_path, export_path;
  std::vector<int> pool, eval;
};

// Arguments a child needs to rebuild the same configuration.
std::vector<std::string> common_args(const Options &opt);

struct Row {
  std::string experiment, method;
  int x = 0;  // irrelevant models (irrelevant), pool size (relevant), 0 (ablation)
  int pool_size = 0;
  std::vector<int> eval;  // evaluation tasks (result.acc's order)
  RunResult result;
};

// Test accuracy of each task (all_tasks() order) with its frozen head: the pre-trained backbone's
// and its own fine-tuned backbone's, the ends of the normalized accuracy.
struct TaskEnds {
  std::vector<double> pretrained, finetuned;
};

// Runs the selected experiments (models must already be in the cache) and writes
// out_dir/results.csv, results.md and the plots. Returns the rows.
std::vector<Row> run_experiments(const Options &opt, const TaskEnds &ends);

}  // namespace demo
