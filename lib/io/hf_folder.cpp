#include "io/hf_folder.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <system_error>
#include <vector>

#include "io/atomic_file.h"
#include "io/folder_links.h"
#include "util/error.h"
#include "util/version.h"

namespace fs = std::filesystem;

namespace fw {
namespace {

[[noreturn]] void io_error(const std::string &what, const std::error_code &ec) {
  fail(Status::Io, what + ": " + ec.message());
}

void fsync_file(const fs::path &p) {
  const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(Status::Io, "cannot open " + p.string() + ": " + std::strerror(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) fail(Status::Io, "cannot fsync " + p.string() + ": " + std::strerror(err));
}

// Copies `from` to `to` (a new file) and fsyncs it.
void copy_synced(const fs::path &from, const fs::path &to) {
  std::error_code ec;
  fs::copy_file(from, to, ec);
  if (ec) io_error("cannot copy " + from.string() + " to " + to.string(), ec);
  fsync_file(to);
}

// An exclusive flock(2) on folder `path`, held through the returned descriptor (-1: not taken).
// The kernel drops it when its process dies, however it dies: a temp folder whose lock can be
// taken belongs to no live writer.
int lock_folder(const std::string &path, bool wait) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return -1;
  if (::flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Removes the temp folders `.<name>.tmp-XXXXXX` in `dir` (any target's) that no live writer holds:
// those of a run killed (SIGKILL, OOM killer, power loss) before its rename, which no destructor
// cleaned. A writer holds its folder's lock from creation to rename, so a live run's folder is
// never taken. Best effort: they are garbage, so a failure is ignored and the write goes on.
void remove_dead_temp_folders(const std::string &dir) {
  std::error_code ec;
  std::vector<fs::path> candidates;  // removed after the scan, not while the iterator walks
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string target;
    if (!temp_file_target(it->path().filename().string(), &target)) continue;
    if (it->symlink_status(ec).type() == fs::file_type::directory) candidates.push_back(it->path());
  }
  for (const fs::path &p : candidates) {
    const int fd = lock_folder(p.string(), false);
    if (fd < 0) continue;  // a live writer's (or not ours to open)
    // Under the lock: a writer that made this folder and is about to lock it waits, then sees it
    // gone and makes another (TempFolder).
    fs::remove_all(p, ec);  // does not follow links inside
    ::close(fd);
  }
}

// The hidden temp folder `<parent>/.<name>.tmp-XXXXXX` (mkdtemp), locked while it exists (see
// remove_dead_temp_folders), removed with what it holds unless released.
class TempFolder {
 public:
  explicit TempFolder(const std::string &target) {
    std::string dir, name;
    split_path(target, &dir, &name);
    remove_dead_temp_folders(dir);
    // Another run's clean-up may remove the new folder between mkdtemp and the lock; then the path
    // no longer names the locked folder, and a fresh one is made.
    for (int attempt = 0; attempt < 4 && lock_fd_ < 0; ++attempt) {
      std::string pattern = dir + "/." + name + ".tmp-XXXXXX";
      if (::mkdtemp(pattern.data()) == nullptr)
        fail(Status::Io,
             "cannot create a temp folder next to " + target + ": " + std::strerror(errno));
      const int fd = lock_folder(pattern, true);
      struct stat by_fd, by_path;
      if (fd >= 0 && ::fstat(fd, &by_fd) == 0 && ::lstat(pattern.c_str(), &by_path) == 0 &&
          by_fd.st_ino == by_path.st_ino && by_fd.st_dev == by_path.st_dev) {
        lock_fd_ = fd;
        path_ = pattern;
      } else if (fd >= 0) {
        ::close(fd);
      }
    }
    if (lock_fd_ < 0) fail(Status::Io, "cannot create and lock a temp folder next to " + target);
  }
  ~TempFolder() {
    if (!released_) {
      std::error_code ec;
      fs::remove_all(path_, ec);  // best effort: a failure here has already been reported
    }
    ::close(lock_fd_);  // after the removal: no other run may take the folder while it goes
  }
  TempFolder(const TempFolder &) = delete;
  TempFolder &operator=(const TempFolder &) = delete;
  const std::string &path() const { return path_; }
  void release() { released_ = true; }

 private:
  std::string path_;
  int lock_fd_ = -1;
  bool released_ = false;
};

std::string trimmed(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

// A YAML double-quoted scalar.
std::string quoted(const std::string &s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// The base folder's side files to copy (is_hf_side_file), as paths relative to it, sorted. Each is
// checked here, before the weights are written, so that an uploaded base cannot publish a file of
// the host's (its config.json a link to /etc/passwd) in the output. Linked subfolders are not
// entered (a Hugging Face cache snapshot links files, not folders).
std::vector<std::string> side_files_to_copy(const OutputLayout &layout) {
  std::vector<std::string> names;
  std::error_code ec;
  if (!fs::is_directory(layout.base_path, ec)) return names;
  const fs::path root(layout.base_path);
  fs::recursive_directory_iterator it(root, ec), end;
  if (ec) io_error("cannot list " + root.string(), ec);
  for (; it != end; it.increment(ec)) {
    if (ec) io_error("cannot list " + root.string(), ec);
    const fs::path &path = it->path();
    const std::string relative = path.lexically_relative(root).generic_string();
    const bool folder = it->is_directory(ec) && !it->is_symlink(ec);
    if (folder) {
      if (!is_hf_side_folder(relative)) it.disable_recursion_pending();
      continue;
    }
    if (!is_hf_side_file(relative)) continue;
    check_inside_folder(layout.base_path, path.string(), layout.allow_outside_links);
    if (!fs::is_regular_file(path, ec)) continue;  // a FIFO, a socket, a linked folder
    if (names.size() == kMaxHfSideFiles)
      fail(Status::InvalidArgument, root.string() + " holds more than " +
                                        std::to_string(kMaxHfSideFiles) +
                                        " files besides its weights; not a model folder");
    names.push_back(relative);
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string taken_from_base_section(const std::map<std::string, std::string> &metadata) {
  const auto it = metadata.find("fwmerge.recipe");
  if (it == metadata.end()) return "";
  const nlohmann::json recipe = nlohmann::json::parse(it->second, nullptr, false);
  if (recipe.is_discarded() || !recipe.is_object()) return "";
  std::ostringstream s;
  // A model card is for reading: long lists are cut; the metadata keeps all of them.
  const auto list = [&s](const nlohmann::json &names) {
    constexpr size_t kShown = 20;
    size_t shown = 0;
    for (const auto &name : names) {
      if (shown++ == kShown) {
        s << "  - ... and " << (names.size() - kShown) << " more (\"fwmerge.recipe\")\n";
        break;
      }
      s << "  - `" << name.get<std::string>() << "`\n";
    }
  };
  if (recipe.contains("from_base") && !recipe["from_base"].empty()) {
    s << "- The base's integer and bool tensors, not merged:\n";
    list(recipe["from_base"]);
  }
  if (recipe.contains("filled_from_base") && recipe["filled_from_base"].is_object())
    for (const auto &[member, names] : recipe["filled_from_base"].items()) {
      s << "- Tensors `" << member
        << "` lacked, read from the base for it (its task vector is zero "
        << "there):\n";
      list(names);
    }
  const std::string body = s.str();
  return body.empty() ? "" : "\n## Taken from the base\n\n" + body;
}

void write_hf_folder(const std::string &target, const std::vector<OutTensor> &tensors,
                     const std::map<std::string, std::string> &metadata,
                     const TensorProducer &produce, const Poll &stop, const OutputLayout &layout,
                     const std::function<std::string()> &default_card) {
  check_hf_folder_target(target);
  const std::vector<std::string> side_files = side_files_to_copy(layout);
  TempFolder temp(target);
  const fs::path dir(temp.path());
  if (layout.max_shard_bytes == 0) {
    write_safetensors((dir / "model.safetensors").string(), tensors, metadata, produce, stop);
  } else {
    write_sharded(dir.string(), tensors, metadata, layout.max_shard_bytes, produce, stop);
    // One shard: a bare model.safetensors, as transformers writes a model that fits one shard.
    std::error_code ec;
    if (fs::exists(dir / "model-00001-of-00001.safetensors", ec)) {
      fs::rename(dir / "model-00001-of-00001.safetensors", dir / "model.safetensors", ec);
      if (ec) io_error("cannot rename the only shard in " + dir.string(), ec);
      fs::remove(dir / "model.safetensors.index.json", ec);
      if (ec) io_error("cannot remove the index of a single shard in " + dir.string(), ec);
    }
  }
  poll(stop);
  for (const std::string &name : side_files) {
    const fs::path to = dir / name;
    std::error_code ec;
    fs::create_directories(to.parent_path(), ec);
    if (ec) io_error("cannot create " + to.parent_path().string(), ec);
    copy_synced(fs::path(layout.base_path) / name, to);
  }
  {
    const std::string card = (layout.card_given ? layout.model_card : default_card()) +
                             taken_from_base_section(metadata);
    TempFile readme((dir / "README.md").string());
    readme.write(card.data(), card.size());
    readme.finish();
    readme.commit();
  }
  fsync_dir(dir.string());
  // An empty target folder is replaced (rename(2) allows that for folders); nothing else is.
  if (::rename(temp.path().c_str(), target.c_str()) != 0)
    fail(Status::Io,
         "cannot rename " + temp.path() + " to " + target + ": " + std::strerror(errno));
  temp.release();
  std::string parent, name;
  split_path(target, &parent, &name);
  fsync_dir(parent);
}

}  // namespace

namespace {

bool ends_with(const std::string &s, const char *suffix) {
  const size_t n = std::strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

}  // namespace

bool is_hf_side_folder(const std::string &relative) {
  // Hidden folders (.git, .cache) are not the model's; onnx/ and openvino/ hold exports of the
  // base's own weights, which the merge's folder must not pass off as its own.
  const std::string first = relative.substr(0, relative.find('/'));
  return !first.empty() && first[0] != '.' && first != "onnx" && first != "openvino";
}

bool is_hf_side_file(const std::string &relative) {
  const size_t slash = relative.rfind('/');
  const std::string name = slash == std::string::npos ? relative : relative.substr(slash + 1);
  if (name.empty() || name[0] == '.') return false;
  if (slash != std::string::npos && !is_hf_side_folder(relative.substr(0, slash))) return false;
  // The output writes its own weights, index and card; an adapter config describes an adapter.
  if (relative == "README.md" || name == "adapter_config.json") return false;
  for (const char *weights :
       {".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".h5", ".msgpack", ".onnx", ".onnx_data",
        ".gguf", ".ot", ".tflite", ".npz", ".index.json"})
    if (ends_with(name, weights)) return false;
  return true;
}

void check_hf_folder_target(const std::string &path) {
  std::error_code ec;
  const fs::file_status st = fs::symlink_status(trimmed(path), ec);
  if (!fs::exists(st)) return;
  if (!fs::is_directory(st) || !fs::is_empty(trimmed(path), ec))
    fail(Status::InvalidArgument,
         path +
             " exists and is not an empty folder: a Hugging Face folder output needs a new "
             "or empty one");
}

void write_output(const std::string &path, const std::vector<OutTensor> &tensors,
                  const std::map<std::string, std::string> &metadata, const TensorProducer &produce,
                  const Poll &stop, const OutputLayout &layout,
                  const std::function<std::string()> &default_card) {
  if (layout.hf_folder)
    write_hf_folder(trimmed(path), tensors, metadata, produce, stop, layout, default_card);
  else if (layout.max_shard_bytes == 0)
    write_safetensors(path, tensors, metadata, produce, stop);
  else
    write_sharded(path, tensors, metadata, layout.max_shard_bytes, produce, stop);
}

std::string default_model_card(const std::string &base_path, const std::string &title,
                               const std::string &recipe_json) {
  std::ostringstream s;
  s << "---\n";
  std::error_code ec;
  if (fs::is_directory(base_path, ec)) s << "base_model:\n  - " << quoted(base_path) << "\n";
  s << "library_name: transformers\ntags:\n  - merge\n  - fwmerge\n---\n\n";
  s << "# Merged model\n\n"
    << title << " with fwmerge " FWMERGE_CORE_VERSION ", base `" << base_path
    << "`.\n\n## Recipe\n\n```json\n";
  const nlohmann::json recipe = nlohmann::json::parse(recipe_json, nullptr, false);
  s << (recipe.is_discarded() ? recipe_json : recipe.dump(2)) << "\n```\n";
  return s.str();
}

}  // namespace fw
