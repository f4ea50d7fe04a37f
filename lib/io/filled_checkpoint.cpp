#include "io/filled_checkpoint.h"

namespace fw {

FilledCheckpoint::FilledCheckpoint(std::unique_ptr<Checkpoint> member, const Checkpoint &base,
                                   std::vector<std::string> filled)
    : member_(std::move(member)),
      base_(base),
      filled_(std::move(filled)),
      filled_set_(filled_.begin(), filled_.end()) {
  metas_ = member_->tensors();
  for (const std::string &name : filled_) metas_.push_back(*base_.find(name));
}

const TensorMeta *FilledCheckpoint::find(const std::string &name) const {
  if (const TensorMeta *m = member_->find(name)) return m;
  return is_filled(name) ? base_.find(name) : nullptr;
}

at::Tensor FilledCheckpoint::load_f32(const std::string &name) const {
  return is_filled(name) ? base_.load_f32(name) : member_->load_f32(name);
}

void FilledCheckpoint::read_f32_range(const std::string &name, int64_t begin, int64_t end,
                                      at::Tensor &out) const {
  if (is_filled(name))
    base_.read_f32_range(name, begin, end, out);
  else
    member_->read_f32_range(name, begin, end, out);
}

void FilledCheckpoint::read_raw_range(const std::string &name, int64_t begin, int64_t end,
                                      void *dst) const {
  if (is_filled(name))
    base_.read_raw_range(name, begin, end, dst);
  else
    member_->read_raw_range(name, begin, end, dst);
}

std::string FilledCheckpoint::identity() const {
  std::string out = member_->identity() + ";filled_from_base=";
  for (const std::string &name : filled_) out += name + ",";
  return out;
}

std::unique_ptr<Checkpoint> fill_from_base(std::unique_ptr<Checkpoint> member,
                                           const Checkpoint &base) {
  std::vector<std::string> missing;
  for (const TensorMeta &b : base.tensors())
    if (is_floating(b.dtype) && member->find(b.name) == nullptr) missing.push_back(b.name);
  if (missing.empty()) return member;
  return std::make_unique<FilledCheckpoint>(std::move(member), base, std::move(missing));
}

const std::vector<std::string> &filled_names(const Checkpoint &member) {
  static const std::vector<std::string> none;
  const auto *f = dynamic_cast<const FilledCheckpoint *>(&member);
  return f ? f->filled() : none;
}

}  // namespace fw
