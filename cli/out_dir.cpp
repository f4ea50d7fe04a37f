#include "out_dir.h"

#include <algorithm>
#include <filesystem>
#include <stdexcept>
#include <system_error>

namespace fs = std::filesystem;

namespace fwcli {

void require_new_folder(const std::string &out_dir) {
  std::error_code ec;
  if (!fs::exists(out_dir, ec)) return;
  if (!fs::is_directory(out_dir, ec) || !fs::is_empty(out_dir, ec))
    throw std::runtime_error(out_dir + " exists and is not an empty folder: choose a new OUT_DIR");
}

std::vector<std::string> folder_files(const std::string &dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto &e : fs::directory_iterator(dir, ec)) names.push_back(e.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace fwcli
