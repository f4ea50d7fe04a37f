// Atomic safetensors writer, byte-compatible with the reference `safetensors` package (0.4 - 0.8):
// compact header, "__metadata__" first, tensors by dtype rank descending then by name, header
// padded with spaces to a multiple of 8. The reference keeps __metadata__ in a hash map (random key
// order); we write its keys sorted, which equals the reference whenever it has at most one key.
#include "io/safetensors_writer.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "io/atomic_file.h"
#include "util/error.h"

namespace fw {
namespace {

// Position of the dtype in the reference's `Dtype` enum, whose derived order the reference sorts
// by (descending) before the name; it groups dtypes by alignment, widest first.
int reference_rank(DType dtype) {
  switch (dtype) {
    case DType::BOOL:
      return 0;
    case DType::F4:
      return 1;
    case DType::F6_E2M3:
      return 2;
    case DType::F6_E3M2:
      return 3;
    case DType::U8:
      return 4;
    case DType::I8:
      return 5;
    case DType::F8_E5M2:
      return 6;
    case DType::F8_E4M3:
      return 7;
    case DType::F8_E8M0:
      return 8;
    case DType::F8_E4M3FNUZ:
      return 9;
    case DType::F8_E5M2FNUZ:
      return 10;
    case DType::I16:
      return 11;
    case DType::U16:
      return 12;
    case DType::F16:
      return 13;
    case DType::BF16:
      return 14;
    case DType::I32:
      return 15;
    case DType::U32:
      return 16;
    case DType::F32:
      return 17;
    case DType::C64:
      return 18;
    case DType::F64:
      return 19;
    case DType::I64:
      return 20;
    case DType::U64:
      return 21;
  }
  return 0;
}

std::string json_string(const std::string &text, const std::string &what) {
  try {
    return nlohmann::json(text).dump();
  } catch (const nlohmann::json::exception &) {
    fail(Status::InvalidArgument, what + " is not valid UTF-8");
  }
}

std::string shape_text(const std::vector<int64_t> &shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? "," : "") + std::to_string(shape[i]);
  return out + "]";
}

void check_tensor(const OutTensor &t, bool streamed) {
  const std::string what = "tensor \"" + t.name + "\"";
  if (t.name == "__metadata__")
    fail(Status::InvalidArgument, "a tensor cannot be named __metadata__");
  uint64_t numel = 1;
  for (int64_t d : t.shape) {
    if (d < 0) fail(Status::InvalidArgument, what + " has a negative dimension");
    if (d != 0 && numel > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) /
                              static_cast<uint64_t>(d)) {
      fail(Status::InvalidArgument, what + ": element count overflows");
    }
    numel *= static_cast<uint64_t>(d);
  }
  const uint64_t bits = static_cast<uint64_t>(dtype_bits(t.dtype));
  if (numel > std::numeric_limits<uint64_t>::max() / bits || (numel * bits) % 8 != 0 ||
      numel * bits / 8 != t.nbytes) {
    fail(Status::InvalidArgument, what + ": " + std::to_string(t.nbytes) + " bytes do not hold " +
                                      dtype_name(t.dtype) + " " + shape_text(t.shape));
  }
  if (!streamed && t.nbytes > 0 && t.data == nullptr)
    fail(Status::InvalidArgument, what + " has no data");
}

// Validates and returns the tensors in file order.
std::vector<const OutTensor *> file_order(const std::vector<const OutTensor *> &tensors,
                                          bool streamed) {
  std::vector<const OutTensor *> order;
  std::set<std::string> names;
  for (const OutTensor *p : tensors) {
    const OutTensor &t = *p;
    check_tensor(t, streamed);
    if (!names.insert(t.name).second) {
      fail(Status::InvalidArgument, "tensor name \"" + t.name + "\" appears twice");
    }
    order.push_back(&t);
  }
  std::sort(order.begin(), order.end(), [](const OutTensor *a, const OutTensor *b) {
    const int ra = reference_rank(a->dtype), rb = reference_rank(b->dtype);
    return ra != rb ? ra > rb : a->name < b->name;
  });
  return order;
}

