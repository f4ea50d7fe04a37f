// `fwmerge inspect PATH`: the tensors, dtypes, shapes, sizes and metadata of a checkpoint (a
// .safetensors file, a Hugging Face folder, a PEFT adapter folder), read through fw_load_tensors
// with FW_LOAD_FLAG_HEADER_ONLY, so it validates exactly as the library does and reads no tensor
// data.
#pragma once

#include <cstdio>
#include <string>

namespace fwcli {

struct InspectOptions {
  bool json = false;                 // one JSON document instead of the table
  bool full_metadata = false;        // metadata values untruncated
  bool allow_outside_links = false;  // FW_LOAD_FLAG_ALLOW_OUTSIDE_LINKS (--allow-outside-links)
};

// `text` with control characters (C0, DEL, C1) written as \xNN / \u00NN: tensor names and
// metadata come from the file, and raw escape sequences would drive the user's terminal.
std::string printable(const std::string &text);

// Prints to `out`; returns the exit status (0, or 1 with the library's message on stderr).
int run_inspect(const std::string &path, const InspectOptions &options, std::FILE *out);

}  // namespace fwcli
