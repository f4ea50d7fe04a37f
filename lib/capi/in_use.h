// One thread at a time per solver (the header's thread-safety rule), enforced rather than assumed:
// two threads inside one solver corrupted its state or crashed (a step racing fw_solver_pool_add or
// fw_solver_free). Each solver call holds the solver for its duration; a call from another thread
// meanwhile fails with FW_ERR_STATE naming the conflict, and the holder goes on untouched. The
// holding thread may call in again (a callback reading fw_solver_current or fw_solver_history_size
// during its step). Sequential calls from different threads (ask on one, tell on another) are fine.
#pragma once

#include <atomic>
#include <string>
#include <thread>

#include "capi/guard.h"
#include "util/error.h"

namespace fw::capi {

class SolverUser {
 public:
  // Claims the solver for this thread; false when another thread holds it. Nested claims by the
  // holder succeed and release nothing.
  bool claim(bool *outermost) const {
    std::thread::id none;
    const std::thread::id me = std::this_thread::get_id();
    if (holder_.compare_exchange_strong(none, me, std::memory_order_acquire)) {
      *outermost = true;
      return true;
    }
    *outermost = false;
    return none == me;  // compare_exchange wrote the holder's id into `none`
  }
  void release() const { holder_.store(std::thread::id(), std::memory_order_release); }
  bool held_by_another_thread() const {
    const std::thread::id holder = holder_.load(std::memory_order_acquire);
    return holder != std::thread::id() && holder != std::this_thread::get_id();
  }

 private:
  mutable std::atomic<std::thread::id> holder_{};
};

// RAII over SolverUser::claim for the calls that return a value rather than a status
// (fw_solver_pool_size, ...): ok() is false when another thread holds the solver, and
// fw_last_error() says so.
class TryUse {
 public:
  TryUse(const SolverUser &user, const char *function) : user_(user) {
    ok_ = user_.claim(&outermost_);
    if (!ok_) set_last_error(std::string(function) + ": the solver is in use by another thread");
  }
  ~TryUse() {
    if (outermost_) user_.release();
  }
  TryUse(const TryUse &) = delete;
  TryUse &operator=(const TryUse &) = delete;
  bool ok() const { return ok_; }

 private:
  const SolverUser &user_;
  bool outermost_ = false;
  bool ok_ = false;
};

// The same for one status-returning C call: throws FW_ERR_STATE (turned into the call's status by
// guard()) when another thread is inside the solver.
class InUse : public TryUse {
 public:
  InUse(const SolverUser &user, const char *function) : TryUse(user, function) {
    if (!ok())
      fail(::fw::Status::State,
           std::string(function) +
               ": the solver is in use by another thread (one thread at a time per "
               "solver; only fw_solver_interrupt may be called from any thread)");
  }
};

}  // namespace fw::capi
