// Checkpoint files of the demo. Writing goes through the library's public C API (fw_save_tensors),
// as any host would; reading is a small F32-only safetensors reader, because the demo only ever
// reads back files it wrote itself (and fwmerge's exports, which keep the base dtype: F32).
#pragma once

#include <map>
#include <string>

#include "model.h"

namespace demo {

// Writes fp32 tensors (contiguous CPU) with string metadata. Throws std::runtime_error with
// fw_last_error() text on failure.
void save_tensors(const std::string &path, const NamedTensors &tensors,
                  const std::map<std::string, std::string> &metadata = {});

struct LoadedTensors {
  NamedTensors tensors;  // in file order
  std::map<std::string, std::string> metadata;
};

// Reads an F32 .safetensors file. Throws DataError ("io", "format", "dtype").
LoadedTensors load_tensors(const std::string &path);

// Reorders/selects tensors by name (throws DataError "missing" if one is absent).
NamedTensors select(const NamedTensors &from, const std::vector<std::string> &names);

}  // namespace demo
