// The Frank-Wolfe merging solver (paper, Algorithm 1 and Section 3.3).
//
// State: the base (names/shapes/dtypes), the pool of checkpoints (streamed, never resident), the
// hull's vertices (pool + start point when it is not a member), the iterate theta_t (resident, in
// the working dtype on the solver's device: SolverConfig::work_dtype, device) and the step history.
// A step is transactional: everything is computed into locals and committed at the very end, so an
// exception (failing objective, NaN, abort) leaves the solver unchanged.
#pragma once

#include <ATen/ATen.h>

#include <atomic>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "dist/comm.h"
#include "io/checkpoint.h"
#include "io/tensor_filter.h"
#include "solver/config.h"
#include "solver/evaluator.h"
#include "solver/merge_fn.h"
#include "solver/placement.h"
#include "solver/step_record.h"
#include "util/error.h"
#include "util/log_level.h"

namespace fw {

// Thrown (Status::State) by a step that the evaluation budget (SolverConfig::max_evaluations) stops
// before an evaluation that would exceed it; fw_solver_run ends there without an error.
class BudgetSpent : public Error {
 public:
  using Error::Error;
};

class Solver {
 public:
  // `config` as lib/capi/read_params.cpp checked it (field ranges); the device's existence is
  // checked here (placement_of).
  explicit Solver(SolverConfig config);
  ~Solver();

  // fw_solver_set_params: Status::State when the tensor filter changes after set_base.
  void set_config(SolverConfig config);
  const SolverConfig &config() const { return config_; }
  const Placement &placement() const { return place_; }

  // Sharded solving (include/fwmerge.h, fw_dist_params): before set_base. The base, pool, theta
  // and views then hold this rank's shard of the merged tensors (lib/dist/shard_plan.h); blocks,
  // scores and the history are global and the same on every rank.
  void set_distributed(std::shared_ptr<Comm> comm);
  // Status::State unless this solver may join a group now (no base yet, no group joined): checked
  // before joining, which blocks on the other ranks, and again by set_distributed.
  void check_can_join() const;
  Comm *comm() const { return comm_.get(); }
  // The merged tensors of all ranks (base order) and the position of this rank's tensor t there.
  const std::vector<TensorMeta> &global_tensors() const;
  size_t global_index(size_t t) const { return comm_ ? global_index_[t] : t; }
  // Runs `local` and, on a sharded solver, sums `owned` over the ranks (Comm::exchange): the step
  // and the export run every piece of work that a rank may fail through it.
  void exchange(const char *what, std::vector<double> &owned,
                const std::function<void()> &local) const;

  void set_base(const std::string &path);
  int add_member(const std::string &path);
  void set_start_member(int index);
  void set_start_file(const std::string &path);
  // A start point computed elsewhere (e.g. a data-free merge): fp32 tensors in base order.
  void set_start_tensors(std::vector<std::pair<std::string, at::Tensor>> tensors,
                         const std::string &description);
  void set_merge_fn(std::unique_ptr<MergeFn> merge_fn);

  // Hooks: abort is polled between tensors and evaluations; log receives progress messages.
  void set_abort_hook(std::function<bool()> abort) { abort_ = std::move(abort); }
  void set_log_hook(std::function<void(LogLevel, const std::string &)> log) {
    log_ = std::move(log);
  }
  const std::function<bool()> &abort_hook() const { return abort_; }

  // fw_solver_interrupt: safe from any thread. The next poll_abort() of this solver's work (or of
  // work the C shim runs on its behalf: export, merges) consumes it and throws Status::Aborted.
  void interrupt() { interrupt_.store(true); }
  // Consumes a pending interrupt: true if there was one (ask/tell ends a waiting step with it).
  bool take_interrupt() { return interrupt_.exchange(false); }
  // Throws Status::Aborted when interrupted or when the abort hook asks; called between chunks.
  void poll_abort() const;
  const std::function<void(LogLevel, const std::string &)> &log_hook() const { return log_; }

  // One FW iteration; on exception the solver is exactly as before.
  const StepRecord &step(Evaluator &evaluator);

  bool has_base() const { return base_ != nullptr; }
  // The base as the merge sees it: only the tensors the configuration's filter selects.
  const Checkpoint &base() const;
  // The whole base file(s): what adapters are opened against and the export's pass-through
  // tensors are read from. Equals base() without a filter.
  const Checkpoint &unfiltered_base() const;
  // The base's integer and bool tensors (io/tensor_filter.h, carried_from_base): never merged, the
  // export writes the base's bytes.
  const std::set<std::string> &carried() const { return carried_; }
  // The base tensors the export writes as the base has them: those outside the user's filter, and
  // the carried ones.
  bool passes_through(const std::string &name) const {
    return !filter_.selects(name) || carried_.count(name) != 0;
  }
  bool has_pass_through() const { return !filter_.empty() || !carried_.empty(); }
  const TensorFilter &filter() const { return filter_; }
  // Opens a pool member or start file against the base and applies the filter.
  std::unique_ptr<Checkpoint> open_member(const std::string &path) const;
  const std::vector<std::unique_ptr<Checkpoint>> &pool() const { return pool_; }
  const std::vector<TensorMeta> &tensors() const;  // base order
  const std::vector<at::Tensor> &theta() const { return theta_; }
  const std::vector<StepRecord> &history() const { return history_; }
  // Objective evaluations of the steps in the history (what max_evaluations counts).
  int64_t evaluations_spent() const;
  const std::vector<std::string> &block_names() const { return block_names_; }
  const MergeFn &merge_fn() const { return *merge_fn_; }

