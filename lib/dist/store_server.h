// The server of fwmerge's rendezvous store (auth_store.h), run by rank 0: a key-value map that
// the ranks' clients reach over TCP, on one thread that polls every connection at once. It
// listens only on the address it was given, admits a connection only once it has proved the
// shared secret (store_auth.h), and bounds what any peer can cost: a frame longer than its phase
// allows, a malformed message or a handshake not finished within the handshake deadline closes
// that connection, and nothing read from one connection ever blocks another.
//
// The protocol (every message one frame, store_wire.h):
//   client hello   kStoreMagic | client nonce                  (exactly 40 bytes)
//   server hello   kStoreMagic | server nonce                  (40 bytes)
//   client proof   client proof                                (32 bytes)
//   verdict        kRefused (1 byte; the connection is then closed), or kAccepted | server proof
//                  (33 bytes), which the client checks in turn
// The client proves itself first, so that an outsider is refused by the server (and told so)
// rather than leaving on its own; the server's proof, sent to members only, shows the member it
// reached this job's rank 0 and not an impostor.
//   then requests  Op | fields (Writer), each answered in order; kWait answers when its keys exist
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>

#include "dist/store_wire.h"

namespace fw::dist {

enum class Op : uint8_t {
  kSet = 1,         // key, value -> (empty)
  kGet = 2,         // key -> u8 found, value
  kAdd = 3,         // key, i64 delta -> i64 new value (stored as decimal text, as c10d does)
  kCompareSet = 4,  // key, expected, desired -> value now (c10d's compareSet semantics)
  kCheck = 5,       // i64 n, n keys -> u8 all present
  kDelete = 6,      // key -> u8 existed
  kNumKeys = 7,     // -> i64
  kWait = 8,        // i64 n, n keys -> u8 1, sent once all are present
};

constexpr uint8_t kRefused = 0;
constexpr uint8_t kAccepted = 1;

class StoreServer {
 public:
  // Listens on host:port (port 0: the system picks; see port()) and serves until destroyed.
  // Status::Io when the address cannot be bound.
  StoreServer(const std::string &host, int port, std::string secret,
              std::chrono::milliseconds handshake_deadline);
  ~StoreServer();
  StoreServer(const StoreServer &) = delete;
  StoreServer &operator=(const StoreServer &) = delete;

  int port() const { return port_; }
  // Connections refused for a wrong proof, and closed for garbage or a handshake past its
  // deadline (what the tests observe of outsiders).
  int64_t refused() const { return refused_.load(); }
  int64_t dropped() const { return dropped_.load(); }

  // At most this many connections may be in their handshake at once; a new one beyond it
  // closes the oldest (a flood cannot fill the server; a real rank that is closed retries).
  static constexpr size_t kMaxHandshaking = 64;

 private:
  struct State;
  void run();

  Fd listener_;
  Fd wake_read_, wake_write_;
  int port_ = 0;
  std::string secret_;
  std::chrono::milliseconds handshake_deadline_;
  std::atomic<int64_t> refused_{0}, dropped_{0};
  std::thread thread_;
};

}  // namespace fw::dist
