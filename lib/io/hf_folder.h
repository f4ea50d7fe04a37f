// Where fw_solver_export and fw_merge put the merged tensors (fw_export_options): one .safetensors
// file, a folder of shards + index, or a Hugging Face model folder laid out as transformers'
// save_pretrained does, so that from_pretrained loads it: the weights (model.safetensors when they
// fit one shard, else shards + index), the base folder's other files (config, tokenizer, ...), and
// a README.md model card. The folder is built in a hidden sibling temp folder and renamed into
// place, so the target holds the whole result or nothing.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "io/safetensors_writer.h"
#include "util/poll.h"

namespace fw {

// What a Hugging Face folder export copies from the base model's folder: every file but weights,
// so that the merge loads as the base did (config and tokenizer files, and the side files of
// libraries such as sentence-transformers: modules.json, 1_Pooling/config.json, ...).
// `relative` is a path inside the base folder ("1_Pooling/config.json"). Not copied: weight files
// (.safetensors, .bin, .pt, .pth, .ckpt, .h5, .msgpack, .onnx, .gguf, ... and *.index.json),
// README.md (the output has its own card), adapter_config.json, hidden files and folders, and
// the onnx/ and openvino/ folders (exports of the base's weights).
bool is_hf_side_file(const std::string &relative);
bool is_hf_side_folder(const std::string &relative);
// At most this many side files (a folder with more is not a model folder someone meant to merge).
constexpr size_t kMaxHfSideFiles = 10000;

struct OutputLayout {
  uint64_t max_shard_bytes = 0;  // 0: one file (or, in a folder, no shard limit)
  bool hf_folder = false;
  bool card_given = false;  // hf_folder: model_card is the README.md; else default_card() is
  std::string model_card;
  std::string base_path;  // hf_folder: the side files come from here when it is a folder
  // hf_folder: copy side files that are symbolic links out of base_path (folder_links.h); else
  // such a file is Status::InvalidArgument, checked before anything is written.
  bool allow_outside_links = false;
};

// Status::InvalidArgument when `path` cannot receive a Hugging Face folder: it exists and is not
// an empty folder. fw_merge checks it before reading anything.
void check_hf_folder_target(const std::string &path);

// Writes `tensors` (their bytes from `produce`) at `path` as `layout` says. `default_card` is
// called for the README.md when the layout has no card of its own. Every failure (Status::Io, a
// throwing `stop`) leaves nothing new at `path`.
void write_output(const std::string &path, const std::vector<OutTensor> &tensors,
                  const std::map<std::string, std::string> &metadata, const TensorProducer &produce,
                  const Poll &stop, const OutputLayout &layout,
                  const std::function<std::string()> &default_card);

// What write_output appends to every model card (given or default) of an HF folder: a "Taken from
// the base" section listing the recipe's (metadata "fwmerge.recipe") "from_base" buffers and, per
// member, its "filled_from_base" tensors; "" when there are none.
std::string taken_from_base_section(const std::map<std::string, std::string> &metadata);

// The library's own model card of a merge: front matter (base_model when the base is a folder,
// library_name, tags), a line on what was merged, and the recipe JSON.
std::string default_model_card(const std::string &base_path, const std::string &title,
                               const std::string &recipe_json);

}  // namespace fw
