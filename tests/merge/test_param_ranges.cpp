// Numeric merge parameters that are finite in double but overflow the fp32 arithmetic of the
// merges: refused as FW_ERR_INVALID_ARGUMENT naming the field, before anything is read or written
// (two weights of 1.7e308 used to end in FW_ERR_INTERNAL, `lambda: 1e308` in an all-inf model).
#include <gtest/gtest.h>

#include <string>

#include "capi/read_merge_params.h"
#include "capi/status_map.h"
#include "fwmerge.h"
#include "merge/merge_spec.h"
#include "util/error.h"

namespace {

std::string error_of(const fw_merge_params &p, size_t n) {
  try {
    fw::capi::read_merge_params(&p, n);
  } catch (const fw::Error &e) {
    EXPECT_EQ(fw::capi::to_public(e.code()), FW_ERR_INVALID_ARGUMENT) << e.what();
    return e.what();
  }
  return "(no error)";
}

TEST(ParamRanges, WeightsWhoseSumOverflowsAreRefusedNamingTheWeights) {
  const double big[] = {1.7e308, 1.7e308};
  fw_merge_params p = fw_default_merge_params(FW_MERGE_METHOD_LINEAR);
  p.weights = big;
  const std::string e = error_of(p, 2);
  EXPECT_NE(e.find("linear: weight 0 (1.7e+308) overflows fp32"), std::string::npos) << e;
  // Each within fp32, their magnitudes together not.
  const double two[] = {3e38, 3e38};
  p.weights = two;
  const std::string sum = error_of(p, 2);
  EXPECT_NE(sum.find("linear: weights: the weights' magnitudes add up to 6e+38"), std::string::npos)
      << sum;
  const double fine[] = {3e37, -2e37};
  p.weights = fine;
  EXPECT_EQ(error_of(p, 2), "(no error)");
}

TEST(ParamRanges, ScalingBeyondFp32IsRefusedNamingScaling) {
  fw_merge_params p = fw_default_merge_params(FW_MERGE_METHOD_TASK_ARITHMETIC);
  p.scaling = 1e308;
  EXPECT_NE(error_of(p, 2).find("task_arithmetic: scaling (1e+308) overflows fp32"),
            std::string::npos);
  p.scaling = -1e39;
  EXPECT_NE(error_of(p, 2).find("scaling (-1e+39) overflows fp32"), std::string::npos);
  p.scaling = 1e30;
  EXPECT_EQ(error_of(p, 2), "(no error)");
}

TEST(ParamRanges, OverridesBeyondFp32AreRefusedNamingTheEntry) {
  fw_merge_params p = fw_default_merge_params(FW_MERGE_METHOD_TIES);
  const fw_merge_override scaling = {"*", -1, FW_MERGE_FIELD_SCALING, 1e308};
  p.overrides = &scaling;
  p.n_overrides = 1;
  EXPECT_NE(error_of(p, 2).find("overrides[0] (scaling): scaling (1e+308) overflows fp32"),
            std::string::npos)
      << error_of(p, 2);
  const fw_merge_override weight = {"*", 1, FW_MERGE_FIELD_WEIGHT, 1e300};
  p.overrides = &weight;
  EXPECT_NE(error_of(p, 2).find("overrides[0] (weight): the weight (1e+300) overflows fp32"),
            std::string::npos)
      << error_of(p, 2);
  // Per tensor: overrides that each fit but add up beyond fp32 for the tensors they match.
  const fw_merge_override both[] = {{"a*", 0, FW_MERGE_FIELD_WEIGHT, 3e38},
                                    {"a*", 1, FW_MERGE_FIELD_WEIGHT, 3e38}};
  p.overrides = both;
  p.n_overrides = 2;
  const fw::MergeSpec spec = fw::capi::read_merge_params(&p, 2);
  EXPECT_NO_THROW(spec.for_tensor("b", 2));
  try {
    spec.for_tensor("a.weight", 2);
    ADD_FAILURE() << "no error";
  } catch (const fw::Error &e) {
    EXPECT_EQ(fw::capi::to_public(e.code()), FW_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(e.what()).find("tensor \"a.weight\" (after overrides)"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
