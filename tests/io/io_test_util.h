// Small helpers shared by the io tests (raw header files, error expectations).
#pragma once

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "capi/status_map.h"
#include "util/error.h"

namespace iotest {

// 8-byte little-endian `header_len` + `header` + `data_len` zero bytes.
inline std::vector<uint8_t> raw_file(uint64_t header_len, const std::string &header,
                                     size_t data_len) {
  std::vector<uint8_t> bytes;
  for (int i = 0; i < 8; ++i) bytes.push_back(static_cast<uint8_t>(header_len >> (8 * i)));
  bytes.insert(bytes.end(), header.begin(), header.end());
  bytes.insert(bytes.end(), data_len, 0);
  return bytes;
}

// Same, with the length field equal to the header's size.
inline std::vector<uint8_t> raw_file(const std::string &header, size_t data_len) {
  return raw_file(header.size(), header, data_len);
}

// Runs `fn`, expects an fw::Error with `code` whose message contains `needle`.
inline void expect_error(const std::function<void()> &fn, fw_status code,
                         const std::string &needle) {
  try {
    fn();
    ADD_FAILURE() << "no error; expected status " << static_cast<int>(code) << " with '" << needle
                  << "'";
  } catch (const fw::Error &e) {
    EXPECT_EQ(fw::capi::to_public(e.code()), code) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos)
        << "message '" << e.what() << "' lacks '" << needle << "'";
  }
}

inline bool file_exists(const std::string &path) { return ::access(path.c_str(), F_OK) == 0; }

// While alive, this process may not grow a file past `bytes` (RLIMIT_FSIZE, which applies to root
// too): write() fails with EFBIG part-way, SIGXFSZ is ignored. The old limit and handler come back
// on destruction, even when an assertion returns early.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    EXPECT_EQ(::getrlimit(RLIMIT_FSIZE, &saved_), 0);
    struct rlimit limited = saved_;
    limited.rlim_cur = bytes;
    previous_ = ::signal(SIGXFSZ, SIG_IGN);
    EXPECT_EQ(::setrlimit(RLIMIT_FSIZE, &limited), 0);
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &saved_);
    ::signal(SIGXFSZ, previous_);
  }
  FileSizeLimit(const FileSizeLimit &) = delete;
  FileSizeLimit &operator=(const FileSizeLimit &) = delete;

 private:
  struct rlimit saved_ {};
  void (*previous_)(int) = nullptr;
};

}  // namespace iotest