std::string build_header(const std::vector<const OutTensor *> &order,
                         const std::map<std::string, std::string> &metadata) {
  std::vector<std::string> parts;
  if (!metadata.empty()) {
    std::string meta = "\"__metadata__\":{";
    bool first = true;
    for (const auto &kv : metadata) {
      meta += (first ? "" : ",") + json_string(kv.first, "metadata key") + ":" +
              json_string(kv.second, "metadata value of \"" + kv.first + "\"");
      first = false;
    }
    parts.push_back(meta + "}");
  }
  uint64_t offset = 0;
  for (const OutTensor *t : order) {
    parts.push_back(json_string(t->name, "tensor name") + ":{\"dtype\":\"" + dtype_name(t->dtype) +
                    "\",\"shape\":" + shape_text(t->shape) + ",\"data_offsets\":[" +
                    std::to_string(offset) + "," + std::to_string(offset + t->nbytes) + "]}");
    offset += t->nbytes;
  }
  std::string header = "{";
  for (size_t i = 0; i < parts.size(); ++i) header += (i ? "," : "") + parts[i];
  header += "}";
  header.append((8 - header.size() % 8) % 8, ' ');
  return header;
}

std::vector<const OutTensor *> pointers(const std::vector<OutTensor> &tensors) {
  std::vector<const OutTensor *> out;
  for (const OutTensor &t : tensors) out.push_back(&t);
  return out;
}

// The producer of in-memory tensors: their data in 64 MiB pieces, so that a stop request is
// honoured within one piece even for a GB-sized tensor.
TensorProducer from_memory(const std::vector<OutTensor> &tensors) {
  return [&tensors](size_t index, const ByteEmitter &emit) {
    constexpr uint64_t kPiece = uint64_t{64} << 20;
    const OutTensor &t = tensors[index];
    for (uint64_t done = 0; done < t.nbytes; done += kPiece)
      emit(static_cast<const char *>(t.data) + done, std::min(kPiece, t.nbytes - done));
  };
}

// Writes the whole file into `out` (not yet committed). `tensors` point into `all`, whose
// positions are the producer's indices.
void write_contents(TempFile &out, const std::vector<const OutTensor *> &tensors,
                    const std::vector<OutTensor> &all,
                    const std::map<std::string, std::string> &metadata,
                    const TensorProducer &produce, const Poll &stop) {
  const std::vector<const OutTensor *> order = file_order(tensors, true);
  const std::string header = build_header(order, metadata);
  uint8_t len[8];
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i, n >>= 8) len[i] = static_cast<uint8_t>(n & 0xFF);
  out.write(len, sizeof(len));
  out.write(header.data(), header.size());
  constexpr uint64_t kPollEvery = uint64_t{64} << 20;
  for (const OutTensor *t : order) {
    poll(stop);
    uint64_t written = 0, since_poll = 0;
    produce(static_cast<size_t>(t - all.data()), [&](const void *data, size_t size) {
      if (size > t->nbytes - written)
        fail(Status::Internal, "tensor \"" + t->name + "\": producer wrote more than " +
                                   std::to_string(t->nbytes) + " bytes");
      out.write(data, size);
      written += size;
      since_poll += size;
      if (since_poll >= kPollEvery) {
        since_poll = 0;
        poll(stop);
      }
    });
    if (written != t->nbytes)
      fail(Status::Internal, "tensor \"" + t->name + "\": producer wrote " +
                                 std::to_string(written) + " of " + std::to_string(t->nbytes) +
                                 " bytes");
  }
  poll(stop);
  out.finish();
}

// mkdir -p; appends the folders it created (outermost first) to `created`.
void make_dirs(const std::string &dir, std::vector<std::string> *created) {
  for (size_t pos = dir.find('/', 1);; pos = dir.find('/', pos + 1)) {
    const std::string prefix = dir.substr(0, pos);
    if (::mkdir(prefix.c_str(), 0755) == 0) {
      created->push_back(prefix);
    } else if (errno != EEXIST) {
      fail(Status::Io, "cannot create directory " + prefix + ": " + std::strerror(errno));
    } else {
      struct stat st;
      if (::stat(prefix.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        fail(Status::Io, "cannot create directory " + dir + ": " + prefix + " is not a directory");
      }
    }
    if (pos == std::string::npos) break;
  }
}

const char kIndexName[] = "model.safetensors.index.json";

std::string shard_name(size_t index, size_t count) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "model-%05zu-of-%05zu.safetensors", index + 1, count);
  return buf;
}

