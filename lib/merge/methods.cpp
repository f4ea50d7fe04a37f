#include "merge/methods.h"

#include "merge/consensus.h"
#include "merge/counter_rng.h"
#include "merge/della.h"
#include "merge/geometric.h"
#include "merge/model_stock.h"
#include "merge/ram.h"
#include "merge/sce.h"
#include "merge/sparsify.h"
#include "merge/svd_merge.h"
#include "util/error.h"

namespace fw {

at::Tensor prepare_member(const MergeSpec &spec, const at::Tensor &base, const at::Tensor &member,
                          uint64_t tensor_index, uint64_t member_index) {
  // Passthrough ignores the base, as mergekit's (its base is not an input).
  if (spec.method == MergeMethod::Linear || spec.method == MergeMethod::Passthrough)
    return member.clone();
  const at::Tensor tau = member.sub(base);
  switch (spec.method) {
    case MergeMethod::Ties:
      return magnitude_trim(tau, spec.density_of(member_index));
    case MergeMethod::DareLinear:
    case MergeMethod::DareTies: {
      const double drop_rate = spec.drop_rate_of(member_index);
      if (drop_rate == 0.0) return tau;
      return dare_drop(tau, drop_rate, rng::stream_key(spec.seed, tensor_index, member_index));
    }
    case MergeMethod::Breadcrumbs:
    case MergeMethod::BreadcrumbsTies:
      return breadcrumbs_trim(tau, spec.density_of(member_index), spec.beta_of(member_index));
    case MergeMethod::Della:
    case MergeMethod::DellaLinear:
      return della_prune(tau, spec.density_of(member_index), spec.epsilon_of(member_index),
                         spec.rescale, rng::stream_key(spec.seed, tensor_index, member_index));
    default:
      return tau;
  }
}

at::Tensor combine_members(const MergeSpec &spec, const at::Tensor &base,
                           const std::vector<at::Tensor> &prepared) {
  if (spec.method == MergeMethod::ModelStock) return model_stock_merge(base, prepared);
  return combine_chunk(spec, base, prepared, 0.0);
}

at::Tensor combine_chunk(const MergeSpec &spec, const at::Tensor &base,
                         const std::vector<at::Tensor> &prepared, double model_stock_t) {
  switch (spec.method) {
    case MergeMethod::Linear:
      return weighted_sum(prepared, spec.weights, spec.normalize);
    case MergeMethod::TaskArithmetic:
    case MergeMethod::DareLinear:
    case MergeMethod::Breadcrumbs:
    case MergeMethod::DellaLinear:
      return base.add(weighted_sum(prepared, spec.weights, spec.normalize), spec.scaling);
    // DELLA's consensus is TIES' (mergekit: ConsensusMethod.sum), with this library's rule where
    // the weighted sum is exactly 0 (no member agrees; mergekit elects +).
    case MergeMethod::Ties:
    case MergeMethod::DareTies:
    case MergeMethod::BreadcrumbsTies:
    case MergeMethod::Della:
      return base.add(ties_disjoint(prepared, spec.weights, spec.normalize), spec.scaling);
    case MergeMethod::ModelStock:
      return model_stock_combine(base, prepared, model_stock_t);
    case MergeMethod::Sce:
      // Its weights and selection are whole-tensor statistics: merge_tensor calls sce_merge,
      // StreamingMerge gathers them in passes.
      fail(Status::Internal, "sce has no chunk combine without its statistics");
    case MergeMethod::Passthrough:
      // tensor * scale, as torch multiplies an fp32 tensor by a Python float.
      return prepared[0].mul(spec.scale);
    case MergeMethod::Ram:
    case MergeMethod::RamplusTl:
      // ramplus_tl's lambdas count over the whole tensor: merge_tensor calls ram_merge,
      // StreamingMerge counts in a pass first; both combine through ram_combine_range.
      fail(Status::Internal, "ram has no chunk combine here; use ram_combine_range");
    default:
      // The geometric methods need whole-tensor statistics and read the members themselves:
      // geometric_merge (resident) or StreamingMerge's GeometricMerge; the SVD methods need whole
      // matrices: svd_merge or StreamingMerge's SvdMerge.
      fail(Status::Unsupported, std::string(merge_method_name(spec.method)) +
                                    " merges through merge_tensor or StreamingMerge only");
  }
  fail(Status::InvalidArgument,
       "unknown merge method " + std::to_string(static_cast<int>(spec.method)));
}

at::Tensor merge_tensor(const MergeSpec &spec, const at::Tensor &base,
                        const std::vector<at::Tensor> &members, uint64_t tensor_index) {
  check_method_params(spec, members.size());
  if (spec.method == MergeMethod::Sce) return sce_merge(base, members, spec.select_topk);
  if (is_ram(spec.method))
    return ram_merge(base, members, spec.epsilon_of(0), spec.method == MergeMethod::RamplusTl,
                     spec.ram_r, spec.ram_alpha);
  if (is_geometric(spec.method)) return geometric_merge(spec, base, members);
  if (is_svd_merge(spec.method)) return svd_merge(spec, base, members);
  std::vector<at::Tensor> prepared;
  prepared.reserve(members.size());
  for (size_t i = 0; i < members.size(); ++i)
    prepared.push_back(prepare_member(spec, base, members[i], tensor_index, i));
  return combine_members(spec, base, prepared);
}

}  // namespace fw
