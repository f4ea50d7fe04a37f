#include "dist/store_client.h"

#include <algorithm>
#include <thread>

#include "dist/store_auth.h"
#include "util/error.h"

namespace fw::dist {

namespace {

constexpr size_t kServerHelloBytes = kStoreMagicBytes + kNonceBytes;

}  // namespace

StoreClient::StoreClient(const std::string &host, int port, const std::string &secret,
                         std::chrono::milliseconds timeout)
    : host_(host), port_(port), where_(host + ":" + std::to_string(port)) {
  const auto deadline = Clock::now() + timeout;
  std::string why;
  auto pause = std::chrono::milliseconds(20);
  for (;;) {
    if (try_join(secret, deadline, why)) return;
    if (Clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::min<Clock::duration>(pause, deadline - Clock::now()));
    pause = std::min(pause * 2, std::chrono::milliseconds(250));
  }
  fail(Status::Io, "the rendezvous store at " + where_ + " did not admit this rank within " +
                       std::to_string(timeout.count()) + " ms (last: " + why + ")");
}

bool StoreClient::try_join(const std::string &secret, Clock::time_point deadline,
                           std::string &why) {
  Fd fd = connect_to(host_, port_, deadline, why);
  if (fd.get() < 0) return false;
  const std::string client_nonce = random_nonce();
  std::string server_nonce, verdict;
  // A connection closed before the verdict (the server not up yet, or a flood of strays evicting
  // the oldest handshakes) is tried again; a verdict is final.
  try {
    send_frame(fd.get(), std::string(kStoreMagic, kStoreMagicBytes) + client_nonce, deadline);
    const std::string hello = recv_frame(fd.get(), kServerHelloBytes, deadline);
    if (hello.size() != kServerHelloBytes ||
        hello.compare(0, kStoreMagicBytes, kStoreMagic, kStoreMagicBytes) != 0)
      fail(Status::Io, "the rendezvous at " + where_ + " is not an fwmerge store (bad hello)");
    server_nonce = hello.substr(kStoreMagicBytes);
    send_frame(fd.get(), client_proof(secret, server_nonce, client_nonce), deadline);
    verdict = recv_frame(fd.get(), 1 + kMacBytes, deadline);
  } catch (const Error &e) {
    why = e.what();
    return false;
  }
  if (verdict.empty() || static_cast<uint8_t>(verdict[0]) != kAccepted)
    fail(Status::Io, "the rendezvous at " + where_ +
                         " refused authentication: this rank's secret (fw_dist_params.secret or "
                         "FWMERGE_DIST_SECRET) is not the job's");
  if (!same_mac(verdict.substr(1), server_proof(secret, client_nonce, server_nonce)))
    fail(Status::Io, "the rendezvous server at " + where_ +
                         " failed authentication: it does not hold this rank's secret "
                         "(fw_dist_params.secret or FWMERGE_DIST_SECRET); not this job's rank 0");
  fd_ = std::move(fd);
  return true;
}

std::string StoreClient::call(const std::string &request, std::chrono::milliseconds timeout) {
  const std::lock_guard<std::mutex> lock(mutex_);
  if (fd_.get() < 0)
    fail(Status::Io,
         "the connection to the rendezvous store at " + where_ + " failed earlier and is closed");
  const auto deadline = Clock::now() + timeout;
  try {
    send_frame(fd_.get(), request, deadline);
    return recv_frame(fd_.get(), kMaxFrameBytes, deadline);
  } catch (const Error &e) {
    fd_.reset();
    fail(e.code(),
         std::string(e.what()) + " (" + where_ + ", " + std::to_string(timeout.count()) + " ms)");
  }
}

void StoreClient::set(const std::string &key, const std::string &value,
                      std::chrono::milliseconds timeout) {
  call(Writer().u8(static_cast<uint8_t>(Op::kSet)).bytes(key).bytes(value).take(), timeout);
}

std::optional<std::string> StoreClient::get(const std::string &key,
                                            std::chrono::milliseconds timeout) {
  const std::string answer =
      call(Writer().u8(static_cast<uint8_t>(Op::kGet)).bytes(key).take(), timeout);
  Reader r(answer);
  const bool found = r.u8() != 0;
  std::string value = r.bytes();
  if (!found) return std::nullopt;
  return value;
}

int64_t StoreClient::add(const std::string &key, int64_t delta, std::chrono::milliseconds timeout) {
  const std::string answer =
      call(Writer().u8(static_cast<uint8_t>(Op::kAdd)).bytes(key).i64(delta).take(), timeout);
  Reader r(answer);
  return r.i64();
}

std::string StoreClient::compare_set(const std::string &key, const std::string &expected,
                                     const std::string &desired,
                                     std::chrono::milliseconds timeout) {
  const std::string answer = call(Writer()
                                      .u8(static_cast<uint8_t>(Op::kCompareSet))
                                      .bytes(key)
                                      .bytes(expected)
                                      .bytes(desired)
                                      .take(),
                                  timeout);
  Reader r(answer);
  return r.bytes();
}

namespace {

std::string with_keys(Op op, const std::vector<std::string> &keys) {
  Writer w;
  w.u8(static_cast<uint8_t>(op)).i64(static_cast<int64_t>(keys.size()));
  for (const std::string &k : keys) w.bytes(k);
  return w.take();
}

}  // namespace

bool StoreClient::check(const std::vector<std::string> &keys, std::chrono::milliseconds timeout) {
  const std::string answer = call(with_keys(Op::kCheck, keys), timeout);
  Reader r(answer);
  return r.u8() != 0;
}

bool StoreClient::erase(const std::string &key, std::chrono::milliseconds timeout) {
  const std::string answer =
      call(Writer().u8(static_cast<uint8_t>(Op::kDelete)).bytes(key).take(), timeout);
  Reader r(answer);
  return r.u8() != 0;
}

int64_t StoreClient::num_keys(std::chrono::milliseconds timeout) {
  const std::string answer = call(Writer().u8(static_cast<uint8_t>(Op::kNumKeys)).take(), timeout);
  Reader r(answer);
  return r.i64();
}

void StoreClient::wait(const std::vector<std::string> &keys, std::chrono::milliseconds timeout) {
  call(with_keys(Op::kWait, keys), timeout);
}

}  // namespace fw::dist