// Whether `name` is a shard name our writer (or Hugging Face's, same scheme) could produce:
// exactly shard_name(i - 1, n) for some 1 <= i <= n. Other names in the folder are never ours.
bool is_shard_name(const std::string &name) {
  // Parse the two numbers, then require the canonical spelling: the round trip rejects signs,
  // spaces, other paddings and trailing text that sscanf alone would let through.
  size_t i = 0, n = 0;
  if (std::sscanf(name.c_str(), "model-%15zu-of-%15zu", &i, &n) != 2 || i == 0 || i > n) {
    return false;
  }
  return shard_name(i - 1, n) == name;
}

// Removes the shards of `dir` that are not in `keep` (see write_sharded in the header), then
// fsyncs the folder. Runs after the new export is committed, so a failure cannot undo it: it is
// reported as Status::Io naming the first file that stays.
void remove_old_shards(const std::string &dir, const std::set<std::string> &keep) {
  const std::string committed = "export to " + dir + " is committed, but ";
  const std::string leftover = "; the folder still holds shard files its index does not list";
  DIR *d = ::opendir(dir.c_str());
  if (d == nullptr) {
    fail(Status::Io,
         committed + "cannot list it to remove old shards: " + std::strerror(errno) + leftover);
  }
  const int dfd = ::dirfd(d);
  std::vector<std::string> old;  // unlinked after the scan, not while readdir walks the folder
  while (const dirent *e = ::readdir(d)) {
    const std::string entry = e->d_name;
    if (is_shard_name(entry) && keep.count(entry) == 0) old.push_back(entry);
  }
  std::sort(old.begin(), old.end());
  std::string failed;
  size_t removed = 0;
  for (const std::string &entry : old) {
    if (::unlinkat(dfd, entry.c_str(), 0) == 0) {
      ++removed;
    } else if (failed.empty()) {
      failed = "cannot remove old shard " + dir + "/" + entry + ": " + std::strerror(errno);
    }
  }
  ::closedir(d);
  if (removed > 0) {
    try {
      fsync_dir(dir);
    } catch (const Error &e) {
      if (failed.empty()) failed = e.what();
    }
  }
  if (!failed.empty()) fail(Status::Io, committed + failed + leftover);
}

}  // namespace

void write_safetensors(const std::string &path, const std::vector<OutTensor> &tensors,
                       const std::map<std::string, std::string> &metadata, const Poll &stop) {
  file_order(pointers(tensors), false);  // no data: an argument error, not a producer's
  write_safetensors(path, tensors, metadata, from_memory(tensors), stop);
}

void write_safetensors(const std::string &path, const std::vector<OutTensor> &tensors,
                       const std::map<std::string, std::string> &metadata,
                       const TensorProducer &produce, const Poll &stop) {
  file_order(pointers(tensors), true);  // argument errors before anything touches the disk
  std::string dir, name;
  split_path(path, &dir, &name);
  // Garbage first: frees the space a killed export of this target held.
  if (!name.empty()) remove_stale_temps(dir, [&](const std::string &t) { return t == name; });
  TempFile out(path);
  write_contents(out, pointers(tensors), tensors, metadata, produce, stop);
  out.commit();
  fsync_dir(dir);
}

void write_sharded(const std::string &dir, const std::vector<OutTensor> &tensors,
                   const std::map<std::string, std::string> &metadata, uint64_t max_shard_bytes,
                   const Poll &stop) {
  file_order(pointers(tensors), false);
  write_sharded(dir, tensors, metadata, max_shard_bytes, from_memory(tensors), stop);
}

