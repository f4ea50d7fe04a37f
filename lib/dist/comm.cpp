#include "dist/comm.h"

#include <ATen/ATen.h>
#ifdef FWMERGE_WITH_GLOO
#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>

#include "dist/auth_store.h"
#include "dist/store_auth.h"
#endif

#include <exception>
#include <new>

#include "util/error.h"

namespace fw {

#ifdef FWMERGE_WITH_GLOO
struct Comm::Group {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> pg;
  void allreduce(at::Tensor &buf) {
    std::vector<at::Tensor> tensors{buf};
    pg->allreduce(tensors)->wait();
  }
};
#else
struct Comm::Group {
  void allreduce(at::Tensor &) { fail(Status::Unsupported, "built without c10d Gloo"); }
};
#endif

namespace {

bool is_loopback(const std::string &host) {
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

struct Rendezvous {
  bool tcp = false;
  std::string host, path;
  int port = 0;
};

Rendezvous parse_rendezvous(const std::string &text) {
  Rendezvous out;
  if (text.rfind("file://", 0) == 0 && text.size() > 7) {
    out.path = text.substr(7);
    return out;
  }
  if (text.rfind("tcp://", 0) != 0)
    fail(Status::InvalidArgument,
         "[dist] rendezvous '" + text + "' is neither tcp://HOST:PORT nor file://PATH");
  const std::string rest = text.substr(6);
  const size_t colon = rest.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == rest.size())
    fail(Status::InvalidArgument, "[dist] rendezvous '" + text + "' is not tcp://HOST:PORT");
  out.tcp = true;
  out.host = rest.substr(0, colon);
  const std::string port_text = rest.substr(colon + 1);
  size_t used = 0;
  try {
    out.port = std::stoi(port_text, &used);
  } catch (const std::exception &) {
    used = 0;
  }
  if (used != port_text.size() || out.port < 1 || out.port > 65535)
    fail(Status::InvalidArgument, "[dist] rendezvous '" + text + "': the port is not in 1..65535");
  return out;
}

}  // namespace

void Comm::check_args(int rank, int world, const std::string &rendezvous,
                      std::chrono::milliseconds timeout) {
  if (world < 1) fail(Status::InvalidArgument, "[dist] world_size must be >= 1");
  if (rank < 0 || rank >= world)
    fail(Status::InvalidArgument,
         "[dist] rank " + std::to_string(rank) + " is not in [0, " + std::to_string(world) + ")");
  if (timeout.count() <= 0) fail(Status::InvalidArgument, "[dist] timeout_ms must be > 0");
  parse_rendezvous(rendezvous);
}

Comm::Comm(int rank, int world, const std::string &rendezvous, std::chrono::milliseconds timeout,
           DistLoss loss, const char *secret)
    : group_(std::make_unique<Group>()),
      rank_(rank),
      world_(world),
      timeout_(timeout),
      loss_(loss) {
  check_args(rank, world, rendezvous, timeout);
#ifndef FWMERGE_WITH_GLOO
  (void)secret;
  fail(Status::Unsupported,
       "[dist] this fwmerge was built without LibTorch's c10d Gloo headers (libgloo-dev)");
#else
  const std::string joining = "[dist] rank " + std::to_string(rank) + " of " +
                              std::to_string(world) + " could not join the group at " + rendezvous +
                              " within " + std::to_string(timeout.count()) + " ms: ";
  std::string device_host;  // the address Gloo's connections bind to
  try {
    const Rendezvous where = parse_rendezvous(rendezvous);
    if (where.tcp) {
      // Not c10d's TCPStore: it listens on every interface and admits any client (issue 25).
      group_->store = dist::AuthStore::join(where.host, where.port, rank == 0,
                                            dist::resolve_secret(secret), timeout);
      if (is_loopback(where.host)) device_host = "127.0.0.1";
    } else {
      group_->store = c10::make_intrusive<c10d::FileStore>(where.path, world);
      group_->store->setTimeout(timeout);
    }
    auto options = c10d::ProcessGroupGloo::Options::create(timeout);
    options->devices.push_back(device_host.empty()
                                   ? c10d::ProcessGroupGloo::createDefaultDevice()
                                   : c10d::ProcessGroupGloo::createDeviceForHostname(device_host));
    auto store = c10::make_intrusive<c10d::PrefixStore>("fwmerge", group_->store);
    group_->pg = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, world, options);
  } catch (const Error &e) {
    if (e.code() != Status::Io) throw;
    fail(Status::Io, joining + e.what());
  } catch (const std::exception &e) {
    fail(Status::Io, joining + e.what());
  }
#endif
}

Comm::~Comm() = default;

void Comm::exchange(const char *what, std::vector<double> &owned,
                    const std::function<void()> &local) {
  std::exception_ptr mine;
  Status status = Status::Ok;
  try {
    local();
  } catch (const Error &e) {
    mine = std::current_exception();
    status = e.code();
  } catch (const std::bad_alloc &) {
    mine = std::current_exception();
    status = Status::OutOfMemory;
  } catch (...) {
    mine = std::current_exception();
    status = Status::Internal;
  }
  // [statuses of the ranks..., owned...]: a failed rank still takes part, with zeros.
  at::Tensor buf = at::zeros({static_cast<int64_t>(world_ + owned.size())}, at::kDouble);
  double *data = buf.data_ptr<double>();
  data[rank_] = static_cast<int>(status);
  if (!mine) std::copy(owned.begin(), owned.end(), data + world_);
  try {
    group_->allreduce(buf);
  } catch (const std::exception &e) {
    if (mine) std::rethrow_exception(mine);
    fail(Status::Io, std::string("[dist] rank ") + std::to_string(rank_) + ": the exchange of " +
                         what + " failed (another rank died or did not answer within " +
                         std::to_string(timeout_.count()) + " ms): " + e.what());
  }
  if (mine) std::rethrow_exception(mine);
  for (int r = 0; r < world_; ++r)
    if (data[r] != static_cast<int>(Status::Ok))
      fail(static_cast<Status>(static_cast<int>(data[r])),
           "[dist] rank " + std::to_string(r) + " failed " + what +
               " with this status; its message is that rank's fw_last_error()");
  std::copy(data + world_, data + world_ + owned.size(), owned.begin());
}

double Comm::agree_loss(const std::function<double()> &local) {
  std::vector<double> losses(static_cast<size_t>(world_), 0.0);
  exchange("its objective evaluation", losses, [&] { losses[rank_] = local(); });
  if (loss_ == DistLoss::Shared) return losses[0];
  double sum = 0;
  for (double l : losses) sum += l;  // rank order
  return sum;
}

}  // namespace fw
