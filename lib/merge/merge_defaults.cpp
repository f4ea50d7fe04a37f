#include "merge/merge_defaults.h"

namespace fw {

MergeDefaults merge_defaults(MergeMethod method) {
  MergeDefaults d;
  switch (method) {
    case MergeMethod::TaskArithmetic:
      d.scaling = 0.3;
      break;
    case MergeMethod::Ties:
      d.density = 0.2;
      d.normalize = true;
      break;
    case MergeMethod::DareLinear:
    case MergeMethod::DareTies:
      d.drop_rate = 0.9;
      break;
    case MergeMethod::Breadcrumbs:
    case MergeMethod::BreadcrumbsTies:
      d.density = 0.9;
      d.beta = 0.01;
      break;
    case MergeMethod::ModelStock:
      break;
    case MergeMethod::Linear:
      d.normalize = true;
      break;
    // mergekit's: density 1 (no pruning unless asked), lambda (scaling) 1, rescale on; della
    // normalizes over the agreeing members, della_linear does not.
    case MergeMethod::Della:
      d.normalize = true;
      break;
    case MergeMethod::DellaLinear:
    case MergeMethod::Sce:
    case MergeMethod::Passthrough:
      break;
    case MergeMethod::Ram:
    case MergeMethod::RamplusTl:
      d.epsilon = 1e-5;
      break;
    // mergekit requires t for slerp and nearswap (no default): the arc's midpoint, and nearswap's
    // threshold of the model it was introduced with (alchemonaut/QuartetAnemoi-70B-t0.0001).
    case MergeMethod::Slerp:
      break;
    case MergeMethod::Nearswap:
      d.t = 1e-4;
      break;
    case MergeMethod::Multislerp:
      d.normalize = true;  // mergekit's normalize_weights (default true)
      break;
    case MergeMethod::Nuslerp:
    case MergeMethod::Karcher:
    case MergeMethod::ArceeFusion:
      break;
    // alpha (scaling) 1: TSV-M's published value; the Iso papers tune alpha on validation data
    // and publish no fixed one, so 1 (the merged spectrum at the task-arithmetic sum's mean
    // singular value) is the neutral choice. Iso-CTS: the authors' common_space_fraction 0.8
    // (config/method/iso_cts.yaml of danielm1405/iso-merging).
    case MergeMethod::TsvM:
    case MergeMethod::IsoC:
      break;
    case MergeMethod::IsoCts:
      d.select_topk = 0.8;
      break;
  }
  return d;
}

}  // namespace fw
