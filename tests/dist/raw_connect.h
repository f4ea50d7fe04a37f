// A plain TCP client for the rendezvous tests (test_auth_store.cpp in one process, test_dist.cpp
// with rank processes): what an outsider or a stray client does to the store.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

namespace disttest {

// A raw TCP connection to ip:port: the descriptor, or -1 with the reason in *error.
inline int raw_connect(const char *ip, int port, int *error = nullptr) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, ip, &addr.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0) {
    if (error) *error = errno;
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace disttest
