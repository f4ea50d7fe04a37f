#include "solver/state_file.h"

#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <utility>

#include "io/json_util.h"
#include "io/safetensors_reader.h"
#include "io/safetensors_writer.h"
#include "util/error.h"

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

// A NaN (loss_after not evaluated) is null: JSON has no NaN. Finite doubles round-trip exactly
// (nlohmann writes the shortest text that parses back to the same double).
json number(double v) { return std::isfinite(v) ? json(v) : json(); }

json file_json(const Checkpoint &ckpt) {
  return {{"path", ckpt.path()}, {"identity", ckpt.identity()}};
}

// Field access that turns every type or range error into one FW_ERR_FORMAT "[state_field]".
class Reader {
 public:
  explicit Reader(const std::string &path) : path_(path) {}

  [[noreturn]] void bad(const std::string &what) const {
    fail_format("state_field", path_ + ": " + what);
  }
  const json &field(const json &object, const char *key) const {
    if (!object.is_object()) bad(std::string("expected an object holding \"") + key + "\"");
    const auto it = object.find(key);
    if (it == object.end()) bad(std::string("missing \"") + key + "\"");
    return *it;
  }
  std::string string(const json &object, const char *key) const {
    const json &v = field(object, key);
    if (!v.is_string()) bad(std::string("\"") + key + "\" is not a string");
    return v.get<std::string>();
  }
  int64_t integer(const json &object, const char *key, int64_t lo, int64_t hi) const {
    const json &v = field(object, key);
    if (!v.is_number_integer()) bad(std::string("\"") + key + "\" is not an integer");
    // unsigned values above INT64_MAX are out of range either way
    if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(hi))
      bad(std::string("\"") + key + "\" is out of range");
    const int64_t n = v.get<int64_t>();
    if (n < lo || n > hi) bad(std::string("\"") + key + "\" is out of range");
    return n;
  }
  double number_value(const json &v, const std::string &what, bool null_is_nan) const {
    if (v.is_null() && null_is_nan) return std::numeric_limits<double>::quiet_NaN();
    if (!v.is_number()) bad(what + " is not a number");
    return v.get<double>();
  }
  double real(const json &object, const char *key, bool null_is_nan) const {
    return number_value(field(object, key), std::string("\"") + key + "\"", null_is_nan);
  }
  bool boolean(const json &object, const char *key) const {
    const json &v = field(object, key);
    if (!v.is_boolean()) bad(std::string("\"") + key + "\" is not a boolean");
    return v.get<bool>();
  }
  const json &array(const json &object, const char *key) const {
    const json &v = field(object, key);
    if (!v.is_array()) bad(std::string("\"") + key + "\" is not an array");
    return v;
  }
  SavedState::File file(const json &object, const char *key) const {
    const json &v = field(object, key);
    return {string(v, "path"), string(v, "identity")};
  }

 private:
  const std::string &path_;
};

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
    json lambdas = json::array();
    for (double l : r.lambdas) lambdas.push_back(number(l));
    history.push_back({{"t", r.iteration},
                       {"loss", number(r.loss)},
                       {"loss_after", number(r.loss_after)},
                       {"gap", number(r.gap)},
                       {"gamma", number(r.gamma)},
                       {"converged", r.converged},
                       {"evaluations", r.evaluations},
                       {"k", r.k},
                       {"chosen", r.chosen},
                       {"lambdas", lambdas},
                       {"leaves_hull", r.leaves_hull}});
  }
  json pool = json::array();
  for (const auto &member : solver.pool()) pool.push_back(file_json(*member));
  json start = {{"kind", kind_name(solver.start_kind())},
                {"member", solver.start_member()},
                {"description", solver.start_description()}};
  if (solver.start_kind() == StartKind::File) start["file"] = file_json(*solver.start_checkpoint());
  const json state = {{"version", kStateVersion},
                      {"library", FW_VERSION_STRING},
                      {"base", file_json(solver.base())},
                      {"pool", pool},
                      {"start", start},
                      {"blocks", solver.block_names()},
                      {"merge_fn", json::parse(solver.merge_fn().recipe_json())},
                      {"history", history}};
  return state.dump();
}

