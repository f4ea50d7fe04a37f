#include "io/folder_links.h"

#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstring>

#include "util/error.h"

namespace fw {
namespace {

// realpath(3), or "" with errno set.
std::string real_path(const std::string &path) {
  char *resolved = ::realpath(path.c_str(), nullptr);
  if (resolved == nullptr) return "";
  std::string out(resolved);
  ::free(resolved);
  return out;
}

std::string parent_of(const std::string &path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos || slash == 0 ? "/" : path.substr(0, slash);
}

std::string name_of(const std::string &path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// The folder whose inside `folder`'s links may reach: the cached repository of a Hugging Face
// cache snapshot (blobs/ holds the files its snapshots link to), else the folder itself.
std::string confinement_root(const std::string &real_folder) {
  const std::string snapshots = parent_of(real_folder);
  const std::string repo = parent_of(snapshots);
  if (name_of(snapshots) == "snapshots" && name_of(repo).rfind("models--", 0) == 0 &&
      name_of(repo).size() > std::strlen("models--"))
    return repo;
  return real_folder;
}

bool is_inside(const std::string &path, const std::string &root) {
  if (root == "/") return true;
  return path.size() > root.size() && path.compare(0, root.size(), root) == 0 &&
         path[root.size()] == '/';
}

// What `file` points to as the link says it (readlink), for the message; its resolution otherwise.
std::string link_target(const std::string &file, const std::string &resolved) {
  char buf[PATH_MAX];
  const ssize_t n = ::readlink(file.c_str(), buf, sizeof buf - 1);
  if (n <= 0) return resolved;
  const std::string target(buf, static_cast<size_t>(n));
  return target == resolved ? target : target + " (" + resolved + ")";
}

}  // namespace

void check_inside_folder(const std::string &folder, const std::string &file, bool allow_outside) {
  if (allow_outside) return;
  const std::string resolved = real_path(file);
  // Missing or unreadable (a dangling link too): the caller's open fails and says why.
  if (resolved.empty()) return;
  const std::string real_folder = real_path(folder);
  if (real_folder.empty()) return;  // the folder went away: the open fails and says so
  const std::string root = confinement_root(real_folder);
  if (resolved == root || is_inside(resolved, root)) return;
  fail(Status::InvalidArgument,
       file + " points to " + link_target(file, resolved) + ", outside the folder " + folder +
           (root == real_folder ? "" : " and its cached repository " + root) +
           "; links out of a model folder are read only when the host allows them "
           "(allow_outside_links; fwmerge --allow-outside-links)");
}

}  // namespace fw
