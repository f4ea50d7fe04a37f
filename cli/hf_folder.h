// A Hugging Face model folder as the output of `fwmerge merge`: model.safetensors (one file when
// the model fits one shard) or shards + model.safetensors.index.json, the base folder's config,
// generation config and tokenizer files, and a README.md model card with the recipe. Built in a
// sibling temp folder and renamed into place, so OUT_DIR holds either the whole result or nothing.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace fwcli {

// Files copied from the base model's folder when present (configuration and tokenizer).
const std::vector<std::string> &hf_side_files();

class OutputFolder {
 public:
  // Fails (std::runtime_error) when `out_dir` exists and is not an empty folder.
  explicit OutputFolder(std::string out_dir);
  ~OutputFolder();  // removes the temp folder unless commit() ran
  OutputFolder(const OutputFolder &) = delete;
  OutputFolder &operator=(const OutputFolder &) = delete;

  // Where the weights go: a folder path for fw_merge / fw_export with max_shard_bytes > 0.
  std::string shards_path() const { return temp_ + "/shards"; }

  // After the weights are written: unpacks the shards folder (one shard becomes
  // model.safetensors), copies the side files of `base` (a folder; a file has none), writes
  // README.md, fsyncs and renames the temp folder to out_dir. Returns the names written.
  std::vector<std::string> commit(const std::string &base, const std::string &model_card);

 private:
  std::string out_, temp_;
  bool committed_ = false;
};

}  // namespace fwcli
