// The ranks of a sharded solver and the one collective it needs, over LibTorch's c10d: a Gloo
// process group on fwmerge's authenticated TCP store (auth_store.h) or a c10d FileStore
// rendezvous (include/fwmerge.h, fw_dist_params; docs/distributed.md).
//
// exchange(): each rank fills the entries of a vector that it alone computes (zeros elsewhere);
// after an all-reduce sum every rank holds the whole vector, exactly (x + 0 = x, whatever order
// Gloo adds in). The callers then form every sum themselves in a fixed order, so all ranks take
// the same decisions bit for bit. The status of each rank's local work travels in the same
// vector: a failure anywhere fails the step everywhere, and no rank waits for one that gave up.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace fw {

// Which loss the ranks agree on (fw_dist_loss): rank 0's (every rank computed the whole model's),
// or the sum of the ranks' parts in rank order.
enum class DistLoss { Shared, Sum };

class Comm {
 public:
  // Joins the group (blocks until world ranks have joined or the timeout passed). Status::Io when
  // the rendezvous fails (the store refused this rank's secret included), Status::InvalidArgument
  // for a malformed address or rank. `secret`: fw_dist_params.secret (NULL: $FWMERGE_DIST_SECRET,
  // see store_auth.h); a tcp:// rendezvous runs on fwmerge's authenticated store (auth_store.h).
  Comm(int rank, int world, const std::string &rendezvous, std::chrono::milliseconds timeout,
       DistLoss loss, const char *secret = nullptr);
  // The checks of the constructor that need no network (Status::InvalidArgument).
  static void check_args(int rank, int world, const std::string &rendezvous,
                         std::chrono::milliseconds timeout);
  ~Comm();
  Comm(const Comm &) = delete;
  Comm &operator=(const Comm &) = delete;

  int rank() const { return rank_; }
  int world() const { return world_; }

  // Runs `local` (which fills this rank's entries of `owned`), then sums `owned` over the ranks.
  // If `local` threw here, rethrows it after the exchange; if it threw on another rank, throws
  // that rank's status with "[dist] rank R failed <what>". Status::Io "[dist] ..." when the
  // collective itself fails (a rank died, the timeout passed).
  void exchange(const char *what, std::vector<double> &owned, const std::function<void()> &local);

  // The loss the ranks agree on from each rank's own value (DistLoss); runs `local` (which
  // returns this rank's value) as exchange() does.
  double agree_loss(const std::function<double()> &local);

 private:
  struct Group;
  std::unique_ptr<Group> group_;
  int rank_, world_;
  std::chrono::milliseconds timeout_;
  DistLoss loss_;
};

}  // namespace fw
