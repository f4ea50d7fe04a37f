#include "hf_folder.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <system_error>

namespace fs = std::filesystem;

namespace fwcli {
namespace {

void fsync_path(const fs::path &p) {
  const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("cannot open " + p.string() + ": " + std::strerror(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) throw std::runtime_error("cannot fsync " + p.string() + ": " + std::strerror(err));
}

}  // namespace

const std::vector<std::string> &hf_side_files() {
  static const std::vector<std::string> files = {
      "config.json",     "generation_config.json",  "tokenizer.json",    "tokenizer_config.json",
      "tokenizer.model", "special_tokens_map.json", "added_tokens.json", "vocab.json",
      "merges.txt",      "chat_template.jinja"};
  return files;
}

OutputFolder::OutputFolder(std::string out_dir) : out_(std::move(out_dir)) {
  while (out_.size() > 1 && out_.back() == '/') out_.pop_back();
  std::error_code ec;
  if (fs::exists(out_, ec)) {
    if (!fs::is_directory(out_, ec) || !fs::is_empty(out_, ec))
      throw std::runtime_error(out_ + " exists and is not an empty folder: choose a new OUT_DIR");
  }
  temp_ = out_ + ".fwmerge-partial-" + std::to_string(::getpid());
  fs::remove_all(temp_, ec);  // a leftover of a killed run with the same pid
  if (!fs::create_directories(temp_, ec) || ec)
    throw std::runtime_error("cannot create " + temp_ + ": " + ec.message());
}

OutputFolder::~OutputFolder() {
  if (committed_) return;
  std::error_code ec;
  fs::remove_all(temp_, ec);
}

std::vector<std::string> OutputFolder::commit(const std::string &base,
                                              const std::string &model_card) {
  const fs::path temp(temp_), shards(shards_path());
  std::vector<fs::path> files;
  for (const auto &e : fs::directory_iterator(shards)) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  const bool one_shard =
      files.size() == 2 && fs::exists(shards / "model-00001-of-00001.safetensors");
  if (one_shard) {
    // A bare model.safetensors, as transformers writes a model that fits one shard.
    fs::rename(shards / "model-00001-of-00001.safetensors", temp / "model.safetensors");
  } else {
    for (const fs::path &f : files) fs::rename(f, temp / f.filename());
  }
  fs::remove_all(shards);

  std::error_code ec;
  if (fs::is_directory(base, ec))
    for (const std::string &name : hf_side_files())
      if (fs::is_regular_file(fs::path(base) / name, ec))
        fs::copy_file(fs::path(base) / name, temp / name);
  {
    std::ofstream card(temp / "README.md", std::ios::binary);
    card << model_card;
    card.flush();
    if (!card) throw std::runtime_error("cannot write " + (temp / "README.md").string());
  }
  std::vector<std::string> names;
  for (const auto &e : fs::directory_iterator(temp)) {
    fsync_path(e.path());
    names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  fsync_path(temp);
  // An empty OUT_DIR is replaced (rename(2) allows that for folders); nothing else is.
  if (::rename(temp_.c_str(), out_.c_str()) != 0)
    throw std::runtime_error("cannot rename " + temp_ + " to " + out_ + ": " +
                             std::strerror(errno));
  committed_ = true;
  fsync_path(fs::absolute(out_).parent_path());
  return names;
}

}  // namespace fwcli
