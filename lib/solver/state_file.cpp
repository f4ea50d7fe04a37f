#include "solver/state_file.h"

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <utility>

#include "io/safetensors_reader.h"
#include "io/safetensors_writer.h"
#include "util/error.h"
#include "util/version.h"

namespace fw {
namespace {

using nlohmann::json;

const char *kind_name(StartKind kind) {
  switch (kind) {
    case StartKind::Base:
      return "base";
    case StartKind::Member:
      return "member";
    case StartKind::File:
      return "file";
    case StartKind::Tensors:
      return "tensors";
  }
  return "base";
}

json file_json(const Checkpoint &ckpt) {
  return {{"path", ckpt.path()}, {"identity", ckpt.identity()}};
}

// The iterate or the saved start tensors: every base tensor, fp32, with the base's shape.
std::vector<at::Tensor> read_tensors(const SafetensorsFile &file, const std::string &prefix,
                                     const std::vector<TensorMeta> &metas) {
  std::vector<at::Tensor> out;
  out.reserve(metas.size());
  for (const TensorMeta &meta : metas) {
    const TensorEntry *entry = file.find(prefix + meta.name);
    if (!entry)
      fail_format("state_tensors", file.path() + ": no tensor \"" + prefix + meta.name + "\"");
    if (entry->dtype != DType::F32 || entry->shape != meta.shape)
      fail_format("state_tensors", file.path() + ": tensor \"" + prefix + meta.name +
                                       "\" is not F32 with the base's shape");
    out.push_back(file.read_f32(*entry));
  }
  return out;
}

}  // namespace

std::string state_json(const Solver &solver) {
  json history = json::array();
  for (const StepRecord &r : solver.history()) {
    json step = step_json(r);
    step["leaves_hull"] = r.leaves_hull;
    history.push_back(std::move(step));
  }
  json pool = json::array();
  for (const auto &member : solver.pool()) pool.push_back(file_json(*member));
  json start = {{"kind", kind_name(solver.start_kind())},
                {"member", solver.start_member()},
                {"description", solver.start_description()}};
  if (solver.start_kind() == StartKind::File) start["file"] = file_json(*solver.start_checkpoint());
  const json state = {{"version", kStateVersion},
                      {"library", FWMERGE_CORE_VERSION},
                      {"base", file_json(solver.base())},
                      {"pool", pool},
                      {"start", start},
                      {"blocks", solver.block_names()},
                      {"merge_fn", json::parse(solver.merge_fn().recipe_json())},
                      {"history", history}};
  return state.dump();
}

void save_state(const Solver &solver, const std::string &path, const Poll &stop) {
  const auto &metas = solver.tensors();
  std::vector<at::Tensor> keep;  // contiguous fp32 copies only where a tensor is not already
  std::vector<OutTensor> out;
  auto add = [&](const std::string &name, const TensorMeta &meta, const at::Tensor &t) {
    keep.push_back(t.to(at::kCPU, at::kFloat).contiguous());
    out.push_back({name, DType::F32, meta.shape, keep.back().data_ptr(),
                   static_cast<uint64_t>(keep.back().nbytes())});
  };
  for (size_t t = 0; t < metas.size(); ++t)
    add("theta/" + metas[t].name, metas[t], solver.theta()[t]);
  if (solver.start_kind() == StartKind::Tensors) {
    for (const TensorMeta &meta : metas) {
      poll(stop);
      add("start/" + meta.name, meta, solver.start_checkpoint()->load_f32(meta.name));
    }
  }
  const std::map<std::string, std::string> metadata{{"format", kStateFormat},
                                                    {kStateKey, state_json(solver)}};
  write_safetensors(path, out, metadata, stop);
}

void load_state(Solver &solver, const std::string &path) {
  const Checkpoint &base = solver.base();  // Status::State without a base
  const std::unique_ptr<SafetensorsFile> file = SafetensorsFile::open(path);
  const auto it = file->metadata().find(kStateKey);
  if (it == file->metadata().end())
    fail_format("state_missing", path + ": no \"" + std::string(kStateKey) +
                                     "\" metadata; not an fwmerge state file");
  const SavedState s = parse_state_json(it->second, path);

  // The run it continues must be this one.
  auto differs = [&](const std::string &what) {
    fail(Status::State, "fw_solver_state_load: " + path + " was saved with " + what);
  };
  if (s.base.identity != base.identity())
    differs("another base (" + s.base.path + ", identity " + s.base.identity +
            "; this one: " + base.identity() + ")");
  if (s.pool.size() != solver.pool().size())
    differs(std::to_string(s.pool.size()) + " pool members; this solver has " +
            std::to_string(solver.pool().size()));
  for (size_t i = 0; i < s.pool.size(); ++i) {
    if (s.pool[i].identity != solver.pool()[i]->identity())
      differs("another pool member " + std::to_string(i) + " (" + s.pool[i].path +
              "); this one is " + solver.pool()[i]->path() +
              " (changed, or added in another order)");
  }
  if (s.blocks != solver.block_names())
    differs("other blocks (" + std::to_string(s.blocks.size()) + "; this solver has " +
            std::to_string(solver.block_names().size()) +
            "): set the same granularity and block_depth");
  if (json::parse(s.merge_fn) != json::parse(solver.merge_fn().recipe_json()))
    differs("another merge function (" + s.merge_fn + ")");

  std::vector<at::Tensor> theta = read_tensors(*file, "theta/", base.tensors());
  for (at::Tensor &t : theta) t = to_placement(t, solver.placement());  // saved as fp32
  std::unique_ptr<Checkpoint> start;
  if (s.start_kind == StartKind::File) {
    start = solver.open_member(s.start_file.path);
    check_compatible(base, *start);
    if (start->identity() != s.start_file.identity)
      differs("a start file that has changed since (" + s.start_file.path + ")");
  } else if (s.start_kind == StartKind::Tensors) {
    std::vector<at::Tensor> values = read_tensors(*file, "start/", base.tensors());
    std::vector<InMemoryCheckpoint::Entry> entries;
    for (size_t t = 0; t < values.size(); ++t)
      entries.push_back({base.tensors()[t].name, std::move(values[t]), base.tensors()[t].dtype});
    start = std::make_unique<InMemoryCheckpoint>(std::move(entries), s.start_description);
  }
  solver.restore(s.start_kind, s.start_member, std::move(start), s.start_description,
                 std::move(theta), s.history);
}

}  // namespace fw
