#include "dist/store_server.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <memory>
#include <vector>

#include "dist/store_auth.h"
#include "util/error.h"

namespace fw::dist {

namespace {

constexpr size_t kHelloBytes = kStoreMagicBytes + kNonceBytes;
constexpr size_t kReadChunk = 64 * 1024;

struct Conn {
  enum class Phase { kHello, kProof, kMember } phase = Phase::kHello;
  Fd fd;
  std::string in, out;
  std::string client_nonce, server_nonce;
  Clock::time_point deadline;  // of the handshake
  std::vector<std::string> waiting;
  bool waits = false;
  bool closing = false;  // flush `out`, then close (a refusal)
  bool dead = false;
};

}  // namespace

struct StoreServer::State {
  std::map<std::string, std::string> kv;
  std::vector<std::unique_ptr<Conn>> conns;
};

StoreServer::StoreServer(const std::string &host, int port, std::string secret,
                         std::chrono::milliseconds handshake_deadline)
    : listener_(listen_on(host, port)),
      secret_(std::move(secret)),
      handshake_deadline_(handshake_deadline) {
  port_ = bound_port(listener_.get());
  int fds[2];
  if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0)
    fail(Status::Io, "the rendezvous store cannot create its wake-up pipe");
  wake_read_ = Fd(fds[0]);
  wake_write_ = Fd(fds[1]);
  thread_ = std::thread([this] { run(); });
}

StoreServer::~StoreServer() {
  const char byte = 0;
  while (write(wake_write_.get(), &byte, 1) < 0 && errno == EINTR) {
  }
  thread_.join();
}

namespace {

bool all_present(const std::map<std::string, std::string> &kv,
                 const std::vector<std::string> &keys) {
  return std::all_of(keys.begin(), keys.end(), [&](const std::string &k) { return kv.count(k); });
}

std::vector<std::string> read_keys(Reader &r) {
  const int64_t n = r.i64();
  // Each key takes at least its 8-byte length: a count past that is garbage.
  if (n < 0 || n > static_cast<int64_t>(kMaxFrameBytes / 8))
    fail(Status::Io, "malformed rendezvous store message");
  std::vector<std::string> keys;
  for (int64_t i = 0; i < n; ++i) keys.push_back(r.bytes());
  return keys;
}

int64_t parse_counter(const std::string &text) {
  try {
    size_t used = 0;
    const int64_t v = std::stoll(text, &used);
    if (used == text.size()) return v;
  } catch (const std::exception &) {
  }
  fail(Status::Io, "add() on a key whose value is not a number");
}

// One request of a member: its answer (empty when a kWait answers later). Throws on garbage.
std::string serve(std::map<std::string, std::string> &kv, Conn &c, const std::string &payload) {
  Reader r(payload);
  const Op op = static_cast<Op>(r.u8());
  Writer w;
  switch (op) {
    case Op::kSet: {
      std::string key = r.bytes();
      kv[std::move(key)] = r.bytes();
      break;
    }
    case Op::kGet: {
      const auto it = kv.find(r.bytes());
      w.u8(it != kv.end()).bytes(it != kv.end() ? it->second : std::string());
      break;
    }
    case Op::kAdd: {
      const std::string key = r.bytes();
      const int64_t delta = r.i64();
      const auto it = kv.find(key);
      const int64_t now = (it == kv.end() ? 0 : parse_counter(it->second)) + delta;
      kv[key] = std::to_string(now);
      w.i64(now);
      break;
    }
    case Op::kCompareSet: {
      const std::string key = r.bytes(), expected = r.bytes(), desired = r.bytes();
      const auto it = kv.find(key);
      if (it == kv.end()) {
        if (expected.empty()) kv[key] = desired;
        w.bytes(expected.empty() ? desired : expected);
      } else if (it->second == expected) {
        it->second = desired;
        w.bytes(desired);
      } else {
        w.bytes(it->second);
      }
      break;
    }
    case Op::kCheck:
      w.u8(all_present(kv, read_keys(r)));
      break;
    case Op::kDelete:
      w.u8(kv.erase(r.bytes()) > 0);
      break;
    case Op::kNumKeys:
      w.i64(static_cast<int64_t>(kv.size()));
      break;
    case Op::kWait:
      c.waiting = read_keys(r);
      c.waits = true;
      break;
    default:
      fail(Status::Io, "unknown rendezvous store request");
  }
  if (!r.at_end()) fail(Status::Io, "malformed rendezvous store message");
  return c.waits ? std::string() : frame(w.take());
}

// Handles every whole frame in c.in; false when the connection must be dropped.
bool handle_input(Conn &c, std::map<std::string, std::string> &kv, const std::string &secret,
                  std::atomic<int64_t> &refused) {
  while (c.in.size() >= 4 && !c.closing && !c.waits) {
    const auto *h = reinterpret_cast<const unsigned char *>(c.in.data());
    const uint32_t n =
        (uint32_t{h[0]} << 24) | (uint32_t{h[1]} << 16) | (uint32_t{h[2]} << 8) | uint32_t{h[3]};
    const size_t limit = c.phase == Conn::Phase::kHello   ? kHelloBytes
                         : c.phase == Conn::Phase::kProof ? kMacBytes
                                                          : kMaxFrameBytes;
    if (n > limit) return false;  // oversized: garbage, or not our protocol
    if (c.in.size() < 4 + size_t{n}) break;
    const std::string payload = c.in.substr(4, n);
    c.in.erase(0, 4 + size_t{n});
    switch (c.phase) {
      case Conn::Phase::kHello:
        if (payload.size() != kHelloBytes ||
            payload.compare(0, kStoreMagicBytes, kStoreMagic, kStoreMagicBytes) != 0)
          return false;
        c.client_nonce = payload.substr(kStoreMagicBytes);
        c.server_nonce = random_nonce();
        c.out += frame(std::string(kStoreMagic, kStoreMagicBytes) + c.server_nonce);
        c.phase = Conn::Phase::kProof;
        break;
      case Conn::Phase::kProof:
        if (same_mac(payload, client_proof(secret, c.server_nonce, c.client_nonce))) {
          c.out += frame(std::string(1, static_cast<char>(kAccepted)) +
                         server_proof(secret, c.client_nonce, c.server_nonce));
          c.phase = Conn::Phase::kMember;
        } else {
          c.out += frame(std::string(1, static_cast<char>(kRefused)));
          c.closing = true;
          ++refused;
        }
        break;
      case Conn::Phase::kMember:
        c.out += serve(kv, c, payload);
        break;
    }
  }
  return true;
}

}  // namespace

