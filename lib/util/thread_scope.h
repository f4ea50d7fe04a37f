// LibTorch's intra-op thread count for the duration of one library call.
#pragma once

#include <ATen/Parallel.h>

namespace fw {

// threads > 0: at::set_num_threads(threads) now and the caller's count back on every exit path.
// threads == 0: nothing is touched (the header promises that process-wide settings change only
// when the host asks for it).
class ThreadScope {
 public:
  explicit ThreadScope(int threads) : saved_(at::get_num_threads()), active_(threads > 0) {
    if (active_ && threads != saved_) at::set_num_threads(threads);
  }
  ~ThreadScope() {
    if (active_ && at::get_num_threads() != saved_) at::set_num_threads(saved_);
  }
  ThreadScope(const ThreadScope &) = delete;
  ThreadScope &operator=(const ThreadScope &) = delete;

 private:
  int saved_;
  bool active_;
};

}  // namespace fw
