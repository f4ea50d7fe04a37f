// The byte level of fwmerge's rendezvous store (auth_store.h): sockets with a deadline on every
// connect, read and write, length-prefixed frames with a size bound, and the field encoding of
// the messages inside them. Nothing here blocks past its deadline: a peer that stalls, or sends
// garbage or an oversized length, costs the caller at most the time it allowed.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace fw::dist {

using Clock = std::chrono::steady_clock;

// The largest frame after the handshake (c10d keys and values: addresses and small blobs).
constexpr uint32_t kMaxFrameBytes = 16u << 20;

// An owned file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(Fd &&o) noexcept : fd_(o.release()) {}
  Fd &operator=(Fd &&o) noexcept {
    if (this != &o) {
      reset();
      fd_ = o.release();
    }
    return *this;
  }
  Fd(const Fd &) = delete;
  Fd &operator=(const Fd &) = delete;
  int get() const { return fd_; }
  int release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset();

 private:
  int fd_ = -1;
};

// A listening TCP socket bound to `host` (resolved; the first address that binds), never to the
// wildcard address. Status::Io naming the address when nothing binds.
Fd listen_on(const std::string &host, int port);

// The port a socket is bound to (a listener on port 0 picks one).
int bound_port(int fd);

// Connects to host:port before `deadline` (each resolved address in turn). Returns an invalid Fd
// when no address accepts (refused, unreachable, timed out), with the reason in `why`; the caller
// decides whether to retry.
Fd connect_to(const std::string &host, int port, Clock::time_point deadline, std::string &why);

// Blocking frame I/O on a socket, bounded by `deadline`; Status::Io on a timeout, a closed
// connection, or a frame longer than `max_bytes` (checked before reading its body).
void send_frame(int fd, const std::string &payload, Clock::time_point deadline);
std::string recv_frame(int fd, uint32_t max_bytes, Clock::time_point deadline);

// The frame header: 4 bytes, big-endian length.
std::string frame(const std::string &payload);

// Fields of a message: u8, i64 (big-endian) and length-prefixed byte strings.
class Writer {
 public:
  Writer &u8(uint8_t v);
  Writer &i64(int64_t v);
  Writer &bytes(const std::string &v);
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

// Reads what Writer wrote; Status::Io ("malformed message") when a field runs past the end.
class Reader {
 public:
  explicit Reader(const std::string &in) : in_(in) {}
  uint8_t u8();
  int64_t i64();
  std::string bytes();
  bool at_end() const { return pos_ == in_.size(); }

 private:
  const std::string &in_;
  size_t pos_ = 0;
};

}  // namespace fw::dist
