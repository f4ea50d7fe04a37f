// The methods of 0.5.0 through the C API (fw_merge with fw_merge_params v8), each on a case whose
// result is computed here by hand, plus the struct's defaults and its per-tensor fields. The core's
// agreement with mergekit 0.1.5 is tests/merge/test_geometric_methods.cpp and
// test_sparse_methods.cpp; this file checks that the public fields reach it.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "capi_fixture.h"

namespace {

using capi::expect_near_all;

std::vector<float> merge(const fw_merge_params &p, const std::vector<float> &base,
                         const std::vector<std::vector<float>> &members) {
  return capi::merge_one_tensor("methods050", p, base, members);
}

TEST(Methods050, DefaultsOfTheV8Fields) {
  const fw_merge_params slerp = fw_default_merge_params(FW_MERGE_METHOD_SLERP);
  EXPECT_EQ(slerp.t, 0.5);
  EXPECT_EQ(fw_default_merge_params(FW_MERGE_METHOD_NEARSWAP).t, 1e-4);
  const fw_merge_params della = fw_default_merge_params(FW_MERGE_METHOD_DELLA);
  EXPECT_EQ(della.epsilon, 0.15);
  EXPECT_EQ(della.rescale, 1);
  EXPECT_EQ(della.normalize, 1);
  EXPECT_EQ(della.scaling, 1.0);
  EXPECT_EQ(fw_default_merge_params(FW_MERGE_METHOD_DELLA_LINEAR).normalize, 0);
  EXPECT_EQ(fw_default_merge_params(FW_MERGE_METHOD_RAM).epsilon, 1e-5);
  const fw_merge_params ramplus = fw_default_merge_params(FW_MERGE_METHOD_RAMPLUS_TL);
  EXPECT_EQ(ramplus.ram_r, 0.1);
  EXPECT_EQ(ramplus.ram_alpha, 0.2);
  const fw_merge_params karcher = fw_default_merge_params(FW_MERGE_METHOD_KARCHER);
  EXPECT_EQ(karcher.max_iter, 10);
  EXPECT_EQ(karcher.tol, 1e-5);
  const fw_merge_params multislerp = fw_default_merge_params(FW_MERGE_METHOD_MULTISLERP);
  EXPECT_EQ(multislerp.eps, 1e-8);
  EXPECT_EQ(multislerp.normalize, 1);
  EXPECT_EQ(fw_default_merge_params(FW_MERGE_METHOD_NUSLERP).nuslerp_flatten, 1);
  EXPECT_EQ(fw_default_merge_params(FW_MERGE_METHOD_NUSLERP).nuslerp_row_wise, 0);
  EXPECT_EQ(fw_default_merge_params(FW_MERGE_METHOD_SCE).select_topk, 1.0);
  EXPECT_EQ(fw_default_merge_params(FW_MERGE_METHOD_PASSTHROUGH).scale, 1.0);
  EXPECT_EQ(slerp.epsilons, nullptr);
}

// slerp of orthogonal unit vectors at t: cos(t pi/2) a + sin(t pi/2) b.
TEST(Methods050, SlerpOfOrthogonalUnitVectors) {
  fw_merge_params p = fw_default_merge_params(FW_MERGE_METHOD_SLERP);
  p.t = 1.0 / 3.0;
  const double c = std::cos(M_PI / 6), s = std::sin(M_PI / 6);
  expect_near_all(merge(p, {1, 0, 0}, {{0, 1, 0}}), {c, s, 0}, 1e-6);
}

// nearswap: entries closer than t take the member's value, far ones keep the base's share
// w = t / |a - b|.
TEST(Methods050, NearswapSwapsNearEntries) {
  fw_merge_params p = fw_default_merge_params(FW_MERGE_METHOD_NEARSWAP);
  p.t = 0.5;
  // |diff| = 0.25 (w = 1), 2 (w = 0.25), 0 (w = 1: clamped at 1e-6).
  expect_near_all(merge(p, {1, 0, 3}, {{1.25f, 2, 3}}), {1.25, 0.25 * 2, 3}, 1e-6);
}

TEST(Methods050, PassthroughScalesTheMember) {
  fw_merge_params p = fw_default_merge_params(FW_MERGE_METHOD_PASSTHROUGH);
  p.scale = 2.0;
  expect_near_all(merge(p, {9, 9, 9}, {{1, -2, 0.5f}}), {2, -4, 1}, 0.0);
}

// ram: each entry's mean over the members that change it by more than epsilon.
TEST(Methods050, RamAveragesTheMembersThatChangeAnEntry) {
  fw_merge_params p = fw_default_merge_params(FW_MERGE_METHOD_RAM);
  p.epsilon = 0.1;
  // tau_0 = (1, 0.05, 2), tau_1 = (3, 0, 0): entry 0 mean of both (2), entry 1 none counts
  // (|0.05| < 0.1: base), entry 2 only member 0 (2).
  expect_near_all(merge(p, {1, 1, 1}, {{2, 1.05f, 3}, {4, 1, 1}}), {3, 1, 3}, 1e-6);
}

// della with density 1 keeps everything (keep probability 1 at every rank): TIES without trim.
TEST(Methods050, DellaAtDensityOneIsSignConsensus) {
  fw_merge_params p = fw_default_merge_params(FW_MERGE_METHOD_DELLA);
  p.epsilon = 0.0;
  // tau_0 = (1, -1), tau_1 = (3, 2): entry 0 both +, mean 2; entry 1 sum +1 elects +: 2.
  expect_near_all(merge(p, {0, 0}, {{1, -1}, {3, 2}}), {2, 2}, 1e-6);
}

TEST(Methods050, KarcherOfOneDirectionIsThatDirection) {
  const fw_merge_params p = fw_default_merge_params(FW_MERGE_METHOD_KARCHER);
  // Karcher mean of two parallel vectors of norms 1 and 3: the direction, at the mean norm 2.
  expect_near_all(merge(p, {0, 0}, {{0.6f, 0.8f}, {1.8f, 2.4f}}), {1.2, 1.6}, 1e-5);
}

// Per-tensor t (FW_MERGE_FIELD_T): the override's t for the tensors it matches.
TEST(Methods050, TOverrideAppliesPerTensor) {
  fw_merge_params p = fw_default_merge_params(FW_MERGE_METHOD_NEARSWAP);
  p.t = 0.0;  // nearswap with t 0: the base
  const fw_merge_override o[] = {{"w", -1, FW_MERGE_FIELD_T, 100.0}};  // t 100: the member
  p.overrides = o;
  p.n_overrides = 1;
  expect_near_all(merge(p, {0, 0}, {{5, -5}}), {5, -5}, 0.0);
}

// The new fields' checks answer before any file is read, naming the field.
TEST(Methods050, BadValuesAreRefusedNamingTheField) {
  const char *const one[] = {"/nonexistent/m0.safetensors"};
  const char *const two[] = {"/nonexistent/m0.safetensors", "/nonexistent/m1.safetensors"};
  const double eps_half[] = {0.5, 0.5};
  struct Row {
    fw_merge_method method;
    size_t n;
    const char *names;  // what the message must contain
    void (*spoil)(fw_merge_params &);
  };
  static const fw_merge_override t_on_della[] = {{"*", -1, FW_MERGE_FIELD_T, 0.5}};
  static const fw_merge_override scale_member[] = {{"*", 1, FW_MERGE_FIELD_SCALE, 2.0}};
  const std::vector<Row> rows = {
      {FW_MERGE_METHOD_SLERP, 1, "t", [](fw_merge_params &p) { p.t = NAN; }},
      {FW_MERGE_METHOD_NEARSWAP, 1, "t", [](fw_merge_params &p) { p.t = INFINITY; }},
      {FW_MERGE_METHOD_SLERP, 2, "exactly 1", [](fw_merge_params &) {}},
      {FW_MERGE_METHOD_DELLA, 2, "epsilon", [](fw_merge_params &p) { p.epsilon = -0.1; }},
      {FW_MERGE_METHOD_DELLA, 2, "epsilon",
       [](fw_merge_params &p) {
         p.density = 0.5;
         p.epsilon = 0.6;
       }},
      {FW_MERGE_METHOD_RAMPLUS_TL, 2, "epsilon", [](fw_merge_params &p) { p.epsilon = 0.0; }},
      {FW_MERGE_METHOD_RAMPLUS_TL, 2, "alpha", [](fw_merge_params &p) { p.ram_alpha = -1.0; }},
      {FW_MERGE_METHOD_RAMPLUS_TL, 2, "r", [](fw_merge_params &p) { p.ram_r = NAN; }},
      {FW_MERGE_METHOD_SCE, 2, "select_topk", [](fw_merge_params &p) { p.select_topk = 1.5; }},
      {FW_MERGE_METHOD_MULTISLERP, 2, "eps", [](fw_merge_params &p) { p.eps = 0.0; }},
      {FW_MERGE_METHOD_KARCHER, 2, "max_iter", [](fw_merge_params &p) { p.max_iter = -1; }},
      {FW_MERGE_METHOD_KARCHER, 2, "tol", [](fw_merge_params &p) { p.tol = -1.0; }},
      {FW_MERGE_METHOD_PASSTHROUGH, 1, "scale", [](fw_merge_params &p) { p.scale = NAN; }},
      {FW_MERGE_METHOD_PASSTHROUGH, 2, "exactly one", [](fw_merge_params &) {}},
      {FW_MERGE_METHOD_NUSLERP, 1, "exactly 2", [](fw_merge_params &) {}},
      {FW_MERGE_METHOD_DELLA, 2, "only slerp and nearswap take t",
       [](fw_merge_params &p) {
         p.overrides = t_on_della;
         p.n_overrides = 1;
       }},
      {FW_MERGE_METHOD_PASSTHROUGH, 1, "member",
       [](fw_merge_params &p) {
         p.overrides = scale_member;
         p.n_overrides = 1;
       }},
  };
  for (const Row &row : rows) {
    fw_merge_params p = fw_default_merge_params(row.method);
    row.spoil(p);
    const fw_status status = fw_merge(&p, "/nonexistent/base.safetensors", row.n == 1 ? one : two,
                                      row.n, "/nonexistent/out", nullptr);
    EXPECT_EQ(status, FW_ERR_INVALID_ARGUMENT) << row.names << ": " << fw_last_error();
    EXPECT_NE(std::string(fw_last_error()).find(row.names), std::string::npos)
        << row.names << ": " << fw_last_error();
  }
  // epsilons: della's per member; others refuse them.
  fw_merge_params ram = fw_default_merge_params(FW_MERGE_METHOD_RAM);
  ram.epsilons = eps_half;
  EXPECT_EQ(fw_merge(&ram, "/nonexistent/base.safetensors", two, 2, "/nonexistent/out", nullptr),
            FW_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(fw_last_error()).find("epsilons"), std::string::npos) << fw_last_error();
}

}  // namespace
