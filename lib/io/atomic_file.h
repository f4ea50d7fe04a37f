// Crash-safe file creation: write to a hidden temp file next to the target, fsync, then rename.
#pragma once

#include <cstddef>
#include <string>

namespace fw {

// "dir/name" -> {"dir", "name"}; a bare name lives in ".".
void split_path(const std::string &path, std::string *dir, std::string *name);

// A temp file `<dir>/.<name>.tmp-XXXXXX` that becomes `<dir>/<name>` on commit(). Every failure
// throws FW_ERR_IO with strerror (ENOSPC: "disk full"). Destroying an uncommitted TempFile closes
// and unlinks it, so a failed write leaves nothing behind.
class TempFile {
 public:
  explicit TempFile(const std::string &final_path);
  ~TempFile();
  TempFile(const TempFile &) = delete;
  TempFile &operator=(const TempFile &) = delete;

  void write(const void *data, size_t size);
  // fsync + close; call before commit().
  void finish();
  // rename over the final path. The directory is not fsynced here (see fsync_dir).
  void commit();
  const std::string &final_path() const { return final_path_; }

 private:
  std::string final_path_;
  std::string temp_path_;
  int fd_ = -1;
  bool committed_ = false;
};

// fsync of a directory, so renames in it survive a crash.
void fsync_dir(const std::string &dir);

}  // namespace fw
