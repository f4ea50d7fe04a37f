// fwmerge's rendezvous store (lib/dist/auth_store.h) in one process, on loopback: members that
// prove the shared secret share its keys; it listens on the address given and no other; a wrong
// or missing secret is refused with a named error while members carry on; a stray connection that
// sends a byte and waits, or garbage, holds nobody and is closed (by its handshake deadline, or
// at once); every client call is bounded by its timeout. The whole-job versions (rank processes)
// are in test_dist.cpp.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "capi/status_map.h"
#include "dist/store_auth.h"
#include "dist/store_client.h"
#include "dist/store_server.h"
#include "dist/store_wire.h"
#include "raw_connect.h"
#include "util/error.h"

namespace {

using fw::dist::StoreClient;
using fw::dist::StoreServer;
using ms = std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

using disttest::raw_connect;

// True when the peer closes `fd` within `limit` (reads and drops whatever it sends first).
bool closed_by_peer_within(int fd, ms limit) {
  const auto deadline = Clock::now() + limit;
  for (;;) {
    const auto left = std::chrono::duration_cast<ms>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left)) <= 0) return false;
    char buf[256];
    const ssize_t got = recv(fd, buf, sizeof buf, 0);
    if (got <= 0) return true;
  }
}

// The error of constructing a client, or FW_OK.
fw::Error join_error(int port, const std::string &secret, ms timeout) {
  try {
    StoreClient client("127.0.0.1", port, secret, timeout);
  } catch (const fw::Error &e) {
    return e;
  }
  return fw::Error(fw::Status::Ok, "");
}

TEST(AuthStore, MembersWithTheSecretShareTheStore) {
  StoreServer server("127.0.0.1", 0, "s3cret", ms(5000));
  StoreClient a("127.0.0.1", server.port(), "s3cret", ms(5000));
  StoreClient b("127.0.0.1", server.port(), "s3cret", ms(5000));
  a.set("k", std::string("v\0w", 3), ms(5000));
  EXPECT_EQ(b.get("k", ms(5000)), std::string("v\0w", 3));
  EXPECT_FALSE(b.get("missing", ms(5000)).has_value());
  EXPECT_EQ(a.add("n", 5, ms(5000)), 5);
  EXPECT_EQ(b.add("n", -2, ms(5000)), 3);
  EXPECT_TRUE(b.check({"k", "n"}, ms(5000)));
  EXPECT_FALSE(b.check({"k", "missing"}, ms(5000)));
  // c10d's compareSet: set when the value is the expected one, else answer the value there.
  EXPECT_EQ(a.compare_set("k", "nope", "x", ms(5000)), std::string("v\0w", 3));
  EXPECT_EQ(a.compare_set("k", std::string("v\0w", 3), "x", ms(5000)), "x");
  EXPECT_EQ(a.compare_set("fresh", "", "y", ms(5000)), "y");
  EXPECT_EQ(a.num_keys(ms(5000)), 3);
  EXPECT_TRUE(a.erase("fresh", ms(5000)));
  EXPECT_FALSE(a.erase("fresh", ms(5000)));
  // A wait answers once another member sets the key.
  std::thread setter([&] {
    std::this_thread::sleep_for(ms(100));
    b.set("late", "1", ms(5000));
  });
  a.wait({"k", "late"}, ms(5000));
  setter.join();
  EXPECT_EQ(a.get("late", ms(5000)), "1");
  EXPECT_EQ(server.refused(), 0);
}

TEST(AuthStore, ListensOnTheGivenAddressOnly) {
  StoreServer server("127.0.0.1", 0, "s3cret", ms(5000));
  // Linux routes all of 127/8 to loopback: a server on every interface would answer here.
  int error = 0;
  EXPECT_EQ(raw_connect("127.0.0.2", server.port(), &error), -1);
  EXPECT_EQ(error, ECONNREFUSED);
  const int fd = raw_connect("127.0.0.1", server.port());
  EXPECT_GE(fd, 0);
  close(fd);
  // A wildcard host is refused rather than listening everywhere.
  try {
    StoreServer everywhere("0.0.0.0", 0, "s3cret", ms(5000));
    ADD_FAILURE() << "listened on 0.0.0.0";
  } catch (const fw::Error &e) {
    EXPECT_EQ(fw::capi::to_public(e.code()), FW_ERR_IO);
    EXPECT_NE(std::string(e.what()).find("wildcard"), std::string::npos) << e.what();
  }
}

