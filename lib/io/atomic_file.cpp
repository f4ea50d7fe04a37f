#include "io/atomic_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "util/error.h"

namespace fw {
namespace {

[[noreturn]] void fail_errno(int err, const std::string &what) {
  if (err == ENOSPC || err == EDQUOT) {
    fail(Status::Io, what + ": disk full (" + std::strerror(err) + ")");
  }
  fail(Status::Io, what + ": " + std::strerror(err));
}

}  // namespace

void split_path(const std::string &path, std::string *dir, std::string *name) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) {
    *dir = ".";
    *name = path;
  } else {
    *dir = slash == 0 ? "/" : path.substr(0, slash);
    *name = path.substr(slash + 1);
  }
}

TempFile::TempFile(const std::string &final_path) : final_path_(final_path) {
  std::string dir, name;
  split_path(final_path, &dir, &name);
  if (name.empty()) fail(Status::Io, "cannot write " + final_path + ": path names a directory");
  std::string pattern = (dir == "/" ? "" : dir) + "/." + name + ".tmp-XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  fd_ = ::mkstemp(buffer.data());
  if (fd_ < 0) fail_errno(errno, "cannot create a temp file for " + final_path);
  temp_path_ = buffer.data();
  // mkstemp creates 0600; checkpoints are ordinary shareable files.
  if (::fchmod(fd_, 0644) != 0) fail_errno(errno, "cannot chmod " + temp_path_);
}

TempFile::~TempFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_ && !temp_path_.empty()) ::unlink(temp_path_.c_str());
}

void TempFile::write(const void *data, size_t size) {
  const auto *p = static_cast<const char *>(data);
  // write() moves at most ~2 GiB per call; loop over partial writes and EINTR.
  constexpr size_t kChunk = size_t{1} << 30;
  while (size > 0) {
    const ssize_t n = ::write(fd_, p, std::min(size, kChunk));
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_errno(errno, "cannot write " + temp_path_);
    }
    if (n == 0) fail_errno(ENOSPC, "cannot write " + temp_path_);
    p += n;
    size -= static_cast<size_t>(n);
  }
}

void TempFile::finish() {
  if (::fsync(fd_) != 0) fail_errno(errno, "cannot fsync " + temp_path_);
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) fail_errno(errno, "cannot close " + temp_path_);
}

void TempFile::commit() {
  if (::rename(temp_path_.c_str(), final_path_.c_str()) != 0) {
    fail_errno(errno, "cannot rename " + temp_path_ + " to " + final_path_);
  }
  committed_ = true;
}

void fsync_dir(const std::string &dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail_errno(errno, "cannot open directory " + dir);
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  // Some file systems do not support fsync on directories (EINVAL); nothing more can be done there.
  if (rc != 0 && err != EINVAL) fail_errno(err, "cannot fsync directory " + dir);
}

bool temp_file_target(const std::string &entry, std::string *target) {
  static const std::string kTag = ".tmp-";
  constexpr size_t kRandom = 6;  // mkstemp replaces exactly the six X of the pattern
  const size_t suffix = kTag.size() + kRandom;
  // "." + a non-empty target + ".tmp-" + 6 characters.
  if (entry.size() < 2 + suffix || entry[0] != '.') return false;
  const size_t tag = entry.size() - suffix;
  if (entry.compare(tag, kTag.size(), kTag) != 0) return false;
  for (size_t i = tag + kTag.size(); i < entry.size(); ++i) {
    const char c = entry[i];
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum) return false;
  }
  *target = entry.substr(1, tag - 1);
  return true;
}

void remove_stale_temps(const std::string &dir,
                        const std::function<bool(const std::string &target)> &ours) {
  DIR *d = ::opendir(dir.c_str());
  if (d == nullptr) return;  // a missing folder fails later, with the writer's own message
  const int dfd = ::dirfd(d);
  std::vector<std::string> stale;  // unlinked after the scan, not while readdir walks the folder
  std::string target;
  while (const dirent *e = ::readdir(d)) {
    const std::string entry = e->d_name;
    if (!temp_file_target(entry, &target) || !ours(target)) continue;
    // mkstemp only makes regular files; anything else of that name is not ours.
    struct stat st;
    if (::fstatat(dfd, entry.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)) {
      stale.push_back(entry);
    }
  }
  for (const std::string &entry : stale) ::unlinkat(dfd, entry.c_str(), 0);  // best effort
  ::closedir(d);
}

}  // namespace fw
