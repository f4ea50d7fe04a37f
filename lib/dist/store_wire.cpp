#include "dist/store_wire.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "util/error.h"

namespace fw::dist {

namespace {

struct AddrInfoFree {
  void operator()(addrinfo *a) const { freeaddrinfo(a); }
};
using AddrInfo = std::unique_ptr<addrinfo, AddrInfoFree>;

// No AI_PASSIVE, even to listen: the host given is resolved, never replaced by the wildcard.
AddrInfo resolve(const std::string &host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo *found = nullptr;
  const std::string service = std::to_string(port);
  const int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &found);
  if (rc != 0)
    fail(Status::Io,
         "[dist] cannot resolve the rendezvous host '" + host + "': " + gai_strerror(rc));
  return AddrInfo(found);
}

int remaining_ms(Clock::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  if (left <= 0) return 0;
  return left > 1000000 ? 1000000 : static_cast<int>(left);
}

// Waits until fd is ready for `events` or the deadline passes (false).
bool wait_ready(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    const int rc = poll(&p, 1, remaining_ms(deadline));
    if (rc > 0) return true;
    if (rc < 0 && errno != EINTR) return false;
    if (rc == 0 && Clock::now() >= deadline) return false;  // else a long wait, polled in parts
  }
}

void set_nonblocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

bool is_wildcard(const sockaddr *a) {
  if (a->sa_family == AF_INET)
    return reinterpret_cast<const sockaddr_in *>(a)->sin_addr.s_addr == htonl(INADDR_ANY);
  if (a->sa_family == AF_INET6)
    return std::memcmp(&reinterpret_cast<const sockaddr_in6 *>(a)->sin6_addr, &in6addr_any,
                       sizeof in6addr_any) == 0;
  return true;
}

}  // namespace

void Fd::reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Fd listen_on(const std::string &host, int port) {
  const AddrInfo addrs = resolve(host, port);
  std::string why = "no address";
  for (const addrinfo *a = addrs.get(); a; a = a->ai_next) {
    // Binding the wildcard would listen on every interface: the address given is the contract.
    if (is_wildcard(a->ai_addr)) {
      why = "it resolves to the wildcard address, which would listen on every interface";
      continue;
    }
    Fd fd(socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol));
    if (fd.get() < 0) {
      why = std::strerror(errno);
      continue;
    }
    const int one = 1;
    setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (a->ai_family == AF_INET6) setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd.get(), a->ai_addr, a->ai_addrlen) != 0 || listen(fd.get(), 128) != 0) {
      why = std::strerror(errno);
      continue;
    }
    set_nonblocking(fd.get());
    return fd;
  }
  fail(Status::Io, "[dist] cannot listen on " + host + ":" + std::to_string(port) + ": " + why);
}

int bound_port(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &len);
  if (addr.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6 *>(&addr)->sin6_port);
  return ntohs(reinterpret_cast<sockaddr_in *>(&addr)->sin_port);
}

Fd connect_to(const std::string &host, int port, Clock::time_point deadline, std::string &why) {
  const AddrInfo addrs = resolve(host, port);
  why = "no address";
  for (const addrinfo *a = addrs.get(); a; a = a->ai_next) {
    Fd fd(socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol));
    if (fd.get() < 0) {
      why = std::strerror(errno);
      continue;
    }
    if (connect(fd.get(), a->ai_addr, a->ai_addrlen) != 0) {
      if (errno != EINPROGRESS) {
        why = std::strerror(errno);
        continue;
      }
      if (!wait_ready(fd.get(), POLLOUT, deadline)) {
        why = "connect timed out";
        continue;
      }
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) {
        why = std::strerror(err);
        continue;
      }
    }
    const int one = 1;
    setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
  }
  return Fd();
}