TEST(AuthStore, AWrongOrMissingSecretIsRefusedAndMembersGoOn) {
  StoreServer server("127.0.0.1", 0, "s3cret", ms(5000));
  StoreClient member("127.0.0.1", server.port(), "s3cret", ms(5000));
  member.set("before", "1", ms(5000));
  for (const std::string secret : {"wrong", "", "s3cret "}) {
    SCOPED_TRACE("secret '" + secret + "'");
    const auto start = Clock::now();
    const fw::Error e = join_error(server.port(), secret, ms(20000));
    EXPECT_EQ(fw::capi::to_public(e.code()), FW_ERR_IO);
    EXPECT_NE(std::string(e.what()).find("refused authentication"), std::string::npos) << e.what();
    EXPECT_LT(seconds_since(start), 10.0) << "a refusal is final, not retried until the timeout";
  }
  EXPECT_EQ(server.refused(), 3);
  EXPECT_EQ(member.get("before", ms(5000)), "1");
  StoreClient late("127.0.0.1", server.port(), "s3cret", ms(5000));
  EXPECT_EQ(late.get("before", ms(5000)), "1");
}

TEST(AuthStore, AnImpostorServerFailsTheClientsCheck) {
  // A server that speaks the protocol and accepts everyone, but cannot know the secret: its proof
  // is wrong, and the client leaves instead of becoming its member.
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr *>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(listener, 1), 0);
  socklen_t len = sizeof addr;
  getsockname(listener, reinterpret_cast<sockaddr *>(&addr), &len);
  std::thread impostor([listener] {
    const int fd = accept(listener, nullptr, nullptr);
    const auto deadline = Clock::now() + ms(5000);
    try {
      fw::dist::recv_frame(fd, 64, deadline);  // the client's hello
      fw::dist::send_frame(fd, std::string(fw::dist::kStoreMagic) + std::string(32, 'n'), deadline);
      fw::dist::recv_frame(fd, 64, deadline);  // the client's proof
      fw::dist::send_frame(fd, std::string(1, '\x01') + std::string(32, 'p'), deadline);
    } catch (const fw::Error &) {
    }
    close(fd);
  });
  const fw::Error e = join_error(ntohs(addr.sin_port), "s3cret", ms(5000));
  impostor.join();
  close(listener);
  EXPECT_EQ(fw::capi::to_public(e.code()), FW_ERR_IO);
  EXPECT_NE(std::string(e.what()).find("failed authentication"), std::string::npos) << e.what();
}

TEST(AuthStore, WithoutASecretTheStoreStillWorksOnItsAddress) {
  // No secret on either side (a trusted network): the exchange runs with an empty key.
  StoreServer server("127.0.0.1", 0, "", ms(5000));
  StoreClient open("127.0.0.1", server.port(), "", ms(5000));
  open.set("k", "v", ms(5000));
  EXPECT_EQ(open.get("k", ms(5000)), "v");
  // A rank that has a secret is refused by a job that has none: the ranks must agree.
  const fw::Error e = join_error(server.port(), "s3cret", ms(5000));
  EXPECT_NE(std::string(e.what()).find("refused authentication"), std::string::npos) << e.what();
}

TEST(AuthStore, AStrayConnectionHoldsNobodyAndIsClosedAtItsHandshakeDeadline) {
  // A blocking server would keep the member waiting until the stray is closed, 2 s from now.
  StoreServer server("127.0.0.1", 0, "s3cret", ms(2000));
  const int stray = raw_connect("127.0.0.1", server.port());
  ASSERT_GE(stray, 0);
  ASSERT_EQ(send(stray, "x", 1, 0), 1);  // one byte of a frame header, then nothing
  const auto start = Clock::now();
  StoreClient member("127.0.0.1", server.port(), "s3cret", ms(5000));
  member.set("k", "v", ms(5000));
  EXPECT_EQ(member.get("k", ms(5000)), "v");
  EXPECT_LT(seconds_since(start), 1.5) << "the member waited on the stray connection";
  EXPECT_TRUE(closed_by_peer_within(stray, ms(10000))) << "the stray connection was kept";
  EXPECT_GE(seconds_since(start), 1.5);  // closed by the deadline, not at once
  close(stray);
  EXPECT_EQ(server.dropped(), 1);
  EXPECT_EQ(member.get("k", ms(5000)), "v");
}

