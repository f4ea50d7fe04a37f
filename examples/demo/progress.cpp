#include "progress.h"

#include <unistd.h>

#include <cstdio>

namespace demo {
namespace {
bool g_enabled = true;
}

void set_progress_enabled(bool enabled) { g_enabled = enabled; }

Progress::Progress(std::string label, int64_t total)
    : label_(std::move(label)),
      total_(total > 0 ? total : 1),
      tty_(isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()) {}

double Progress::elapsed_s() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::update(int64_t done, const std::string &detail) {
  if (!g_enabled || finished_) return;
  const double frac = double(done) / double(total_);
  if (tty_) {
    const int width = 24;
    const int filled = int(frac * width + 0.5);
    std::fprintf(stderr, "\r%-28s [%.*s%*s] %3d%% %s\033[K", label_.c_str(), filled,
                 "########################", width - filled, "", int(frac * 100 + 0.5),
                 detail.c_str());
    std::fflush(stderr);
    return;
  }
  const int decile = int(frac * 10);
  if (decile == last_decile_) return;
  last_decile_ = decile;
  std::fprintf(stderr, "%-28s %3d%% %s\n", label_.c_str(), decile * 10, detail.c_str());
}

void Progress::finish(const std::string &detail) {
  if (!g_enabled || finished_) return;
  finished_ = true;
  std::fprintf(stderr, "%s%-28s done %s (%.1f s)%s\n", tty_ ? "\r" : "", label_.c_str(),
               detail.c_str(), elapsed_s(), tty_ ? "\033[K" : "");
}

}  // namespace demo
