#include "io/read_only_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "util/error.h"

namespace fw {
namespace {

[[noreturn]] void fail_errno(const std::string &what, const std::string &path, int err) {
  fail(Status::Io, what + " " + path + ": " + std::strerror(err));
}

FileIdentity identity_of(const struct stat &st) {
  FileIdentity id;
  id.device = static_cast<uint64_t>(st.st_dev);
  id.inode = static_cast<uint64_t>(st.st_ino);
  id.size = static_cast<uint64_t>(st.st_size);
  id.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  id.ctime_ns = static_cast<int64_t>(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec;
  return id;
}

const char *kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "not a regular file (a directory)";
  if (S_ISFIFO(mode)) return "not a regular file (a FIFO)";
  if (S_ISSOCK(mode)) return "not a regular file (a socket)";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "not a regular file (a device)";
  return "not a regular file";
}

std::string describe_change(const FileIdentity &was, const FileIdentity &now) {
  if (was.device != now.device || was.inode != now.inode) return "replaced by another file";
  if (was.size != now.size)
    return "rewritten (size " + std::to_string(was.size) + " -> " + std::to_string(now.size) +
           " bytes)";
  if (was.mtime_ns != now.mtime_ns) return "rewritten (modification time changed)";
  return "rewritten or its status changed (status change time changed; a rewrite whose "
         "modification time was put back, cp -p or touch -r, shows there)";
}

// What happened to the file at `path` whose descriptor now shows `now` (differing from `was`): a
// file renamed over the path also changes the old one's status (its last link is gone), so the
// path is looked at first.
std::string describe_change_at(const std::string &path, const FileIdentity &was,
                               const FileIdentity &now) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return "removed";
  const FileIdentity by_path = identity_of(st);
  if (by_path.device != was.device || by_path.inode != was.inode) return "replaced by another file";
  return describe_change(was, now);
}

}  // namespace

ReadOnlyFile ReadOnlyFile::open(const std::string &path) {
  // stat first: open() of a FIFO blocks until a writer appears, and O_NONBLOCK alone would still
  // hand us a descriptor of something that is not a file.
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) fail_errno("cannot open", path, errno);
  if (!S_ISREG(st.st_mode)) fail(Status::Io, "cannot open " + path + ": " + kind_of(st.st_mode));
  ReadOnlyFile file;
  file.path_ = path;
  file.fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (file.fd_ < 0) fail_errno("cannot open", path, errno);
  // Re-check on the descriptor: the path may have been swapped between stat and open.
  if (::fstat(file.fd_, &st) != 0) fail_errno("cannot stat", path, errno);
  if (!S_ISREG(st.st_mode)) fail(Status::Io, "cannot open " + path + ": " + kind_of(st.st_mode));
  file.identity_ = identity_of(st);
  return file;
}

ReadOnlyFile::~ReadOnlyFile() {
  if (fd_ >= 0) ::close(fd_);
}

ReadOnlyFile::ReadOnlyFile(ReadOnlyFile &&other) noexcept
    : path_(std::move(other.path_)), fd_(other.fd_), identity_(other.identity_) {
  other.fd_ = -1;
}

ReadOnlyFile &ReadOnlyFile::operator=(ReadOnlyFile &&other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    path_ = std::move(other.path_);
    fd_ = other.fd_;
    identity_ = other.identity_;
    other.fd_ = -1;
  }
  return *this;
}

void ReadOnlyFile::read_exact(uint64_t offset, uint64_t nbytes, void *out,
                              const std::string &what) const {
  if (fd_ < 0) fail(Status::Internal, "read from a closed file");
  // One fstat per read (microseconds against a chunk read): a file rewritten in place is caught
  // before its new bytes are taken for the ones validated at open.
  struct stat st;
  if (::fstat(fd_, &st) != 0) fail_errno("cannot stat", path_, errno);
  const FileIdentity now = identity_of(st);
  if (now != identity_)
    fail(Status::Io, path_ + " changed on disk since it was opened: " +
                         describe_change_at(path_, identity_, now) + "; reading " + what);
  if (offset > identity_.size || nbytes > identity_.size - offset)
    fail(Status::Io, path_ + ": " + what + " lies past the end of the file");
  auto *dst = static_cast<uint8_t *>(out);
  uint64_t done = 0;
  while (done < nbytes) {
    const ssize_t got = ::pread(fd_, dst + done, nbytes - done, static_cast<off_t>(offset + done));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) fail_errno("cannot read " + what + " from", path_, errno);
    if (got == 0)
      fail(Status::Io, path_ + ": file shrank (truncated?) while reading " + what + ": " +
                           std::to_string(offset + done) + " of " + std::to_string(identity_.size) +
                           " bytes present");
    done += static_cast<uint64_t>(got);
  }
}

void ReadOnlyFile::check_unchanged() const {
  struct stat st;
  if (::fstat(fd_, &st) != 0) fail_errno("cannot stat", path_, errno);
  FileIdentity now = identity_of(st);
  if (now == identity_) {
    if (::stat(path_.c_str(), &st) != 0) fail_errno("cannot stat", path_, errno);
    now = identity_of(st);
  }
  if (now != identity_)
    fail(Status::Io, path_ + " changed on disk since it was opened: " +
                         describe_change_at(path_, identity_, now));
}

std::string read_small_file(const std::string &path, uint64_t max_bytes,
                            const std::string &defect_prefix) {
  const ReadOnlyFile file = ReadOnlyFile::open(path);
  if (file.size() > max_bytes)
    fail_format(defect_prefix + "too_large", path + ": " + std::to_string(file.size()) +
                                                 " bytes, more than the " +
                                                 std::to_string(max_bytes) + " allowed");
  std::string text(file.size(), '\0');
  file.read_exact(0, file.size(), text.data(), "the file");
  return text;
}

bool path_exists(const std::string &path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace fw