TEST(AuthStore, AFloodOfStraysCannotLockAMemberOut) {
  // More half-open handshakes than the server keeps: the oldest are closed, a member still joins
  // at once (long before the strays' 10 s deadline).
  StoreServer server("127.0.0.1", 0, "s3cret", ms(10000));
  std::vector<int> strays;
  for (size_t i = 0; i < 2 * StoreServer::kMaxHandshaking; ++i) {
    strays.push_back(raw_connect("127.0.0.1", server.port()));
    ASSERT_GE(strays.back(), 0);
    ASSERT_EQ(send(strays.back(), "x", 1, 0), 1);
  }
  const auto start = Clock::now();
  StoreClient member("127.0.0.1", server.port(), "s3cret", ms(20000));
  member.set("k", "v", ms(5000));
  EXPECT_EQ(member.get("k", ms(5000)), "v");
  EXPECT_LT(seconds_since(start), 5.0);
  EXPECT_TRUE(closed_by_peer_within(strays.front(), ms(5000))) << "the oldest stray was kept";
  for (const int fd : strays) close(fd);
}

TEST(AuthStore, GarbageClosesThatConnectionAtOnce) {
  StoreServer server("127.0.0.1", 0, "s3cret", ms(60000));
  StoreClient member("127.0.0.1", server.port(), "s3cret", ms(5000));
  // A frame length far over what a hello may be; a hello that is not ours; an HTTP request.
  const std::string garbage[] = {std::string("\xff\xff\xff\xff", 4),
                                 std::string("\0\0\0\x28", 4) + std::string(40, 'A'),
                                 "GET / HTTP/1.1\r\nHost: x\r\n\r\n"};
  for (const std::string &g : garbage) {
    const int fd = raw_connect("127.0.0.1", server.port());
    ASSERT_GE(fd, 0);
    ASSERT_EQ(send(fd, g.data(), g.size(), 0), static_cast<ssize_t>(g.size()));
    EXPECT_TRUE(closed_by_peer_within(fd, ms(5000))) << "garbage kept its connection";
    close(fd);
  }
  EXPECT_EQ(server.dropped(), 3);
  member.set("k", "v", ms(5000));
  EXPECT_EQ(member.get("k", ms(5000)), "v");
}

TEST(AuthStore, EveryClientCallIsBoundedByItsTimeout) {
  // Nobody serves: joining fails once the timeout has passed, naming the address.
  const int port = [] {
    StoreServer gone("127.0.0.1", 0, "", ms(1000));
    return gone.port();
  }();
  auto start = Clock::now();
  const fw::Error e = join_error(port, "s3cret", ms(400));
  EXPECT_EQ(fw::capi::to_public(e.code()), FW_ERR_IO);
  EXPECT_NE(std::string(e.what()).find("did not admit this rank within 400 ms"), std::string::npos)
      << e.what();
  EXPECT_LT(seconds_since(start), 3.0);
  // A wait for a key nobody sets ends at its timeout; the connection is then closed for good.
  StoreServer server("127.0.0.1", 0, "s3cret", ms(5000));
  StoreClient member("127.0.0.1", server.port(), "s3cret", ms(5000));
  start = Clock::now();
  try {
    member.wait({"never"}, ms(300));
    ADD_FAILURE() << "the wait returned";
  } catch (const fw::Error &w) {
    EXPECT_EQ(fw::capi::to_public(w.code()), FW_ERR_IO);
    EXPECT_NE(std::string(w.what()).find("did not answer in time"), std::string::npos) << w.what();
  }
  EXPECT_GE(seconds_since(start), 0.25);
  EXPECT_LT(seconds_since(start), 3.0);
  try {
    member.set("k", "v", ms(5000));
    ADD_FAILURE() << "a connection whose last call failed was reused";
  } catch (const fw::Error &w) {
    EXPECT_NE(std::string(w.what()).find("failed earlier"), std::string::npos) << w.what();
  }
}

TEST(AuthStore, TheSecretComesFromTheFieldElseTheEnvironment) {
  unsetenv("FWMERGE_DIST_SECRET");
  EXPECT_EQ(fw::dist::resolve_secret(nullptr), "");
  setenv("FWMERGE_DIST_SECRET", "from-env", 1);
  EXPECT_EQ(fw::dist::resolve_secret(nullptr), "from-env");
  EXPECT_EQ(fw::dist::resolve_secret("from-field"), "from-field");
  EXPECT_EQ(fw::dist::resolve_secret(""), "");  // an explicit empty field: no secret
  unsetenv("FWMERGE_DIST_SECRET");
}

}  // namespace
