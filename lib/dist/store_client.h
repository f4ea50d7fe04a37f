// A rank's connection to the rendezvous store server (store_server.h): it proves the shared secret
// (and checks the server's proof) before any request, and every connect, write and read has a
// deadline, so a server that stalls or answers garbage fails the call with Status::Io in time.
// Requests are serialized (one at a time on the one connection); after a failed request the
// connection is not reused (a late answer would be read as the next one's).
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "dist/store_server.h"
#include "dist/store_wire.h"

namespace fw::dist {

class StoreClient {
 public:
  // Connects to host:port and authenticates, retrying while the server is not up yet (refused,
  // or closed before its hello) until `timeout` has passed. Status::Io: the server refused the
  // secret ("refused authentication"), the server failed its own proof, or time ran out.
  StoreClient(const std::string &host, int port, const std::string &secret,
              std::chrono::milliseconds timeout);

  void set(const std::string &key, const std::string &value, std::chrono::milliseconds timeout);
  std::optional<std::string> get(const std::string &key, std::chrono::milliseconds timeout);
  int64_t add(const std::string &key, int64_t delta, std::chrono::milliseconds timeout);
  std::string compare_set(const std::string &key, const std::string &expected,
                          const std::string &desired, std::chrono::milliseconds timeout);
  bool check(const std::vector<std::string> &keys, std::chrono::milliseconds timeout);
  bool erase(const std::string &key, std::chrono::milliseconds timeout);
  int64_t num_keys(std::chrono::milliseconds timeout);
  // Returns once every key is present; Status::Io when `timeout` passes first.
  void wait(const std::vector<std::string> &keys, std::chrono::milliseconds timeout);

 private:
  std::string call(const std::string &request, std::chrono::milliseconds timeout);
  // One attempt: connect and run the handshake. False: try again (not up, or closed early).
  bool try_join(const std::string &secret, Clock::time_point deadline, std::string &why);

  std::string host_;
  int port_;
  std::mutex mutex_;
  Fd fd_;
  std::string where_;  // "HOST:PORT", for messages
};

}  // namespace fw::dist
