#include "merge/methods.h"

#include "merge/consensus.h"
#include "merge/counter_rng.h"
#include "merge/geometric.h"
#include "merge/model_stock.h"
#include "merge/sparsify.h"
#include "util/error.h"

namespace fw {

at::Tensor prepare_member(const MergeSpec &spec, const at::Tensor &base, const at::Tensor &member,
                          uint64_t tensor_index, uint64_t member_index) {
  if (spec.method == MergeMethod::Linear) return member.clone();
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
      return base.add(weighted_sum(prepared, spec.weights, spec.normalize), spec.scaling);
    case MergeMethod::Ties:
    case MergeMethod::DareTies:
    case MergeMethod::BreadcrumbsTies:
      return base.add(ties_disjoint(prepared, spec.weights, spec.normalize), spec.scaling);
    case MergeMethod::ModelStock:
      return model_stock_combine(base, prepared, model_stock_t);
    default:
      // The geometric methods need whole-tensor statistics and read the members themselves:
      // geometric_merge (resident) or StreamingMerge's GeometricMerge.
      fail(Status::Unsupported, std::string(merge_method_name(spec.method)) +
                                    " merges through merge_tensor or StreamingMerge only");
  }
  fail(Status::InvalidArgument,
       "unknown merge method " + std::to_string(static_cast<int>(spec.method)));
}

at::Tensor merge_tensor(const MergeSpec &spec, const at::Tensor &base,
                        const std::vector<at::Tensor> &members, uint64_t tensor_index) {
  if (is_geometric(spec.method)) return geometric_merge(spec, base, members);
  std::vector<at::Tensor> prepared;
  prepared.reserve(members.size());
  for (size_t i = 0; i < members.size(); ++i)
    prepared.push_back(prepare_member(spec, base, members[i], tensor_index, i));
  return combine_members(spec, base, prepared);
}

}  // namespace fw
