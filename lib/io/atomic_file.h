// Crash-safe file creation: write to a hidden temp file next to the target, fsync, then rename.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

namespace fw {

// "dir/name" -> {"dir", "name"}; a bare name lives in ".".
void split_path(const std::string &path, std::string *dir, std::string *name);

// A temp file `<dir>/.<name>.tmp-XXXXXX` that becomes `<dir>/<name>` on commit(). Every failure
// throws Status::Io with strerror (ENOSPC: "disk full"). Destroying an uncommitted TempFile closes
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

// If `entry` (a bare file name) is named exactly as TempFile names its temps,
// `.<target>.tmp-XXXXXX` with six characters of mkstemp's alphabet [A-Za-z0-9], stores <target> and
// returns true.
bool temp_file_target(const std::string &entry, std::string *target);

// Removes the regular files in `dir` named like TempFile temps whose target satisfies `ours`: the
// leftovers of an export killed (SIGKILL, power loss) before its rename, which no destructor ran
// for. Best effort: they are garbage, so an unreadable folder or a failed unlink is ignored and
// the export goes on. Nothing else is touched (not symlinks or folders of that name either).
// There is no lock and no age check: a temp of another live process exporting to the same target
// would be removed too, and two concurrent exports to the same target are not supported.
void remove_stale_temps(const std::string &dir,
                        const std::function<bool(const std::string &target)> &ours);

}  // namespace fw
