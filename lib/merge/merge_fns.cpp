#include "merge/merge_fns.h"

#include "merge/consensus.h"
#include "merge/counter_rng.h"
#include "merge/della.h"
#include "merge/geometric.h"
#include "merge/sparsify.h"
#include "util/error.h"

namespace fw {

namespace {

class MethodMergeFn : public MergeFn {
 public:
  explicit MethodMergeFn(MergeSpec spec) : spec_(std::move(spec)) {}

  std::string name() const override { return merge_method_name(spec_.method); }
  bool leaves_hull() const override { return true; }

  at::Tensor apply(const at::Tensor &theta, const std::vector<at::Tensor> &deltas,
                   uint64_t seed) const override {
    if (!theta.device().is_cpu()) {
      // DARE's counter-based draws and the breadcrumbs ranking walk host memory: on a GPU the
      // tensor visits the CPU (one tensor at a time) and the result goes back.
      std::vector<at::Tensor> host;
      for (const at::Tensor &d : deltas) host.push_back(d.cpu());
      return apply(theta.cpu(), host, seed).to(theta.device());
    }
    if (deltas.empty()) return theta.clone();
    std::vector<at::Tensor> shaped;
    shaped.reserve(deltas.size());
    for (size_t j = 0; j < deltas.size(); ++j) shaped.push_back(shape(deltas[j], seed, j));
    return theta.add(combine(shaped), spec_.scaling);
  }

  std::string recipe_json() const override {
    nlohmann::json j = spec_json(spec_);
    j["role"] = "fw_merge_function";
    j.erase("weights");
    return j.dump();
  }

 private:
  // Sparsifies one direction; DARE's stream for direction j is keyed by the solver's per-tensor
  // seed (stream_key(seed, 0, j)).
  at::Tensor shape(const at::Tensor &delta, uint64_t seed, size_t j) const {
    switch (spec_.method) {
      case MergeMethod::Ties:
        return magnitude_trim(delta, spec_.density);
      case MergeMethod::DareLinear:
      case MergeMethod::DareTies:
        if (spec_.drop_rate == 0.0) return delta;
        return dare_drop(delta, spec_.drop_rate, rng::stream_key(seed, 0, j));
      case MergeMethod::Breadcrumbs:
      case MergeMethod::BreadcrumbsTies:
        return breadcrumbs_trim(delta, spec_.density, spec_.beta);
      case MergeMethod::Della:
      case MergeMethod::DellaLinear:  // keyed like DARE's draws
        return della_prune(delta, spec_.density, spec_.epsilon, spec_.rescale,
                           rng::stream_key(seed, 0, j));
      default:
        return delta;
    }
  }

  at::Tensor combine(const std::vector<at::Tensor> &shaped) const {
    switch (spec_.method) {
      case MergeMethod::Ties:
      case MergeMethod::DareTies:
      case MergeMethod::BreadcrumbsTies:
      case MergeMethod::Della:
        return ties_disjoint(shaped, {}, spec_.normalize);
      default:
        return weighted_sum(shaped, {}, false);
    }
  }

  MergeSpec spec_;
};

}  // namespace

std::unique_ptr<MergeFn> make_method_merge_fn(const MergeSpec &spec) {
  if (spec.method == MergeMethod::Linear)
    fail(Status::Unsupported, "linear as a step merge function is the default convex combination");
  if (spec.method == MergeMethod::ModelStock)
    fail(Status::Unsupported, "model_stock is not available as a step merge function");
  // SCE's weights and RAM's counts are statistics of the members' task vectors, which a step's
  // directions are not; passthrough has one input.
  if (spec.method == MergeMethod::Sce || is_ram(spec.method) ||
      spec.method == MergeMethod::Passthrough)
    fail(Status::Unsupported, std::string(merge_method_name(spec.method)) +
                                  " is not available as a step merge function");
  if (is_della(spec.method)) check_method_params(spec, 1);
  // The SVD methods factor whole task-vector matrices of a pool, not a step's directions.
  if (is_svd_merge(spec.method))
    fail(Status::Unsupported, std::string(merge_method_name(spec.method)) +
                                  " is not available as a step merge function");
  if (is_geometric(spec.method))  // they interpolate whole members, not FW step directions
    fail(Status::Unsupported, std::string(merge_method_name(spec.method)) +
                                  " is not available as a step merge function");
  if (!spec.weights.empty())
    fail(Status::InvalidArgument, "a step merge function takes no weights; pass NULL");
  return std::make_unique<MethodMergeFn>(spec);
}

}  // namespace fw
