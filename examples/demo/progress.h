// A one-line progress display on stderr: redrawn in place on a terminal, a line every ~10 % when
// stderr is a file or pipe (so logs stay readable).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace demo {

class Progress {
 public:
  Progress(std::string label, int64_t total);
  void update(int64_t done, const std::string &detail = "");
  // Ends the line with a final detail text and the elapsed time.
  void finish(const std::string &detail = "");
  double elapsed_s() const;

 private:
  std::string label_;
  int64_t total_;
  int last_decile_ = -1;
  bool tty_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_;
};

// Set to false to silence all progress output (tests).
void set_progress_enabled(bool enabled);

}  // namespace demo
