// Confinement of a checkpoint folder's files: a model or adapter folder uploaded by someone else
// may hold symbolic links, and following one that leads out of the folder would read (and, for the
// config and tokenizer files an export copies, publish) any file the process can read.
#pragma once

#include <string>

namespace fw {

// Status::InvalidArgument naming `file` and where it points when `file` (a path inside `folder`,
// as `folder` + "/" + name) resolves, through symbolic links, to a place outside `folder`, unless
// `allow_outside` (the host's explicit opt-in: fw_params / fw_merge_params.allow_outside_links).
// A folder that is a Hugging Face cache snapshot (its real path is
// `.../models--<org>--<name>/snapshots/<rev>`) admits links into its cached repository
// (`snapshots/<rev>/<file> -> ../../blobs/<hash>`). A file that does not exist passes: the
// caller's open reports it.
void check_inside_folder(const std::string &folder, const std::string &file, bool allow_outside);

}  // namespace fw