void write_sharded(const std::string &dir, const std::vector<OutTensor> &tensors,
                   const std::map<std::string, std::string> &metadata, uint64_t max_shard_bytes,
                   const TensorProducer &produce, const Poll &stop) {
  if (max_shard_bytes == 0) fail(Status::InvalidArgument, "max_shard_bytes must be > 0");
  if (dir.empty()) fail(Status::InvalidArgument, "empty output folder path");
  file_order(pointers(tensors), true);

  // Greedy packing in name order, as Hugging Face's split_torch_state_dict_into_shards: a tensor
  // larger than the limit goes to a shard of its own, appended before the shard being filled.
  std::vector<const OutTensor *> by_name = pointers(tensors);
  std::sort(by_name.begin(), by_name.end(),
            [](const OutTensor *a, const OutTensor *b) { return a->name < b->name; });
  std::vector<std::vector<const OutTensor *>> shards;
  std::vector<const OutTensor *> current;
  uint64_t current_bytes = 0, total_size = 0;
  for (const OutTensor *t : by_name) {
    total_size += t->nbytes;
    if (t->nbytes > max_shard_bytes) {
      shards.push_back({t});
      continue;
    }
    if (current_bytes + t->nbytes > max_shard_bytes) {
      shards.push_back(std::move(current));
      current.clear();
      current_bytes = 0;
    }
    current.push_back(t);
    current_bytes += t->nbytes;
  }
  if (!current.empty() || shards.empty()) shards.push_back(std::move(current));

  std::vector<std::vector<std::string>> names(shards.size());
  for (size_t i = 0; i < shards.size(); ++i)
    for (const OutTensor *t : shards[i]) names[i].push_back(t->name);
  std::vector<size_t> all(shards.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  write_shard_set(dir, names, total_size, all, true, tensors, metadata, produce, stop,
                  [](const char *, const std::function<void()> &work) { work(); });
}

void write_shard_set(const std::string &dir, const std::vector<std::vector<std::string>> &shards,
                     uint64_t total_size, const std::vector<size_t> &mine, bool lead,
                     const std::vector<OutTensor> &tensors,
                     const std::map<std::string, std::string> &metadata,
                     const TensorProducer &produce, const Poll &stop, const WritePhase &phase) {
  if (dir.empty()) fail(Status::InvalidArgument, "empty output folder path");
  std::map<std::string, const OutTensor *> by_name;
  for (const OutTensor &t : tensors) by_name[t.name] = &t;
  std::vector<std::string> created_dirs;
  std::vector<std::string> committed;
  std::set<std::string> new_shards;
  nlohmann::json weight_map = nlohmann::json::object();
  for (size_t i = 0; i < shards.size(); ++i) {
    new_shards.insert(shard_name(i, shards.size()));
    for (const std::string &name : shards[i]) weight_map[name] = shard_name(i, shards.size());
  }
  std::vector<std::unique_ptr<TempFile>> files;
  std::unique_ptr<TempFile> index_file;
  try {
    phase("the preparation of its export folder", [&] {
      if (!lead) return;
      make_dirs(dir, &created_dirs);
      // Garbage first (temps of any shard set, as a killed export may have had another count):
      // frees the space it held before the new shards need it.
      remove_stale_temps(dir,
                         [](const std::string &t) { return is_shard_name(t) || t == kIndexName; });
    });
    phase("the writing of its shards", [&] {
      if (!lead) make_dirs(dir, &created_dirs);
      for (size_t i : mine) {
        std::vector<const OutTensor *> shard;
        for (const std::string &name : shards[i]) {
          const auto it = by_name.find(name);
          if (it == by_name.end())
            fail(Status::Internal, "shard " + std::to_string(i) + " names '" + name +
                                       "', which this process does not hold");
          shard.push_back(it->second);
        }
        files.push_back(std::make_unique<TempFile>(dir + "/" + shard_name(i, shards.size())));
        write_contents(*files.back(), shard, tensors, metadata, produce, stop);
      }
      if (!lead) return;
      // Written now, committed last: a full disk fails the export before anything is renamed.
      nlohmann::json index = {{"metadata", {{"total_size", total_size}}},
                              {"weight_map", weight_map}};
      const std::string index_text = index.dump(2) + "\n";  // transformers' layout
      index_file = std::make_unique<TempFile>(dir + "/" + kIndexName);
      index_file->write(index_text.data(), index_text.size());
      index_file->finish();
    });
    phase("the commit of its shards", [&] {
      poll(stop);  // the last moment to stop: from here on the export is committed
      for (auto &file : files) {
        file->commit();
        committed.push_back(file->final_path());
      }
    });
    phase("the index of its export", [&] {
      if (!lead) return;
      index_file->commit();  // the index is last
      committed.push_back(index_file->final_path());
      fsync_dir(dir);
    });
  } catch (...) {
    files.clear();  // removes the temps not committed, before the folders they are in
    index_file.reset();
    for (const std::string &path : committed) ::unlink(path.c_str());
    // The folders the lead created go once every process has removed its files from them (one
    // more phase: its collective waits for all); a rank that is gone makes it fail, and the
    // folders are then removed as far as they are empty.
    try {
      phase("the clean-up of its failed export", [] {});
    } catch (...) {
    }
    for (auto it = created_dirs.rbegin(); it != created_dirs.rend(); ++it) ::rmdir(it->c_str());
    throw;
  }
  // Outside the try: the new export is durable now, and nothing after this point may roll it back.
  if (lead) remove_old_shards(dir, new_shards);
}

}  // namespace fw