SavedState parse_state_json(const std::string &text, const std::string &path) {
  const json root = parse_json_strict(text.data(), text.size(), "state_", path);
  const Reader r(path);
  SavedState s;
  s.version = static_cast<int>(r.integer(root, "version", 0, 1 << 30));
  if (s.version != kStateVersion)
    fail_format("state_version", path + ": state version " + std::to_string(s.version) +
                                     "; this library reads version " +
                                     std::to_string(kStateVersion));
  s.base = r.file(root, "base");
  for (const json &member : r.array(root, "pool")) {
    s.pool.push_back({r.string(member, "path"), r.string(member, "identity")});
  }
  const int64_t n_pool = static_cast<int64_t>(s.pool.size());

  const json &start = r.field(root, "start");
  const std::string kind = r.string(start, "kind");
  s.start_description = r.string(start, "description");
  s.start_member = static_cast<int>(r.integer(start, "member", -1, n_pool - 1));
  if (kind == "base") {
    s.start_kind = StartKind::Base;
  } else if (kind == "member") {
    s.start_kind = StartKind::Member;
  } else if (kind == "file") {
    s.start_kind = StartKind::File;
    s.start_file = r.file(start, "file");
  } else if (kind == "tensors") {
    s.start_kind = StartKind::Tensors;
  } else {
    r.bad("unknown start kind \"" + kind + "\"");
  }
  if ((s.start_kind == StartKind::Member) != (s.start_member >= 0))
    r.bad("the start member does not match the start kind");

  for (const json &name : r.array(root, "blocks")) {
    if (!name.is_string()) r.bad("a block name is not a string");
    s.blocks.push_back(name.get<std::string>());
  }
  if (s.blocks.empty()) r.bad("no blocks");
  const json &merge_fn = r.field(root, "merge_fn");
  if (!merge_fn.is_object()) r.bad("\"merge_fn\" is not an object");
  s.merge_fn = merge_fn.dump();

  const int64_t n_blocks = static_cast<int64_t>(s.blocks.size());
  for (const json &step : r.array(root, "history")) {
    StepRecord rec;
    rec.iteration = static_cast<int>(r.integer(step, "t", 0, 1 << 30));
    if (rec.iteration != static_cast<int>(s.history.size()))
      r.bad("steps are not numbered 0, 1, ...");
    if (!s.history.empty() && s.history.back().converged) r.bad("a step follows a converged one");
    rec.loss = r.real(step, "loss", false);
    rec.loss_after = r.real(step, "loss_after", true);
    rec.gap = r.real(step, "gap", false);
    rec.gamma = r.real(step, "gamma", false);
    rec.converged = r.boolean(step, "converged");
    rec.evaluations = static_cast<int>(r.integer(step, "evaluations", 0, 1 << 30));
    rec.k = static_cast<int>(r.integer(step, "k", 1, n_pool + 1));
    rec.leaves_hull = r.boolean(step, "leaves_hull");
    const json &chosen = r.array(step, "chosen");
    const json &lambdas = r.array(step, "lambdas");
    if (static_cast<int64_t>(chosen.size()) != n_blocks * rec.k || lambdas.size() != chosen.size())
      r.bad("step " + std::to_string(rec.iteration) + ": chosen/lambdas are not blocks x k");
    for (const json &c : chosen) {
      if (!c.is_number_integer() || c.get<int64_t>() < -1 || c.get<int64_t>() >= n_pool)
        r.bad("step " + std::to_string(rec.iteration) + ": a chosen vertex is out of range");
      rec.chosen.push_back(static_cast<int32_t>(c.get<int64_t>()));
    }
    for (const json &l : lambdas) rec.lambdas.push_back(r.number_value(l, "a lambda", true));
    s.history.push_back(std::move(rec));
  }
  return s;
}

void save_state(const Solver &solver, const std::string &path, const Poll &stop) {
  const auto &metas = solver.tensors();
  std::vector<at::Tensor> keep;  // contiguous fp32 copies only where a tensor is not already
  std::vector<OutTensor> out;
  auto add = [&](const std::string &name, const TensorMeta &meta, const at::Tensor &t) {
    keep.push_back(t.to(at::kFloat).contiguous());
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
  const Checkpoint &base = solver.base();  // FW_ERR_STATE without a base
  const std::unique_ptr<SafetensorsFile> file = SafetensorsFile::open(path);
  const auto it = file->metadata().find(kStateKey);
  if (it == file->metadata().end())
    fail_format("state_missing", path + ": no \"" + std::string(kStateKey) +
                                     "\" metadata; not an fwmerge state file");
  const SavedState s = parse_state_json(it->second, path);

  // The run it continues must be this one.
  auto differs = [&](const std::string &what) {
    fail(FW_ERR_STATE, "fw_state_load: " + path + " was saved with " + what);
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
  std::unique_ptr<Checkpoint> start;
  if (s.start_kind == StartKind::File) {
    start = open_checkpoint(s.start_file.path, &base);
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
