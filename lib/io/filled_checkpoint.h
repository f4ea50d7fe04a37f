// A pool member whose missing floating-point tensors are taken from the base (issue 31): the
// opt-in fw_params.fill_missing_from_base / fw_merge_params.fill_missing_from_base. A fine-tune
// saved without a tensor (a frozen head dropped by its trainer, a tied lm_head written once)
// then counts as not having changed it: its task vector there is zero, in every merge function
// and in the FW solver alike. Without the opt-in such a member is Status::NameMismatch
// (check_compatible), as in mergekit, which stops at a required tensor a model lacks.
#pragma once

#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "io/checkpoint.h"

namespace fw {

class FilledCheckpoint : public Checkpoint {
 public:
  // `base` must outlive this checkpoint (the solver and fw_merge keep the base for as long as
  // their members). `filled` are names of the base that `member` lacks.
  FilledCheckpoint(std::unique_ptr<Checkpoint> member, const Checkpoint &base,
                   std::vector<std::string> filled);
  const std::string &path() const override { return member_->path(); }
  const std::vector<TensorMeta> &tensors() const override { return metas_; }
  const TensorMeta *find(const std::string &name) const override;
  at::Tensor load_f32(const std::string &name) const override;
  void check_unchanged() const override { member_->check_unchanged(); }
  // The member's, plus the names filled: a state saved with the opt-in is not resumed without it.
  std::string identity() const override;
  bool streams_ranges() const override {
    return member_->streams_ranges() && base_.streams_ranges();
  }
  void read_f32_range(const std::string &name, int64_t begin, int64_t end,
                      at::Tensor &out) const override;
  void read_raw_range(const std::string &name, int64_t begin, int64_t end,
                      void *dst) const override;
  // The base's tensors this member lacked, in the base's order.
  const std::vector<std::string> &filled() const { return filled_; }

 private:
  bool is_filled(const std::string &name) const { return filled_set_.count(name) != 0; }

  std::unique_ptr<Checkpoint> member_;
  const Checkpoint &base_;
  std::vector<std::string> filled_;
  std::unordered_set<std::string> filled_set_;
  std::vector<TensorMeta> metas_;
};

// `member` itself when it has every tensor of `base`, else wrapped so that the floating-point
// tensors it lacks read as the base's. Tensors the member lacks that are not floating point are
// left missing (check_compatible then names them); the base's integer and bool buffers never reach
// here (carried_from_base).
std::unique_ptr<Checkpoint> fill_from_base(std::unique_ptr<Checkpoint> member,
                                           const Checkpoint &base);

// The names a member (as opened by the solver or fw_merge) took from the base; empty when none.
const std::vector<std::string> &filled_names(const Checkpoint &member);

}  // namespace fw
