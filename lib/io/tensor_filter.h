// Which tensors of a model a merge works on (fw_params / fw_merge_params include_tensors and
// exclude_tensors): shell-style globs (fnmatch: `*`, `?`, `[...]`; `*` crosses dots) on tensor
// names. A tensor is selected when it matches an include pattern (or there are none) and no
// exclude pattern. Unselected tensors are not merged: the output keeps the base's, and pool
// members need not have them or may have them in another shape (per-task heads).
#pragma once

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "io/checkpoint.h"

namespace fw {

class TensorFilter {
 public:
  TensorFilter() = default;
  // Status::InvalidArgument for an empty pattern.
  TensorFilter(std::vector<std::string> include, std::vector<std::string> exclude);
  bool empty() const { return include_.empty() && exclude_.empty() && !shard_ && !carried_; }
  bool selects(const std::string &name) const;
  // This filter narrowed to a rank's shard (lib/dist/shard_plan.h): only `names` of what it
  // selects. The shard is not part of ==, include() or exclude(): those describe the user's filter.
  TensorFilter restricted_to(std::set<std::string> names, int rank) const;
  // This filter without `names`: the base's integer and bool buffers (carried_from_base below),
  // which are never merged. Like the shard, not part of ==, include(), exclude() or describe().
  TensorFilter without_carried(std::set<std::string> names) const;
  const std::vector<std::string> &include() const { return include_; }
  const std::vector<std::string> &exclude() const { return exclude_; }
  bool operator==(const TensorFilter &o) const {
    return include_ == o.include_ && exclude_ == o.exclude_;
  }
  // "include=[...];exclude=[...]": for identities and recipes.
  std::string describe() const;

 private:
  std::vector<std::string> include_, exclude_;
  std::shared_ptr<const std::set<std::string>> shard_;  // null: no shard
  int shard_rank_ = -1;
  std::shared_ptr<const std::set<std::string>> carried_;  // null: none
};

// Tensors of a base that are not merged but taken from it (issue 31): its integer and bool tensors
// (buffers such as BERT's embeddings.position_ids, token_type_ids, masks), which fine-tunes
// saved by newer libraries often lack. Members need not have them; where one has one, it must be
// the base's (check_carried_in_member). The output carries the base's bytes in the base's dtype.
std::set<std::string> carried_from_base(const Checkpoint &base);
// Status::NameMismatch (naming tensor and member) unless every carried tensor that `member` (its
// unfiltered checkpoint) has is the base's: same dtype, shape and bytes. A member whose buffer
// differs was not fine-tuned from this base, or holds quantized weights this merge would drop.
void check_carried_in_member(const Checkpoint &base, const Checkpoint &member,
                             const std::set<std::string> &carried);

// The filter of a C struct's pattern arrays (fw_params, fw_merge_params), read now:
// Status::InvalidArgument ("<where>include_tensors is NULL ...") for a NULL array with a count > 0
// or a NULL or empty pattern.
TensorFilter filter_from_c(const char *const *include, size_t n_include, const char *const *exclude,
                           size_t n_exclude, const std::string &where);

// The selected tensors of `inner` (which it owns). Reads go to `inner`, names unchanged.
// Status::NameMismatch when the filter selects none of inner's tensors.
class FilteredCheckpoint : public Checkpoint {
 public:
  FilteredCheckpoint(std::unique_ptr<Checkpoint> inner, const TensorFilter &filter);
  const std::string &path() const override { return inner_->path(); }
  const std::vector<TensorMeta> &tensors() const override { return metas_; }
  const TensorMeta *find(const std::string &name) const override;
  at::Tensor load_f32(const std::string &name) const override { return inner_->load_f32(name); }
  void check_unchanged() const override { inner_->check_unchanged(); }
  std::string identity() const override;
  bool streams_ranges() const override { return inner_->streams_ranges(); }
  void read_f32_range(const std::string &name, int64_t begin, int64_t end,
                      at::Tensor &out) const override {
    inner_->read_f32_range(name, begin, end, out);
  }
  void read_raw_range(const std::string &name, int64_t begin, int64_t end,
                      void *dst) const override {
    inner_->read_raw_range(name, begin, end, dst);
  }
  const Checkpoint &inner() const { return *inner_; }

 private:
  std::unique_ptr<Checkpoint> inner_;
  TensorFilter filter_;
  std::vector<TensorMeta> metas_;
};

// `c` itself when the filter is empty, else wrapped.
std::unique_ptr<Checkpoint> filtered(std::unique_ptr<Checkpoint> c, const TensorFilter &filter);

}  // namespace fw
