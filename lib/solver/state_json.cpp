#include "solver/state_json.h"

#include <limits>
#include <nlohmann/json.hpp>

#include "io/json_util.h"
#include "util/error.h"

namespace fw {
namespace {

using nlohmann::json;

// Field access that turns every type or range error into one Status::Format "[state_field]".
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

}  // namespace

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

}  // namespace fw
