// Solver set-up: configuration, base, pool, start point, blocks, provenance JSON. The step itself
// lives in step.cpp (LMO in lmo.cpp, hard and soft updates in hard_step.cpp / soft_step.cpp).
#include "solver/solver.h"

#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

#include "dist/shard_plan.h"
#include "io/filled_checkpoint.h"
#include "util/error.h"

namespace fw {

Solver::Solver(SolverConfig config)
    : filter_(config.include_tensors, config.exclude_tensors),
      place_(placement_of(config.device, config.device_index, config.work_dtype)),
      merge_fn_(make_convex_merge_fn()) {
  config_ = std::move(config);
}

Solver::~Solver() = default;

void Solver::set_config(SolverConfig config) {
  TensorFilter filter(config.include_tensors, config.exclude_tensors);
  if (!(filter == filter_) && base_)
    fail(Status::State,
         "the tensor filter (include_tensors / exclude_tensors) can only change "
         "before fw_solver_set_base");
  const Placement place = placement_of(config.device, config.device_index, config.work_dtype);
  // Moving the iterate to another device or dtype allocates: do it before changing anything.
  std::vector<at::Tensor> theta;
  theta.reserve(theta_.size());
  for (const at::Tensor &t : theta_) theta.push_back(to_placement(t, place));
  const bool blocks_change =
      config.granularity != config_.granularity || config.block_depth != config_.block_depth;
  filter_ = std::move(filter);
  config_ = std::move(config);
  place_ = place;
  theta_ = std::move(theta);
  if (blocks_change && base_) rebuild_blocks();
}

void Solver::require_base() const {
  if (!base_) fail(Status::State, "no base model: call fw_solver_set_base first");
}

void Solver::check_files_unchanged() const {
  if (base_) base_->check_unchanged();
  for (const auto &member : pool_) member->check_unchanged();
  if (start_) start_->check_unchanged();
}

void Solver::require_no_steps(const char *what) const {
  if (!history_.empty())
    fail(Status::State, std::string(what) + " is not allowed after steps have been taken");
}

const Checkpoint &Solver::base() const {
  require_base();
  return *base_;
}

const Checkpoint &Solver::unfiltered_base() const {
  const Checkpoint &b = base();
  if (const auto *f = dynamic_cast<const FilteredCheckpoint *>(&b)) return f->inner();
  return b;
}

std::unique_ptr<Checkpoint> Solver::open_member(const std::string &path) const {
  auto whole = open_checkpoint(path, &unfiltered_base(), config_.allow_outside_links);
  check_carried_in_member(unfiltered_base(), *whole, carried_);
  auto member = filtered(std::move(whole), member_filter());
  if (config_.fill_missing_from_base) member = fill_from_base(std::move(member), *base_);
  return member;
}

const std::vector<TensorMeta> &Solver::tensors() const { return base().tensors(); }

const std::vector<TensorMeta> &Solver::global_tensors() const {
  return comm_ ? global_tensors_ : tensors();
}

void Solver::check_can_join() const {
  if (base_) fail(Status::State, "[dist] join the group before fw_solver_set_base");
  if (comm_) fail(Status::State, "[dist] this solver has joined a group already");
}

void Solver::set_distributed(std::shared_ptr<Comm> comm) {
  check_can_join();
  if (comm && comm->world() > 1) comm_ = std::move(comm);
}

void Solver::exchange(const char *what, std::vector<double> &owned,
                      const std::function<void()> &local) const {
  if (comm_)
    comm_->exchange(what, owned, local);
  else
    local();
}

void Solver::set_base(const std::string &path) {
  auto whole = open_checkpoint(path, nullptr, config_.allow_outside_links);
  // Every tensor, filtered or not: the export writes the unselected ones through (as floats), and
  // the integer and bool ones (buffers) as the base has them.
  for (const TensorMeta &meta : whole->tensors()) {
    if (is_floating(meta.dtype) && !is_mergeable(meta.dtype))
      fail(Status::Unsupported, "base tensor '" + meta.name + "' has dtype " +
                                    dtype_name(meta.dtype) + "; only F32, F16 and BF16 are merged");
  }
  if (whole->tensors().empty()) fail(Status::Format, "[empty] base model has no tensors: " + path);
  std::set<std::string> carried = carried_from_base(*whole);
  const TensorFilter merged = filter_.without_carried(carried);
  std::vector<TensorMeta> global;
  std::vector<size_t> global_index;
  TensorFilter shard_filter;
  if (comm_) {
    // Every rank computes the same plan from the same filtered tensor list.
    for (const TensorMeta &meta : whole->tensors())
      if (merged.selects(meta.name)) global.push_back(meta);
    if (global.empty())
      fail(Status::NameMismatch,
           "the tensor filter " + filter_.describe() + " selects none of the tensors of " + path);
    const std::vector<int> rank_of = shard_plan(global, comm_->world());
    std::set<std::string> mine;
    for (size_t t = 0; t < global.size(); ++t)
      if (rank_of[t] == comm_->rank()) {
        mine.insert(global[t].name);
        global_index.push_back(t);
      }
    shard_filter = merged.restricted_to(std::move(mine), comm_->rank());
  }
  auto base = filtered(std::move(whole), comm_ ? shard_filter : merged);
  // Everything derived from the old base goes.
  pool_.clear();
  start_.reset();
  start_kind_ = StartKind::Base;
  start_member_ = -1;
  start_description_ = "base";
  history_.clear();
  base_ = std::move(base);
  global_tensors_ = std::move(global);
  global_index_ = std::move(global_index);
  shard_filter_ = std::move(shard_filter);
  carried_ = std::move(carried);
  rebuild_blocks();
  reset_iterate();
}

int Solver::add_member(const std::string &path) {
  require_base();
  require_no_steps("fw_solver_pool_add");
  auto member = open_member(path);
  check_compatible(*base_, *member);
  pool_.push_back(std::move(member));
  return static_cast<int>(pool_.size()) - 1;
}

void Solver::set_start_member(int index) {
  require_base();
  require_no_steps("changing the start point");
  if (index < 0 || index >= static_cast<int>(pool_.size()))
    fail(Status::InvalidArgument, "start member " + std::to_string(index) + " is not in the pool");
  start_.reset();
  start_kind_ = StartKind::Member;
  start_member_ = index;
  start_description_ = "member " + std::to_string(index);
  reset_iterate();
}

void Solver::set_start_file(const std::string &path) {
  require_base();
  require_no_steps("changing the start point");
  auto start = open_member(path);
  check_compatible(*base_, *start);
  start_ = std::move(start);
  start_kind_ = StartKind::File;
  start_member_ = -1;
  start_description_ = "file " + path;
  reset_iterate();
}

void Solver::set_start_tensors(std::vector<std::pair<std::string, at::Tensor>> tensors,
                               const std::string &description) {
  require_base();
  require_no_steps("changing the start point");
  std::vector<InMemoryCheckpoint::Entry> entries;
  for (auto &named : tensors) {
    const TensorMeta *meta = base_->find(named.first);
    if (!meta) fail(Status::NameMismatch, "start tensor '" + named.first + "' is not in the base");
    entries.push_back({named.first, named.second.to(at::kFloat).contiguous(), meta->dtype});
  }
  auto start = std::make_unique<InMemoryCheckpoint>(std::move(entries), description);
  check_compatible(*base_, *start);
  start_ = std::move(start);
  start_kind_ = StartKind::Tensors;
  start_member_ = -1;
  start_description_ = description;
  reset_iterate();
}

void Solver::restore(StartKind kind, int start_member, std::unique_ptr<Checkpoint> start,
                     std::string description, std::vector<at::Tensor> theta,
                     std::vector<StepRecord> history) noexcept {
  start_kind_ = kind;
  start_member_ = start_member;
  start_ = std::move(start);
  start_description_ = std::move(description);
  theta_ = std::move(theta);  // already in place_ (state_file.cpp converts)
  history_ = std::move(history);
}

void Solver::set_merge_fn(std::unique_ptr<MergeFn> merge_fn) {
  if (!merge_fn) fail(Status::InvalidArgument, "merge function is null");
  merge_fn_ = std::move(merge_fn);
}

void Solver::reset_iterate() {
  const Checkpoint &origin =
      start_ ? *start_ : (start_member_ >= 0 ? *pool_[start_member_] : *base_);
  std::vector<at::Tensor> theta;
  theta.reserve(base_->tensors().size());
  for (const TensorMeta &meta : base_->tensors()) {
    // own memory: an in-memory start point hands out its storage
    at::Tensor t = to_placement(origin.load_f32(meta.name), place_);
    theta.push_back(place_.on_cpu() && place_.dtype == at::kFloat ? t.clone() : t);
  }
  theta_ = std::move(theta);
}

void Solver::rebuild_blocks() {
  block_of_tensor_.clear();
  global_block_.clear();
  block_names_.clear();
  // Blocks come from all ranks' tensors, so that every rank has the same blocks and history.
  const auto &metas = global_tensors();
  if (config_.granularity == Granularity::Taskwise) {
    global_block_.assign(metas.size(), 0);
    block_of_tensor_.assign(base_->tensors().size(), 0);
    block_names_.push_back("");
    return;
  }
  // Layer-wise: a block per tensor, or per name prefix of block_depth dot-separated parts.
  for (const TensorMeta &meta : metas) {
    std::string key = meta.name;
    if (config_.block_depth > 0) {
      size_t pos = 0;
      for (int part = 0; part < config_.block_depth && pos != std::string::npos; ++part)
        pos = key.find('.', part == 0 ? 0 : pos + 1);
      if (pos != std::string::npos) key = key.substr(0, pos);
    }
    int block = -1;
    for (size_t b = 0; b < block_names_.size(); ++b)
      if (block_names_[b] == key) block = static_cast<int>(b);
    if (block < 0) {
      block = static_cast<int>(block_names_.size());
      block_names_.push_back(key);
    }
    global_block_.push_back(block);
  }
  for (size_t t = 0; t < base_->tensors().size(); ++t)
    block_of_tensor_.push_back(global_block_[global_index(t)]);
}

std::vector<Solver::Vertex> Solver::vertices() const {
  std::vector<Vertex> verts;
  for (size_t i = 0; i < pool_.size(); ++i) verts.push_back({pool_[i].get(), static_cast<int>(i)});
  // Algorithm 1, line 1: a start point outside the pool joins the hull.
  if (start_)
    verts.push_back({start_.get(), -1});
  else if (start_member_ < 0)
    verts.push_back({base_.get(), -1});
  return verts;
}

void Solver::poll_abort() const {
  // exchange: the request is consumed by the call it stops (fw_solver_interrupt)
  if (interrupt_.load(std::memory_order_relaxed) && interrupt_.exchange(false))
    fail(Status::Aborted, "interrupted by fw_solver_interrupt");
  if (abort_ && abort_()) fail(Status::Aborted, "aborted by the host's abort hook");
}

void Solver::log(LogLevel level, const std::string &message) const {
  if (log_) log_(level, message);
}

uint64_t Solver::tensor_seed(size_t tensor_index) const {
  // splitmix64 of (seed, iteration, tensor's global position): independent of thread count, call
  // order and sharding.
  uint64_t z = config_.seed ^ (0x9E3779B97F4A7C15ULL * (history_.size() + 1)) ^
               (0xBF58476D1CE4E5B9ULL * (global_index(tensor_index) + 1));
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

std::string Solver::recipe_json() const {
  static const char *lmo_names[] = {"hard", "soft"};
  static const char *step_names[] = {"line_search", "schedule", "constant"};
  static const char *soft_names[] = {"simplex", "capped", "adam", "box"};
  nlohmann::json recipe = {
      {"method", "frank-wolfe"},
      {"lmo", lmo_names[static_cast<int>(config_.lmo)]},
      {"granularity", config_.granularity == Granularity::Taskwise ? "task" : "layer"},
      {"block_depth", config_.block_depth},
      {"score", config_.score == Score::Inner ? "inner" : "cosine"},
      {"top_k", config_.top_k},
      {"step_rule", step_names[static_cast<int>(config_.step_rule)]},
      {"step_scale", config_.step_scale},
      {"line_search_evals", config_.line_search_evals},
      {"soft_solver", soft_names[static_cast<int>(config_.soft_solver)]},
      {"soft_iters", config_.soft_iters},
      {"soft_lr", config_.soft_lr},
      {"epsilon", config_.epsilon},
      {"seed", config_.seed},
      {"start", start_description_},
      {"merge_fn", nlohmann::json::parse(merge_fn_->recipe_json())},
      {"leaves_hull", merge_fn_->leaves_hull()},
  };
  if (!filter_.empty())
    recipe["tensors"] = {{"include", filter_.include()}, {"exclude", filter_.exclude()}};
  // The base's buffers, written as the base has them (not merged).
  if (!carried_.empty()) recipe["from_base"] = carried_;
  // Only when set, so recipes without a budget keep their bytes.
  if (config_.max_evaluations > 0) recipe["max_evaluations"] = config_.max_evaluations;
  if (config_.lmo == Lmo::Soft)
    recipe["topk_rule"] = config_.topk_rule == TopkRule::PerTerm ? "per_term" : "summed";
  recipe["base"] = base_ ? base_->path() : "";
  recipe["pool"] = nlohmann::json::array();
  nlohmann::json filled = nlohmann::json::object();
  for (const auto &member : pool_) {
    recipe["pool"].push_back(member->path());
    if (!filled_names(*member).empty()) filled[member->path()] = filled_names(*member);
  }
  if (start_ && !filled_names(*start_).empty()) filled[start_->path()] = filled_names(*start_);
  // Members' tensors read from the base (fill_missing_from_base).
  if (!filled.empty()) recipe["filled_from_base"] = filled;
  return recipe.dump();
}

std::string Solver::history_json() const {
  nlohmann::json steps = nlohmann::json::array();
  for (const StepRecord &r : history_) steps.push_back(step_json(r));
  nlohmann::json out = {{"blocks", block_names_}, {"steps", steps}};
  return out.dump();
}

}  // namespace fw