void StoreServer::run() {
  State st;
  std::vector<pollfd> fds;
  for (;;) {
    // Answer the waits whose keys are all present now.
    for (auto &c : st.conns)
      if (c->waits && all_present(st.kv, c->waiting)) {
        c->waits = false;
        c->waiting.clear();
        c->out += frame(Writer().u8(1).take());
      }
    // Drop what is dead, refused and flushed, or past its handshake deadline.
    const auto now = Clock::now();
    st.conns.erase(
        std::remove_if(st.conns.begin(), st.conns.end(),
                       [&](const std::unique_ptr<Conn> &c) {
                         const bool late = c->phase != Conn::Phase::kMember && now >= c->deadline;
                         if ((late || c->dead) && c->phase != Conn::Phase::kMember && !c->closing)
                           ++dropped_;
                         return c->dead || late || (c->closing && c->out.empty());
                       }),
        st.conns.end());
    fds.clear();
    fds.push_back({wake_read_.get(), POLLIN, 0});
    fds.push_back({listener_.get(), POLLIN, 0});
    int wait_ms = 1000;
    for (auto &c : st.conns) {
      short events = c->closing ? 0 : POLLIN;
      if (!c->out.empty()) events |= POLLOUT;
      fds.push_back({c->fd.get(), events, 0});
      if (c->phase != Conn::Phase::kMember) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(c->deadline - now).count() + 1;
        wait_ms = std::min<int>(wait_ms, static_cast<int>(std::max<int64_t>(left, 0)));
      }
    }
    if (poll(fds.data(), fds.size(), wait_ms) < 0 && errno != EINTR) continue;
    if (fds[0].revents) return;  // the destructor asks to stop
    const size_t n_conns = st.conns.size();
    for (size_t i = 0; i < n_conns; ++i) {
      Conn &c = *st.conns[i];
      const short ev = fds[i + 2].revents;
      if (ev & (POLLERR | POLLNVAL)) {
        c.dead = true;
        continue;
      }
      if (ev & (POLLIN | POLLHUP)) {
        char buf[kReadChunk];
        const ssize_t got = recv(c.fd.get(), buf, sizeof buf, MSG_DONTWAIT);
        if (got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
          c.dead = true;
          continue;
        }
        if (got > 0) c.in.append(buf, static_cast<size_t>(got));
      }
      try {
        if (!handle_input(c, st.kv, secret_, refused_)) c.dead = true;
      } catch (const std::exception &) {
        c.dead = true;  // garbage from a member: that connection goes, the store stays
      }
      if (!c.dead && !c.out.empty()) {
        const ssize_t sent =
            send(c.fd.get(), c.out.data(), c.out.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (sent > 0)
          c.out.erase(0, static_cast<size_t>(sent));
        else if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
          c.dead = true;
      }
    }
    if (fds[1].revents & POLLIN) {
      for (;;) {
        const int fd = accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) break;
        const int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        auto c = std::make_unique<Conn>();
        c->fd = Fd(fd);
        c->deadline = Clock::now() + handshake_deadline_;
        size_t handshaking = 0;
        for (auto &o : st.conns) handshaking += o->phase != Conn::Phase::kMember && !o->dead;
        if (handshaking >= kMaxHandshaking) {
          // The oldest handshake goes (a real rank finishes its own within a round trip).
          for (auto &o : st.conns)
            if (o->phase != Conn::Phase::kMember && !o->dead) {
              o->dead = true;
              break;
            }
        }
        st.conns.push_back(std::move(c));
      }
    }
  }
}

}  // namespace fw::dist
