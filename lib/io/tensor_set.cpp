#include "io/tensor_set.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "io/folder_links.h"
#include "io/hf_index.h"
#include "io/safetensors_reader.h"
#include "util/error.h"

namespace fw {

namespace {

bool is_file(const std::string &path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// The files behind `path`, in checkpoint order (open_checkpoint's rules, adapters as stored).
std::vector<std::unique_ptr<SafetensorsFile>> open_files(const std::string &path,
                                                         bool allow_outside_links) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    fail(Status::Io, "cannot open " + path + ": " + std::strerror(errno));
  std::vector<std::unique_ptr<SafetensorsFile>> files;
  if (!S_ISDIR(st.st_mode)) {
    files.push_back(SafetensorsFile::open(path));
  } else if (is_file(path + "/adapter_config.json")) {
    check_inside_folder(path, path + "/adapter_model.safetensors", allow_outside_links);
    files.push_back(SafetensorsFile::open(path + "/adapter_model.safetensors"));
  } else if (is_file(path + "/model.safetensors.index.json")) {
    files = open_sharded_folder(path, allow_outside_links);
  } else if (is_file(path + "/model.safetensors")) {
    check_inside_folder(path, path + "/model.safetensors", allow_outside_links);
    files.push_back(SafetensorsFile::open(path + "/model.safetensors"));
  } else {
    fail_format("folder_no_checkpoint", path +
                                            " holds no model.safetensors, "
                                            "model.safetensors.index.json or adapter_config.json");
  }
  return files;
}

}  // namespace

TensorSet load_tensor_set(const std::string &path, bool header_only, bool allow_outside_links) {
  const std::vector<std::unique_ptr<SafetensorsFile>> files = open_files(path, allow_outside_links);
  TensorSet set;
  set.metadata = files.front()->metadata();
  for (const auto &file : files) {
    for (const TensorEntry &entry : file->tensors()) {
      LoadedTensor t{entry.name, entry.dtype, entry.shape, entry.numel, entry.nbytes, at::Tensor()};
      if (!header_only) {
        if (!is_host_storage(entry.dtype))
          fail(Status::Unsupported, file->path() + ": tensor \"" + entry.name + "\" has dtype " +
                                        dtype_name(entry.dtype) +
                                        ", which fw_dtype does not name (read its header only)");
        t.bytes = at::empty({static_cast<int64_t>(entry.nbytes)}, at::kByte);
        if (entry.nbytes > 0) file->read_bytes(entry, 0, entry.nbytes, t.bytes.data_ptr());
      }
      set.tensors.push_back(std::move(t));
    }
  }
  return set;
}

}  // namespace fw
