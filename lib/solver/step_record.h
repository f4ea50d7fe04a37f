// What one FW step leaves in the history, and where the run started: plain data, shared by the
// solver and the state-file parser (which the fuzz build compiles without LibTorch).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

namespace fw {

struct StepRecord {
  int iteration = 0;
  double loss = 0;
  double loss_after = 0;  // NaN when not evaluated
  double gap = 0;
  double gamma = 0;
  bool converged = false;
  int evaluations = 0;
  int k = 1;
  std::vector<int32_t> chosen;  // n_blocks * k vertex ids (pool index, -1 = start vertex)
  std::vector<double> lambdas;  // n_blocks * k
  bool leaves_hull = false;
};

// A step as JSON, one object per step in the export's "fwmerge.history" and the saved state's
// history (which adds "leaves_hull"). Non-finite values (loss_after not evaluated) are null.
nlohmann::json step_json(const StepRecord &record);

// Where theta_0 came from: the base, a pool member, a file, or tensors computed elsewhere.
enum class StartKind { Base, Member, File, Tensors };

}  // namespace fw
