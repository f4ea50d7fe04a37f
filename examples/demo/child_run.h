// Runs one merge method in a child process (the demo binary re-executed with --child), so each
// method's peak RSS is its own: the parent reads ru_maxrss from wait4.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace demo {

struct RunRequest {
  std::string method;
  std::vector<int> pool;                 // task indices whose fine-tuned backbones form the pool
  std::vector<int> eval;                 // evaluation task indices
  std::string export_path;               // optional
  std::vector<std::string> common_args;  // --cache, --quick, --threads, ... passed through
};

struct RunResult {
  std::vector<double> acc;  // per evaluation task (test accuracy, 0..1)
  double mean_acc = 0;
  int evaluations = 0;
  double merge_wall_s = 0;  // the method itself (measured in the child)
  double child_wall_s = 0;  // the whole child process (loading included)
  uint64_t peak_rss_bytes = 0;
};

// Forks and execs /proc/self/exe with the child arguments; throws std::runtime_error if the child
// fails.
RunResult run_in_child(const RunRequest &request, const std::string &work_dir);

// The child side: parses the result file written by the child.
void write_result_file(const std::string &path, const RunResult &result);

std::string join_ints(const std::vector<int> &values);
std::vector<int> parse_ints(const std::string &text);

}  // namespace demo
