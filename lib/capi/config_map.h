// The public enums of fw_params, fw_merge_params, fw_dist_params and fw_log_level <-> the core's
// (solver/config.h, merge/merge_method.h, dist/comm.h, util/log_level.h). The core's enumerators
// are declared in the public order, so a cast maps them; the static_asserts check it value by
// value. Values from a caller are range-checked first (enums.h checked_enum). No LibTorch:
// defaults.cpp uses it in the fuzz build too.
#pragma once

#include <type_traits>

#include "dist/comm.h"
#include "fwmerge.h"
#include "merge/merge_method.h"
#include "solver/config.h"
#include "util/log_level.h"

namespace fw::capi {

template <typename Core, typename Public>
struct EnumPair : std::false_type {};

#define FW_ENUM_PAIR(pub_type, core_type) \
  template <>                             \
  struct EnumPair<core_type, pub_type> : std::true_type {}
#define FW_SAME_VALUE(pub, core) \
  static_assert(static_cast<int>(pub) == static_cast<int>(core), #pub " is " #core)

FW_ENUM_PAIR(fw_lmo, Lmo);
FW_SAME_VALUE(FW_LMO_HARD, Lmo::Hard);
FW_SAME_VALUE(FW_LMO_SOFT, Lmo::Soft);
FW_ENUM_PAIR(fw_granularity, Granularity);
FW_SAME_VALUE(FW_GRANULARITY_TASKWISE, Granularity::Taskwise);
FW_SAME_VALUE(FW_GRANULARITY_LAYERWISE, Granularity::Layerwise);
FW_ENUM_PAIR(fw_score, Score);
FW_SAME_VALUE(FW_SCORE_INNER, Score::Inner);
FW_SAME_VALUE(FW_SCORE_COSINE, Score::Cosine);
FW_ENUM_PAIR(fw_step_rule, StepRule);
FW_SAME_VALUE(FW_STEP_RULE_LINE_SEARCH, StepRule::LineSearch);
FW_SAME_VALUE(FW_STEP_RULE_SCHEDULE, StepRule::Schedule);
FW_SAME_VALUE(FW_STEP_RULE_CONSTANT, StepRule::Constant);
FW_ENUM_PAIR(fw_soft_solver, SoftSolver);
FW_SAME_VALUE(FW_SOFT_SOLVER_SIMPLEX, SoftSolver::Simplex);
FW_SAME_VALUE(FW_SOFT_SOLVER_CAPPED, SoftSolver::Capped);
FW_SAME_VALUE(FW_SOFT_SOLVER_ADAM, SoftSolver::Adam);
FW_SAME_VALUE(FW_SOFT_SOLVER_BOX, SoftSolver::Box);
FW_ENUM_PAIR(fw_topk_rule, TopkRule);
FW_SAME_VALUE(FW_TOPK_RULE_SUMMED, TopkRule::Summed);
FW_SAME_VALUE(FW_TOPK_RULE_PER_TERM, TopkRule::PerTerm);
FW_ENUM_PAIR(fw_device_type, DeviceKind);
FW_SAME_VALUE(FW_DEVICE_TYPE_CPU, DeviceKind::Cpu);
FW_SAME_VALUE(FW_DEVICE_TYPE_CUDA, DeviceKind::Cuda);
FW_ENUM_PAIR(fw_dist_loss, DistLoss);
FW_SAME_VALUE(FW_DIST_LOSS_SHARED, DistLoss::Shared);
FW_SAME_VALUE(FW_DIST_LOSS_SUM, DistLoss::Sum);
FW_ENUM_PAIR(fw_log_level, LogLevel);
FW_SAME_VALUE(FW_LOG_LEVEL_DEBUG, LogLevel::Debug);
FW_SAME_VALUE(FW_LOG_LEVEL_INFO, LogLevel::Info);
FW_SAME_VALUE(FW_LOG_LEVEL_WARN, LogLevel::Warn);
FW_ENUM_PAIR(fw_merge_method, MergeMethod);
FW_SAME_VALUE(FW_MERGE_METHOD_LINEAR, MergeMethod::Linear);
FW_SAME_VALUE(FW_MERGE_METHOD_TASK_ARITHMETIC, MergeMethod::TaskArithmetic);
FW_SAME_VALUE(FW_MERGE_METHOD_TIES, MergeMethod::Ties);
FW_SAME_VALUE(FW_MERGE_METHOD_DARE_LINEAR, MergeMethod::DareLinear);
FW_SAME_VALUE(FW_MERGE_METHOD_DARE_TIES, MergeMethod::DareTies);
FW_SAME_VALUE(FW_MERGE_METHOD_BREADCRUMBS, MergeMethod::Breadcrumbs);
FW_SAME_VALUE(FW_MERGE_METHOD_MODEL_STOCK, MergeMethod::ModelStock);
FW_SAME_VALUE(FW_MERGE_METHOD_BREADCRUMBS_TIES, MergeMethod::BreadcrumbsTies);
FW_SAME_VALUE(FW_MERGE_METHOD_SLERP, MergeMethod::Slerp);
FW_SAME_VALUE(FW_MERGE_METHOD_NUSLERP, MergeMethod::Nuslerp);
FW_SAME_VALUE(FW_MERGE_METHOD_MULTISLERP, MergeMethod::Multislerp);
FW_SAME_VALUE(FW_MERGE_METHOD_KARCHER, MergeMethod::Karcher);
FW_SAME_VALUE(FW_MERGE_METHOD_NEARSWAP, MergeMethod::Nearswap);
FW_SAME_VALUE(FW_MERGE_METHOD_ARCEE_FUSION, MergeMethod::ArceeFusion);
FW_SAME_VALUE(FW_MERGE_METHOD_PASSTHROUGH, MergeMethod::Passthrough);
FW_SAME_VALUE(FW_MERGE_METHOD_DELLA, MergeMethod::Della);
FW_SAME_VALUE(FW_MERGE_METHOD_DELLA_LINEAR, MergeMethod::DellaLinear);
FW_SAME_VALUE(FW_MERGE_METHOD_SCE, MergeMethod::Sce);
FW_SAME_VALUE(FW_MERGE_METHOD_RAM, MergeMethod::Ram);
FW_SAME_VALUE(FW_MERGE_METHOD_RAMPLUS_TL, MergeMethod::RamplusTl);
FW_SAME_VALUE(FW_MERGE_METHOD_TSV_M, MergeMethod::TsvM);
FW_SAME_VALUE(FW_MERGE_METHOD_ISO_C, MergeMethod::IsoC);
FW_SAME_VALUE(FW_MERGE_METHOD_ISO_CTS, MergeMethod::IsoCts);
FW_ENUM_PAIR(fw_merge_field, MergeField);
FW_SAME_VALUE(FW_MERGE_FIELD_WEIGHT, MergeField::Weight);
FW_SAME_VALUE(FW_MERGE_FIELD_DENSITY, MergeField::Density);
FW_SAME_VALUE(FW_MERGE_FIELD_BETA, MergeField::Beta);
FW_SAME_VALUE(FW_MERGE_FIELD_SCALING, MergeField::Scaling);
FW_SAME_VALUE(FW_MERGE_FIELD_EPSILON, MergeField::Epsilon);
FW_SAME_VALUE(FW_MERGE_FIELD_SCALE, MergeField::Scale);
FW_SAME_VALUE(FW_MERGE_FIELD_T, MergeField::T);
// WorkDtype names the three dtypes the solver keeps, which are fw_dtype's first three.
FW_SAME_VALUE(FW_DTYPE_F32, WorkDtype::F32);
FW_SAME_VALUE(FW_DTYPE_F16, WorkDtype::F16);
FW_SAME_VALUE(FW_DTYPE_BF16, WorkDtype::BF16);

#undef FW_SAME_VALUE
#undef FW_ENUM_PAIR

// A checked public value as the core's enum, and back.
template <typename Core, typename Public>
Core to_core_enum(Public value) {
  static_assert(EnumPair<Core, Public>::value, "no such enum pair");
  return static_cast<Core>(static_cast<int>(value));
}
template <typename Public, typename Core>
Public to_public_enum(Core value) {
  static_assert(EnumPair<Core, Public>::value, "no such enum pair");
  return static_cast<Public>(static_cast<int>(value));
}

}  // namespace fw::capi
