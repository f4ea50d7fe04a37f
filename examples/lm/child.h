// One merge in a child process (this binary re-executed with --child), so that each merge's peak
// RSS is its own: the parent reads ru_maxrss from wait4. The child rebuilds the objective from the
// cached corpus and zoo, merges, and measures test perplexity on every evaluation domain.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "zoo.h"

namespace lm {

struct ChildRequest {
  std::string method;
  std::vector<std::string> pool;  // adapter domains, pool order
  std::string cache_root;
  bool smoke = false;
};

struct ChildResult {
  std::vector<double> test_loss;  // per evaluation domain (nats per byte)
  double calib_loss = 0;          // the objective (mean over evaluation domains)
  int evaluations = 0;
  double merge_s = 0, child_s = 0;
  uint64_t peak_rss_bytes = 0;
};

// Parent side: forks and execs /proc/self/exe; throws std::runtime_error if the child fails.
ChildResult run_child(const ChildRequest &request, const std::string &work_dir);

// Child side: runs the request and writes the result file. Returns the exit status.
int child_main(const ChildRequest &request, const std::string &result_path,
               const std::string &work_dir);

}  // namespace lm