namespace {

void send_all(int fd, const char *data, size_t n, Clock::time_point deadline) {
  while (n > 0) {
    const ssize_t sent = ::send(fd, data, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (sent > 0) {
      data += sent;
      n -= static_cast<size_t>(sent);
      continue;
    }
    if (sent < 0 && errno == EINTR) continue;
    if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!wait_ready(fd, POLLOUT, deadline))
        fail(Status::Io, "[dist] the rendezvous store did not take a message in time");
      continue;
    }
    fail(Status::Io, std::string("[dist] the rendezvous store connection failed: ") +
                         (sent < 0 ? std::strerror(errno) : "closed"));
  }
}

void recv_exact(int fd, char *data, size_t n, Clock::time_point deadline) {
  while (n > 0) {
    const ssize_t got = ::recv(fd, data, n, MSG_DONTWAIT);
    if (got > 0) {
      data += got;
      n -= static_cast<size_t>(got);
      continue;
    }
    if (got == 0) fail(Status::Io, "[dist] the rendezvous store closed the connection");
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (!wait_ready(fd, POLLIN, deadline))
        fail(Status::Io, "[dist] the rendezvous store did not answer in time");
      continue;
    }
    fail(Status::Io,
         std::string("[dist] the rendezvous store connection failed: ") + std::strerror(errno));
  }
}

}  // namespace

std::string frame(const std::string &payload) {
  const uint32_t n = static_cast<uint32_t>(payload.size());
  std::string out = {static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                     static_cast<char>(n >> 8), static_cast<char>(n)};
  return out + payload;
}

void send_frame(int fd, const std::string &payload, Clock::time_point deadline) {
  if (payload.size() > kMaxFrameBytes)
    fail(Status::InvalidArgument, "[dist] a rendezvous store message of " +
                                      std::to_string(payload.size()) + " bytes is over the " +
                                      std::to_string(kMaxFrameBytes) + " bytes allowed");
  const std::string bytes = frame(payload);
  send_all(fd, bytes.data(), bytes.size(), deadline);
}

std::string recv_frame(int fd, uint32_t max_bytes, Clock::time_point deadline) {
  unsigned char head[4];
  recv_exact(fd, reinterpret_cast<char *>(head), 4, deadline);
  const uint32_t n = (uint32_t{head[0]} << 24) | (uint32_t{head[1]} << 16) |
                     (uint32_t{head[2]} << 8) | uint32_t{head[3]};
  if (n > max_bytes)
    fail(Status::Io, "[dist] the rendezvous store sent a message of " + std::to_string(n) +
                         " bytes (at most " + std::to_string(max_bytes) + " expected)");
  std::string out(n, '\0');
  recv_exact(fd, out.data(), n, deadline);
  return out;
}

Writer &Writer::u8(uint8_t v) {
  out_.push_back(static_cast<char>(v));
  return *this;
}

Writer &Writer::i64(int64_t v) {
  const uint64_t u = static_cast<uint64_t>(v);
  for (int shift = 56; shift >= 0; shift -= 8) out_.push_back(static_cast<char>(u >> shift));
  return *this;
}

Writer &Writer::bytes(const std::string &v) {
  i64(static_cast<int64_t>(v.size()));
  out_ += v;
  return *this;
}

uint8_t Reader::u8() {
  if (in_.size() - pos_ < 1) fail(Status::Io, "[dist] malformed rendezvous store message");
  return static_cast<uint8_t>(in_[pos_++]);
}

int64_t Reader::i64() {
  if (in_.size() - pos_ < 8) fail(Status::Io, "[dist] malformed rendezvous store message");
  uint64_t u = 0;
  for (int i = 0; i < 8; ++i) u = (u << 8) | static_cast<unsigned char>(in_[pos_++]);
  return static_cast<int64_t>(u);
}

std::string Reader::bytes() {
  const int64_t n = i64();
  if (n < 0 || static_cast<uint64_t>(n) > in_.size() - pos_)
    fail(Status::Io, "[dist] malformed rendezvous store message");
  std::string out = in_.substr(pos_, static_cast<size_t>(n));
  pos_ += static_cast<size_t>(n);
  return out;
}

}  // namespace fw::dist
