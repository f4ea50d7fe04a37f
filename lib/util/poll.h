// How long-running work below the solver (merges, exports) learns that it should stop.
#pragma once

#include <functional>

namespace fw {

// Called between chunks of work; throws fw::Error Status::Aborted to stop it (the work then
// unwinds like any failure: nothing half-written is left). Empty: never stops.
using Poll = std::function<void()>;

inline void poll(const Poll &p) {
  if (p) p();
}

}  // namespace fw
