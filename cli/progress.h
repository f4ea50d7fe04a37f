// Progress of a long command on stderr: on a terminal, one line redrawn in place (a bar of steps,
// loss, gap, seconds per step, ETA); otherwise plain log lines, one per step, for CI logs and
// services that capture stderr.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>

namespace fwcli {

class Progress {
 public:
  // total: the number of steps expected (the bar's width); quiet: print nothing.
  Progress(int total, bool quiet);
  ~Progress();  // ends a terminal line left open
  void step(int done, double loss, double gap, int evaluations);
  void message(const std::string &text);  // a whole line, above the bar on a terminal

 private:
  int total_;
  bool quiet_, tty_, open_ = false;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace fwcli
