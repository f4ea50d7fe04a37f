// Atomic safetensors writer (single file, or Hugging Face shards + index).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "io/dtype.h"
#include "util/poll.h"

namespace fw {

struct OutTensor {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  const void *data;  // nbytes little-endian bytes of `dtype`; unused (may be null) with a producer
  uint64_t nbytes;
};

// Streamed output: the writer asks for each tensor's bytes when it reaches it in file order, and
// the producer hands them over in consecutive pieces through `emit` (sizes adding up to nbytes,
// which the writer checks: Status::Internal otherwise). A merge writes each tensor chunk by chunk
// as it computes it instead of holding the whole model. `index` is the tensor's position in the
// vector given to the writer.
using ByteEmitter = std::function<void(const void *data, size_t size)>;
using TensorProducer = std::function<void(size_t index, const ByteEmitter &emit)>;

// Writes one file byte-compatible with the reference implementation: header JSON with
// "__metadata__" first, tensors ordered by dtype alignment (widest first) then name, padded with
// spaces to a multiple of 8. Temp file in the same folder + fsync + rename; on any failure
// (Status::Io, incl. a full disk) the temp file is removed and `path` is untouched.
// Before writing, stale temps `.<name>.tmp-XXXXXX` of this same target (left by an export that was
// killed) are removed, best effort (see remove_stale_temps); two concurrent exports to the same
// target are not supported. `stop` is polled between 64 MiB chunks of the data; when it throws, the
// temp file is removed.
void write_safetensors(const std::string &path, const std::vector<OutTensor> &tensors,
                       const std::map<std::string, std::string> &metadata,
                       const Poll &stop = Poll());
// The same, streamed: tensors[i].data is not read, `produce` supplies the bytes.
void write_safetensors(const std::string &path, const std::vector<OutTensor> &tensors,
                       const std::map<std::string, std::string> &metadata,
                       const TensorProducer &produce, const Poll &stop = Poll());

// Writes `dir`/model-0000i-of-0000N.safetensors (greedy packing in name order, a tensor larger than
// max_shard_bytes gets its own shard) and model.safetensors.index.json ({"metadata":
// {"total_size": ...}, "weight_map": {...}}). Every shard carries `metadata`. All-or-nothing:
// everything is written to temp names first, then renamed, the index last.
//
// `dir` ends up holding exactly the new shard set:
//  - Before writing, stale temps of our own naming are removed (`.model-NNNNN-of-NNNNN.safetensors
//    .tmp-XXXXXX` of any shard set, `.model.safetensors.index.json.tmp-XXXXXX`), best effort: a
//    failure there is ignored, they are garbage.
//  - After the new index is renamed into place and the folder fsynced, shards of an earlier export
//    (`model-NNNNN-of-NNNNN.safetensors` not in the new set) are removed and the folder fsynced
//    again. The index is committed first, so at every instant the index on disk names shards that
//    exist. A shard that cannot be removed then is Status::Io naming it: the export is committed
//    and readable, but the folder keeps files the index does not list.
// Nothing else in the folder is touched (config.json, tokenizer files, model.safetensors, ...).
// Two concurrent exports to the same folder are not supported: one may remove the other's temps
// or shards.
// `stop` as in write_safetensors, until the first rename.
void write_sharded(const std::string &dir, const std::vector<OutTensor> &tensors,
                   const std::map<std::string, std::string> &metadata, uint64_t max_shard_bytes,
                   const Poll &stop = Poll());
// The same, streamed (see TensorProducer).
void write_sharded(const std::string &dir, const std::vector<OutTensor> &tensors,
                   const std::map<std::string, std::string> &metadata, uint64_t max_shard_bytes,
                   const TensorProducer &produce, const Poll &stop = Poll());

// A shard set whose partition is given, written by one process or by several together (a sharded
// solver's ranks, each holding some shards' tensors): shard i of `shards` holds the tensors named
// shards[i] (all processes' names: the index lists them); this process writes the shards in
// `mine` (its `tensors` are theirs) and, when `lead`, prepares the folder (as write_sharded:
// stale temps), writes the index and removes old shards. `phase(what, work)` runs the work of
// each of the phases prepare, write, commit and index; several processes pass a collective that
// runs the work and fails everywhere when it failed anywhere (Comm::exchange), so that no
// process goes on after another failed. A failure in any phase removes the shards this process
// committed: no index is written unless every shard was. After a failure one more phase (no work)
// waits until every process has removed its files, before the lead removes the folders it made.
using WritePhase = std::function<void(const char *what, const std::function<void()> &work)>;
void write_shard_set(const std::string &dir, const std::vector<std::vector<std::string>> &shards,
                     uint64_t total_size, const std::vector<size_t> &mine, bool lead,
                     const std::vector<OutTensor> &tensors,
                     const std::map<std::string, std::string> &metadata,
                     const TensorProducer &produce, const Poll &stop, const WritePhase &phase);

}  // namespace fw
