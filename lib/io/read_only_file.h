// Checked reads of files the library did not write: checkpoints, shard indexes, adapter configs.
//
// Nothing is memory-mapped. A mapped file that shrinks under us raises SIGBUS in the host, which no
// status code can report; pread of a shrunk file returns a short count instead, which becomes
// Status::Io naming the file. Every read also re-checks the file's identity, so a checkpoint
// rewritten in place after it was validated is refused rather than read at stale offsets.
#pragma once

#include <cstdint>
#include <string>

namespace fw {

// What identifies the bytes of a file: a rewrite changes the size or the modification time, a
// replacement (rename over the path) changes the inode. The status change time (ctime) covers what
// a restore can fake: `cp -p`, `touch -r` or utimensat put the modification time back after a
// same-size rewrite, but setting it is itself a status change, and ctime cannot be set by a user.
struct FileIdentity {
  uint64_t device = 0;
  uint64_t inode = 0;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  bool operator==(const FileIdentity &o) const {
    return device == o.device && inode == o.inode && size == o.size && mtime_ns == o.mtime_ns &&
           ctime_ns == o.ctime_ns;
  }
  bool operator!=(const FileIdentity &o) const { return !(*this == o); }
};

class ReadOnlyFile {
 public:
  // Opens a regular file for reading. A FIFO, socket, device or directory is refused with
  // Status::Io without blocking: the path is checked before opening and the open itself is
  // non-blocking (a FIFO swapped in between cannot stall us either). Throws fw::Error.
  static ReadOnlyFile open(const std::string &path);

  ReadOnlyFile() = default;
  ~ReadOnlyFile();
  ReadOnlyFile(ReadOnlyFile &&other) noexcept;
  ReadOnlyFile &operator=(ReadOnlyFile &&other) noexcept;
  ReadOnlyFile(const ReadOnlyFile &) = delete;
  ReadOnlyFile &operator=(const ReadOnlyFile &) = delete;

  const std::string &path() const { return path_; }
  uint64_t size() const { return identity_.size; }
  const FileIdentity &identity() const { return identity_; }

  // Reads exactly `nbytes` at `offset` into `out`. Status::Io (naming the file) when the file has
  // changed since open() (size, modification or status change time), the range lies past its end,
  // or the read comes back short. `what` says what was being read ("tensor \"w\""), for the
  // message.
  void read_exact(uint64_t offset, uint64_t nbytes, void *out, const std::string &what) const;

  // Status::Io when the open descriptor's file changed (rewritten in place) or the path now names
  // another file (replaced) since open().
  void check_unchanged() const;

 private:
  std::string path_;
  int fd_ = -1;
  FileIdentity identity_;
};

// The whole content of a small regular file (JSON configs and indexes), at most `max_bytes`
// (Status::Format "[<defect_prefix>too_large]" above that). Same non-blocking checks as
// ReadOnlyFile::open.
std::string read_small_file(const std::string &path, uint64_t max_bytes,
                            const std::string &defect_prefix);

// True when `path` exists (any kind of file); used to tell "missing" from "unreadable".
bool path_exists(const std::string &path);

}  // namespace fw
