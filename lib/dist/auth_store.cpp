#ifdef FWMERGE_WITH_GLOO
#include "dist/auth_store.h"

#include <algorithm>

#include "util/error.h"

namespace fw::dist {

namespace {

std::string text(const std::vector<uint8_t> &v) { return std::string(v.begin(), v.end()); }
std::vector<uint8_t> bytes(const std::string &s) {
  return std::vector<uint8_t>(s.begin(), s.end());
}

// A handshake that has not finished by then is a stray connection (a real rank finishes it within
// a round trip): the server closes it, within the job's timeout and never later than this.
constexpr std::chrono::milliseconds kMaxHandshake(10000);

}  // namespace

c10::intrusive_ptr<AuthStore> AuthStore::join(const std::string &host, int port, bool serve,
                                              const std::string &secret,
                                              std::chrono::milliseconds timeout) {
  std::shared_ptr<StoreServer> server;
  if (serve)
    server = std::make_shared<StoreServer>(host, port, secret, std::min(timeout, kMaxHandshake));
  return c10::make_intrusive<AuthStore>(std::move(server), host, port, secret, timeout);
}

AuthStore::AuthStore(std::shared_ptr<StoreServer> server, const std::string &host, int port,
                     const std::string &secret, std::chrono::milliseconds timeout)
    : c10d::Store(timeout),
      server_(std::move(server)),
      host_(host),
      port_(port),
      secret_(secret),
      client_(host, port, secret, timeout) {}

void AuthStore::set(const std::string &key, const std::vector<uint8_t> &value) {
  client_.set(key, text(value), timeout_);
}

std::vector<uint8_t> AuthStore::compareSet(const std::string &key,
                                           const std::vector<uint8_t> &expected,
                                           const std::vector<uint8_t> &desired) {
  return bytes(client_.compare_set(key, text(expected), text(desired), timeout_));
}

std::vector<uint8_t> AuthStore::get(const std::string &key) {
  // c10d's get() waits for the key, as TCPStore's does.
  client_.wait({key}, timeout_);
  const auto value = client_.get(key, timeout_);
  if (!value) fail(Status::Io, "the rendezvous store key '" + key + "' was deleted while read");
  return bytes(*value);
}

int64_t AuthStore::add(const std::string &key, int64_t value) {
  return client_.add(key, value, timeout_);
}

bool AuthStore::deleteKey(const std::string &key) { return client_.erase(key, timeout_); }

bool AuthStore::check(const std::vector<std::string> &keys) {
  return client_.check(keys, timeout_);
}

int64_t AuthStore::getNumKeys() { return client_.num_keys(timeout_); }

void AuthStore::wait(const std::vector<std::string> &keys) { client_.wait(keys, timeout_); }

void AuthStore::wait(const std::vector<std::string> &keys,
                     const std::chrono::milliseconds &timeout) {
  // c10d's kNoTimeout (0) means "no limit": fwmerge keeps the store's own bound instead.
  client_.wait(keys, timeout.count() > 0 ? timeout : timeout_);
}

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 5)
c10::intrusive_ptr<c10d::Store> AuthStore::clone() {
  return c10::make_intrusive<AuthStore>(server_, host_, port_, secret_, timeout_);
}
#endif

}  // namespace fw::dist
#endif
