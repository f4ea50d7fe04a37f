#include "progress.h"

#include <unistd.h>

namespace fwcli {

Progress::Progress(int total, bool quiet)
    : total_(total > 0 ? total : 1),
      quiet_(quiet),
      tty_(::isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()) {}

Progress::~Progress() {
  if (open_) std::fputc('\n', stderr);
}

void Progress::step(int done, double loss, double gap, int evaluations) {
  if (quiet_) return;
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double per_step = done > 0 ? elapsed / done : 0.0;
  const double eta = per_step * (total_ - done > 0 ? total_ - done : 0);
  if (!tty_) {
    std::fprintf(
        stderr, "fwmerge: step %d/%d loss %.6g gap %.4g evaluations %d (%.1f s/step, ETA %.0f s)\n",
        done, total_, loss, gap, evaluations, per_step, eta);
    return;
  }
  constexpr int kWidth = 24;
  const int filled = done * kWidth / total_;
  std::string bar(static_cast<size_t>(filled), '#');
  bar.append(static_cast<size_t>(kWidth - filled), '.');
  std::fprintf(stderr, "\r[%s] %d/%d  loss %.6g  gap %.4g  %.1f s/step  ETA %.0f s\x1b[K",
               bar.c_str(), done, total_, loss, gap, per_step, eta);
  std::fflush(stderr);
  open_ = true;
}

void Progress::message(const std::string &text) {
  if (quiet_) return;
  if (open_) std::fputs("\r\x1b[K", stderr);
  std::fprintf(stderr, "fwmerge: %s\n", text.c_str());
  open_ = false;
}

}  // namespace fwcli
