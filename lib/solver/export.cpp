#include "solver/export.h"

#include <vector>

#include "dist/shard_plan.h"
#include "io/hf_folder.h"
#include "io/safetensors_writer.h"
#include "util/error.h"
#include "util/version.h"

namespace fw {

std::map<std::string, std::string> export_metadata(const std::string &recipe,
                                                   const std::string &history) {
  std::map<std::string, std::string> metadata{{"format", "pt"}, {"fwmerge.recipe", recipe}};
  if (!history.empty()) metadata["fwmerge.history"] = history;
  metadata["fwmerge.version"] = FWMERGE_CORE_VERSION;
  return metadata;
}

namespace {

DType target_of(DType base, std::optional<DType> dtype) { return dtype.value_or(base); }

// What a base tensor is written as: a carried buffer keeps its own dtype, whatever `dtype` says.
DType out_dtype(const Solver &solver, const TensorMeta &meta, std::optional<DType> dtype) {
  return solver.carried().count(meta.name) ? meta.dtype : target_of(meta.dtype, dtype);
}

// The tensors this process writes, converted: its merged tensors, then (with_pass_through) the
// tensors outside the filter as the base has them (in the export dtype when one is given).
struct Converted {
  std::vector<at::Tensor> bytes;  // keeps the converted bytes alive while writing
  std::vector<OutTensor> out;
};

Converted convert(const Solver &solver, std::optional<DType> dtype, bool with_pass_through,
                  const Poll &stop) {
  const auto &metas = solver.tensors();
  const auto &theta = solver.theta();
  Converted c;
  c.bytes.reserve(metas.size());
  auto add = [&](const TensorMeta &meta, DType target, at::Tensor t) {
    c.bytes.push_back(std::move(t));
    const at::Tensor &b = c.bytes.back();
    c.out.push_back({meta.name, target, meta.shape, b.data_ptr(),
                     static_cast<uint64_t>(b.numel()) * b.element_size()});
  };
  for (size_t t = 0; t < metas.size(); ++t) {
    poll(stop);
    const DType target = target_of(metas[t].dtype, dtype);
    add(metas[t], target, theta[t].to(at::kCPU, to_scalar_type(target)).contiguous());
  }
  if (with_pass_through && solver.has_pass_through()) {
    const Checkpoint &whole = solver.unfiltered_base();
    for (const TensorMeta &meta : whole.tensors()) {
      if (!solver.passes_through(meta.name)) continue;
      poll(stop);
      if (solver.carried().count(meta.name)) {  // the base's bytes, unconverted
        at::Tensor raw = at::empty({meta.numel * (dtype_bits(meta.dtype) / 8)}, at::kByte);
        whole.read_raw_range(meta.name, 0, meta.numel, raw.data_ptr());
        add(meta, meta.dtype, std::move(raw));
        continue;
      }
      const DType target = target_of(meta.dtype, dtype);
      add(meta, target, whole.load_f32(meta.name).to(to_scalar_type(target)).contiguous());
    }
  }
  return c;
}

}  // namespace

void export_rank_shards(const Solver &solver, const std::string &path, std::optional<DType> dtype,
                        int world) {
  const Comm *comm = solver.comm();
  const int rank = comm ? comm->rank() : -1;  // -1: this process writes every shard
  const Poll stop = [&solver] { solver.poll_abort(); };
  const WritePhase phase = [&solver](const char *what, const std::function<void()> &work) {
    std::vector<double> none;
    solver.exchange(what, none, work);
  };
  Converted mine;
  phase("the conversion of its tensors", [&] { mine = convert(solver, dtype, rank <= 0, stop); });
  // The partition and the index, from names and shapes alone: the same on every rank.
  const auto &global = solver.global_tensors();
  const std::vector<int> rank_of = shard_plan(global, world);
  std::vector<std::vector<std::string>> shards(static_cast<size_t>(world));
  uint64_t total_size = 0;
  auto bytes_of = [&](const TensorMeta &meta) {
    return static_cast<uint64_t>(meta.numel) *
           static_cast<uint64_t>(dtype_bits(out_dtype(solver, meta, dtype))) / 8;
  };
  for (size_t t = 0; t < global.size(); ++t) {
    shards[static_cast<size_t>(rank_of[t])].push_back(global[t].name);
    total_size += bytes_of(global[t]);
  }
  if (solver.has_pass_through())
    for (const TensorMeta &meta : solver.unfiltered_base().tensors())
      if (solver.passes_through(meta.name)) {
        shards[0].push_back(meta.name);
        total_size += bytes_of(meta);
      }
  std::vector<size_t> written;
  if (comm) {
    written.push_back(static_cast<size_t>(rank));
  } else {
    for (size_t r = 0; r < shards.size(); ++r) written.push_back(r);
  }
  const auto metadata = export_metadata(solver.recipe_json(), solver.history_json());
  const TensorProducer from_memory = [&mine](size_t t, const ByteEmitter &emit) {
    emit(mine.out[t].data, mine.out[t].nbytes);
  };
  write_shard_set(path, shards, total_size, written, rank <= 0, mine.out, metadata, from_memory,
                  stop, phase);
}

void export_iterate(const Solver &solver, const std::string &path, std::optional<DType> dtype,
                    OutputLayout layout) {
  const Poll stop = [&solver] { solver.poll_abort(); };
  const Converted converted = convert(solver, dtype, true, stop);
  const std::vector<OutTensor> &out = converted.out;
  const std::string recipe = solver.recipe_json();
  const auto metadata = export_metadata(recipe, solver.history_json());
  if (solver.has_base()) layout.base_path = solver.unfiltered_base().path();
  layout.allow_outside_links = solver.config().allow_outside_links;
  const TensorProducer from_memory = [&out](size_t t, const ByteEmitter &emit) {
    emit(out[t].data, out[t].nbytes);
  };
  write_output(path, out, metadata, from_memory, stop, layout, [&] {
    return default_model_card(
        layout.base_path,
        "Frank-Wolfe merging (" + std::to_string(solver.history().size()) + " steps)", recipe);
  });
}

}  // namespace fw
