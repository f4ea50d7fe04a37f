// The c10d::Store of a tcp://HOST:PORT rendezvous, in place of LibTorch's TCPStore (which
// listens on every interface, admits any client and can be stalled by one that sends a byte and
// waits): rank 0 runs a StoreServer bound to HOST alone, and every rank (rank 0 included) talks
// to it through a StoreClient that proved the shared secret (store_auth.h). ProcessGroupGloo uses
// it through a PrefixStore as it would a TCPStore; every call is bounded by the store's timeout.
#pragma once

#include <torch/version.h>

#include <chrono>
#include <memory>
#include <string>
#include <torch/csrc/distributed/c10d/Store.hpp>
#include <vector>

#include "dist/store_client.h"
#include "dist/store_server.h"

namespace fw::dist {

class AuthStore : public c10d::Store {
 public:
  // Rank 0 (`serve`) starts the server on host:port first; then this rank joins as a client.
  // Status::Io: the address cannot be bound, the secret is refused, or `timeout` passed.
  static c10::intrusive_ptr<AuthStore> join(const std::string &host, int port, bool serve,
                                            const std::string &secret,
                                            std::chrono::milliseconds timeout);

  AuthStore(std::shared_ptr<StoreServer> server, const std::string &host, int port,
            const std::string &secret, std::chrono::milliseconds timeout);

  void set(const std::string &key, const std::vector<uint8_t> &value) override;
  std::vector<uint8_t> compareSet(const std::string &key, const std::vector<uint8_t> &expected,
                                  const std::vector<uint8_t> &desired) override;
  std::vector<uint8_t> get(const std::string &key) override;
  int64_t add(const std::string &key, int64_t value) override;
  bool deleteKey(const std::string &key) override;
  bool check(const std::vector<std::string> &keys) override;
  int64_t getNumKeys() override;
  void wait(const std::vector<std::string> &keys) override;
  void wait(const std::vector<std::string> &keys,
            const std::chrono::milliseconds &timeout) override;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 5)
  // LibTorch 2.5 made clone() part of the interface: another connection to the same server.
  c10::intrusive_ptr<c10d::Store> clone() override;
#endif

 private:
  std::shared_ptr<StoreServer> server_;  // rank 0's; shared with its clones
  std::string host_;
  int port_;
  std::string secret_;
  StoreClient client_;
};

}  // namespace fw::dist
