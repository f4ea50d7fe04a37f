#include "io/tensor_filter.h"

#include <fnmatch.h>

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

#include "util/error.h"

namespace fw {

namespace {

bool matches_any(const std::vector<std::string> &patterns, const std::string &name) {
  for (const std::string &p : patterns)
    if (::fnmatch(p.c_str(), name.c_str(), 0) == 0) return true;
  return false;
}

}  // namespace

TensorFilter::TensorFilter(std::vector<std::string> include, std::vector<std::string> exclude)
    : include_(std::move(include)), exclude_(std::move(exclude)) {
  for (const auto *list : {&include_, &exclude_})
    for (const std::string &p : *list)
      if (p.empty()) fail(Status::InvalidArgument, "an empty tensor name pattern");
}

bool TensorFilter::selects(const std::string &name) const {
  if (shard_ && shard_->count(name) == 0) return false;
  if (carried_ && carried_->count(name) != 0) return false;
  return (include_.empty() || matches_any(include_, name)) && !matches_any(exclude_, name);
}

TensorFilter TensorFilter::restricted_to(std::set<std::string> names, int rank) const {
  TensorFilter out = *this;
  out.shard_ = std::make_shared<const std::set<std::string>>(std::move(names));
  out.shard_rank_ = rank;
  return out;
}

TensorFilter TensorFilter::without_carried(std::set<std::string> names) const {
  TensorFilter out = *this;
  if (!names.empty())
    out.carried_ = std::make_shared<const std::set<std::string>>(std::move(names));
  return out;
}

std::set<std::string> carried_from_base(const Checkpoint &base) {
  std::set<std::string> names;
  for (const TensorMeta &m : base.tensors())
    if (!is_floating(m.dtype)) names.insert(m.name);
  return names;
}

void check_carried_in_member(const Checkpoint &base, const Checkpoint &member,
                             const std::set<std::string> &carried) {
  for (const std::string &name : carried) {
    const TensorMeta *m = member.find(name);
    if (m == nullptr) continue;  // a fine-tune saved without the buffer: the base's is used
    const TensorMeta &b = *base.find(name);
    const std::string who = "pool member " + member.path() + ": tensor \"" + name + "\"";
    if (m->dtype != b.dtype || m->shape != b.shape)
      fail(Status::NameMismatch, who + " (" + dtype_name(m->dtype) + ") is not the base's " +
                                     dtype_name(b.dtype) +
                                     " buffer of the same shape; integer "
                                     "and bool tensors are taken from the base, not merged");
    if (!member.streams_ranges() || !base.streams_ranges()) continue;  // computed (adapters)
    // Compared in bounded pieces: a buffer is small, but a quantized weight need not be.
    const int64_t item = dtype_bits(b.dtype) / 8;
    const int64_t piece = std::max<int64_t>(1, (int64_t{1} << 20) / std::max<int64_t>(item, 1));
    std::vector<char> x(static_cast<size_t>(std::min(piece, b.numel) * item)), y(x.size());
    for (int64_t begin = 0; begin < b.numel; begin += piece) {
      const int64_t end = std::min(b.numel, begin + piece);
      const size_t n = static_cast<size_t>((end - begin) * item);
      base.read_raw_range(name, begin, end, x.data());
      member.read_raw_range(name, begin, end, y.data());
      if (std::memcmp(x.data(), y.data(), n) != 0)
        fail(Status::NameMismatch, who + " differs from the base's (elements from " +
                                       std::to_string(begin) +
                                       " on); integer and bool tensors "
                                       "are taken from the base, not merged");
    }
  }
}

std::string TensorFilter::describe() const {
  nlohmann::json d{{"include", include_}, {"exclude", exclude_}};
  if (shard_) d["shard_of_rank"] = shard_rank_;
  return d.dump();
}

TensorFilter filter_from_c(const char *const *include, size_t n_include, const char *const *exclude,
                           size_t n_exclude, const std::string &where) {
  auto list = [&](const char *const *patterns, size_t n, const char *what) {
    if (n > 0 && patterns == nullptr)
      fail(Status::InvalidArgument, where + what + " is NULL with a count > 0");
    std::vector<std::string> out;
    for (size_t i = 0; i < n; ++i) {
      if (patterns[i] == nullptr)
        fail(Status::InvalidArgument, where + what + "[" + std::to_string(i) + "] is NULL");
      // Named here, with its field: TensorFilter's own check cannot say which array it is in.
      if (*patterns[i] == '\0')
        fail(Status::InvalidArgument, where + what + "[" + std::to_string(i) + "] is empty");
      out.emplace_back(patterns[i]);
    }
    return out;
  };
  return TensorFilter(list(include, n_include, "include_tensors"),
                      list(exclude, n_exclude, "exclude_tensors"));
}

FilteredCheckpoint::FilteredCheckpoint(std::unique_ptr<Checkpoint> inner,
                                       const TensorFilter &filter)
    : inner_(std::move(inner)), filter_(filter) {
  for (const TensorMeta &m : inner_->tensors())
    if (filter_.selects(m.name)) metas_.push_back(m);
  if (metas_.empty())
    fail(Status::NameMismatch, "the tensor filter " + filter_.describe() +
                                   " selects none of the tensors of " + inner_->path());
}

const TensorMeta *FilteredCheckpoint::find(const std::string &name) const {
  return filter_.selects(name) ? inner_->find(name) : nullptr;
}

std::string FilteredCheckpoint::identity() const {
  return inner_->identity() + ";filter=" + filter_.describe();
}

std::unique_ptr<Checkpoint> filtered(std::unique_ptr<Checkpoint> c, const TensorFilter &filter) {
  if (filter.empty()) return c;
  return std::make_unique<FilteredCheckpoint>(std::move(c), filter);
}

}  // namespace fw
