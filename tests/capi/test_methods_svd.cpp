// The SVD methods (FW_MERGE_METHOD_TSV_M, ISO_C, ISO_CTS) through the C API: their defaults, the
// fields they read (scaling as alpha, select_topk as iso_cts's common_space_fraction, the
// per-tensor scaling) reaching the core on cases computed by hand, and their refusals before any
// file is read. The methods' arithmetic is tests/merge/test_isotropic_methods.cpp's.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "capi_fixture.h"

namespace {

using capi::expect_near_all;

std::vector<float> merge(const fw_merge_params &p, const std::vector<float> &base,
                         const std::vector<std::vector<float>> &members,
                         const std::vector<int64_t> &shape) {
  return capi::merge_one_tensor("methods_svd", p, base, members, shape);
}

TEST(MethodsSvd, Defaults) {
  for (fw_merge_method m :
       {FW_MERGE_METHOD_TSV_M, FW_MERGE_METHOD_ISO_C, FW_MERGE_METHOD_ISO_CTS}) {
    fw_merge_params p;
    EXPECT_EQ(fw_merge_params_init(&p, m, sizeof p), FW_OK) << fw_last_error();
    EXPECT_EQ(p.method, m);
    EXPECT_EQ(p.scaling, 1.0);
    EXPECT_EQ(p.weights, nullptr);
  }
  EXPECT_EQ(fw_default_merge_params(FW_MERGE_METHOD_ISO_CTS).select_topk, 0.8);
  EXPECT_EQ(FW_MERGE_METHOD_TSV_M, 20);
  EXPECT_EQ(FW_MERGE_METHOD_ISO_C, 21);
  EXPECT_EQ(FW_MERGE_METHOD_ISO_CTS, 22);
}

// tau_1 = 3 e1e1^T, tau_2 = e2e2^T: tsv_m keeps both (delta = diag(3, 1)); iso_c flattens the
// spectrum to its mean 2 (delta = 2 I); alpha is `scaling`.
TEST(MethodsSvd, ScalingIsAlpha) {
  fw_merge_params p = fw_default_merge_params(FW_MERGE_METHOD_TSV_M);
  p.scaling = 0.5;
  const std::vector<float> base = {1, 1, 1, 1};
  const std::vector<std::vector<float>> members = {{4, 1, 1, 1}, {1, 1, 1, 2}};
  expect_near_all(merge(p, base, members, {2, 2}), {2.5, 1, 1, 1.5}, 1e-6);
  p = fw_default_merge_params(FW_MERGE_METHOD_ISO_C);
  p.scaling = 0.5;
  expect_near_all(merge(p, base, members, {2, 2}), {2, 1, 1, 2}, 1e-6);
}

// select_topk is iso_cts's common_space_fraction. 3 x 3, tau_1 = diag(4, 2, 0.5),
// tau_2 = diag(4, 0, 1), fraction 0.4: one common direction (e1, 8) and one per member, (e2, 2)
// and (e3, 1): delta = mean(2, 1, 8) I = 11/3 I. Fraction 1: the sum's whole spectrum, iso_c's
// mean(8, 2, 1.5) I.
TEST(MethodsSvd, SelectTopkIsTheCommonSpaceFraction) {
  fw_merge_params p = fw_default_merge_params(FW_MERGE_METHOD_ISO_CTS);
  const std::vector<float> base(9, 0.0f);
  const std::vector<std::vector<float>> members = {{4, 0, 0, 0, 2, 0, 0, 0, 0.5f},
                                                   {4, 0, 0, 0, 0, 0, 0, 0, 1}};
  p.select_topk = 0.4;
  const double x = 11.0 / 3, y = 11.5 / 3;
  expect_near_all(merge(p, base, members, {3, 3}), {x, 0, 0, 0, x, 0, 0, 0, x}, 2e-6);
  p.select_topk = 1.0;
  expect_near_all(merge(p, base, members, {3, 3}), {y, 0, 0, 0, y, 0, 0, 0, y}, 2e-6);
}

// FW_MERGE_FIELD_SCALING sets alpha per tensor.
TEST(MethodsSvd, ScalingOverrideAppliesPerTensor) {
  fw_merge_params p = fw_default_merge_params(FW_MERGE_METHOD_ISO_C);
  const fw_merge_override o[] = {{"w", -1, FW_MERGE_FIELD_SCALING, 2.0}};
  p.overrides = o;
  p.n_overrides = 1;
  expect_near_all(merge(p, {0, 0, 0, 0}, {{3, 0, 0, 0}, {0, 0, 0, 1}}, {2, 2}), {4, 0, 0, 4}, 1e-6);
}

// Refused before any file is read (the paths do not exist), naming the field.
TEST(MethodsSvd, BadValuesAreRefusedNamingTheField) {
  const char *const two[] = {"/nonexistent/m0.safetensors", "/nonexistent/m1.safetensors"};
  static const double weights[] = {1.0, 2.0};
  static const fw_merge_override weight_override[] = {{"*", 0, FW_MERGE_FIELD_WEIGHT, 2.0}};
  static const fw_merge_override density_override[] = {{"*", 0, FW_MERGE_FIELD_DENSITY, 0.5}};
  static const fw_merge_override scale_override[] = {{"*", -1, FW_MERGE_FIELD_SCALE, 2.0}};
  struct Row {
    fw_merge_method method;
    size_t n;
    const char *names;  // what the message must contain
    void (*spoil)(fw_merge_params &);
  };
  const std::vector<Row> rows = {
      {FW_MERGE_METHOD_ISO_CTS, 2, "common_space_fraction",
       [](fw_merge_params &p) { p.select_topk = 1.5; }},
      {FW_MERGE_METHOD_ISO_CTS, 2, "common_space_fraction",
       [](fw_merge_params &p) { p.select_topk = NAN; }},
      {FW_MERGE_METHOD_ISO_C, 2, "scaling", [](fw_merge_params &p) { p.scaling = INFINITY; }},
      {FW_MERGE_METHOD_TSV_M, 2, "takes no weights",
       [](fw_merge_params &p) { p.weights = weights; }},
      {FW_MERGE_METHOD_ISO_C, 2, "takes no weights",
       [](fw_merge_params &p) {
         p.overrides = weight_override;
         p.n_overrides = 1;
       }},
      {FW_MERGE_METHOD_ISO_CTS, 2, "takes no density",
       [](fw_merge_params &p) {
         p.overrides = density_override;
         p.n_overrides = 1;
       }},
      {FW_MERGE_METHOD_TSV_M, 2, "only passthrough",
       [](fw_merge_params &p) {
         p.overrides = scale_override;
         p.n_overrides = 1;
       }},
      {FW_MERGE_METHOD_TSV_M, 0, "pool is empty", [](fw_merge_params &) {}},
  };
  for (const Row &row : rows) {
    fw_merge_params p = fw_default_merge_params(row.method);
    row.spoil(p);
    const fw_status status =
        fw_merge(&p, "/nonexistent/base.safetensors", two, row.n, "/nonexistent/out", nullptr);
    EXPECT_EQ(status, FW_ERR_INVALID_ARGUMENT) << row.names << ": " << fw_last_error();
    EXPECT_NE(std::string(fw_last_error()).find(row.names), std::string::npos)
        << row.names << ": " << fw_last_error();
  }
}

}  // namespace
