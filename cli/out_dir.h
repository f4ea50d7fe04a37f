// OUT_DIR of `fwmerge merge` and `fwmerge fw`: the library writes it as a Hugging Face folder
// (fw_export_options.hf_folder); the command only checks it up front, so that a long run does not
// end in a refused export, and lists what was written.
#pragma once

#include <string>
#include <vector>

namespace fwcli {

// std::runtime_error when `out_dir` exists and is not an empty folder.
void require_new_folder(const std::string &out_dir);

// The names of the files in `dir`, sorted.
std::vector<std::string> folder_files(const std::string &dir);

}  // namespace fwcli