  // The hull's vertices (pool members, then the start point when it is not a member) and one LMO
  // pass over them: exposed for benchmarks and diagnostics; step() uses the same code.
  struct Vertex {
    const Checkpoint *checkpoint;
    int32_t id;  // pool index, or -1 for the start vertex
  };
  struct LmoScores {
    std::vector<std::vector<double>> score;  // [vertex][block]: selection score (lower is better)
    std::vector<std::vector<double>> inner;  // [vertex][block]: <grad_b, vertex_b>
    std::vector<double> theta_inner;         // [block]: <grad_b, theta_b>
    std::vector<std::vector<int>>
        ranking;  // per block: vertex positions by score, ties by position
  };
  std::vector<Vertex> vertices() const;
  LmoScores lmo_pass(const std::vector<at::Tensor> &grad, const std::vector<Vertex> &verts) const;
  // One pass over the vertices' bytes for several gradients (the whole objective's and each
  // term's, FW_TOPK_RULE_PER_TERM): their scores, in the same order.
  std::vector<LmoScores> lmo_pass(const std::vector<const std::vector<at::Tensor> *> &grads,
                                  const std::vector<Vertex> &verts) const;

  // The start point (fw_solver_state_save records it).
  StartKind start_kind() const { return start_kind_; }
  int start_member() const { return start_member_; }
  const Checkpoint *start_checkpoint() const { return start_.get(); }  // File and Tensors
  const std::string &start_description() const { return start_description_; }

  // fw_solver_state_load's commit: replaces the start point, the iterate and the history with a
  // saved run's, already validated against this solver (lib/solver/state_file.cpp). Cannot fail.
  void restore(StartKind kind, int start_member, std::unique_ptr<Checkpoint> start,
               std::string description, std::vector<at::Tensor> theta,
               std::vector<StepRecord> history) noexcept;

  // JSON text for the export metadata.
  std::string recipe_json() const;
  std::string history_json() const;

 private:
  class CandidateCache;

  void require_base() const;
  // What opens pool members and start files: the user's filter without the carried tensors,
  // narrowed to the shard.
  TensorFilter member_filter() const {
    return comm_ ? shard_filter_ : filter_.without_carried(carried_);
  }
  // Status::Io when a file of the base, the pool or the start point changed on disk since it was
  // opened: a step never mixes bytes validated at fw_solver_pool_add with bytes written later.
  void check_files_unchanged() const;
  void require_no_steps(const char *what) const;
  void rebuild_blocks();
  void reset_iterate();
  void log(LogLevel level, const std::string &message) const;

  // The LMO's streaming pass over this rank's tensors: their rows of lmo_pass's per-tensor table
  // (the vertices' inner products and squared norms).
  void local_lmo_pass(const std::vector<const std::vector<at::Tensor> *> &grads,
                      const std::vector<Vertex> &verts, size_t stride,
                      std::vector<double> *rows) const;
  StepRecord hard_step(Evaluator &evaluator, double loss, const LmoScores &scores,
                       const std::vector<Vertex> &verts, std::vector<at::Tensor> *next) const;
  // selected[b]: the soft LMO's vertex positions of block b (select_candidates); evaluations:
  // those the step spent at theta_t.
  StepRecord soft_step(Evaluator &evaluator, double loss,
                       const std::vector<std::vector<int>> &selected, int evaluations,
                       const std::vector<Vertex> &verts, std::vector<at::Tensor> *next) const;
  uint64_t tensor_seed(size_t tensor_index) const;

  SolverConfig config_;
  TensorFilter filter_;
  Placement place_;
  std::unique_ptr<Checkpoint> base_;
  std::vector<std::unique_ptr<Checkpoint>> pool_;
  std::unique_ptr<Checkpoint> start_;  // start vertex that is not a pool member (file or tensors)
  StartKind start_kind_ = StartKind::Base;
  int start_member_ = -1;  // >= 0: start at this pool member
  std::string start_description_ = "base";
  std::unique_ptr<MergeFn> merge_fn_;
  std::vector<at::Tensor> theta_;
  std::vector<StepRecord> history_;
  std::vector<int> block_of_tensor_;  // this rank's tensors' (global) blocks
  std::vector<int> global_block_;     // the block of each global tensor
  std::shared_ptr<Comm> comm_;        // null: one process
  TensorFilter shard_filter_;
  std::set<std::string> carried_;           // of the current base
  std::vector<TensorMeta> global_tensors_;  // sharded only
  std::vector<size_t> global_index_;
  std::vector<std::string> block_names_;
  std::function<bool()> abort_;
  mutable std::atomic<bool> interrupt_{false};
  std::function<void(LogLevel, const std::string &)> log_;
};

}  // namespace fw
