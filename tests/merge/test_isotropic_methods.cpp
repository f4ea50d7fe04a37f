// The SVD methods (merge/svd_merge.h: tsv_m, iso_c, iso_cts) against closed forms worked out by
// hand (below, each with its derivation), the rank shares against the authors' Python rules
// evaluated by hand, against the authors' algorithms in float64 (values pasted from
// scripts/peers/svd_methods_reference.py), streamed against resident, and their refusals of bad
// input.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "io/checkpoint.h"
#include "merge/merge_defaults.h"
#include "merge/merge_fns.h"
#include "merge/merge_spec.h"
#include "merge/methods.h"
#include "merge/streaming.h"
#include "merge/svd_merge.h"
#include "merge_test_util.h"
#include "streamed_pool.h"
#include "test_support.h"
#include "util/error.h"
#include "util/thread_scope.h"

namespace {

using fw::MergeMethod;
using mt::expect_near;
using mt::vec;

fw::MergeSpec spec_of(MergeMethod method, double scaling = 1.0) {
  fw::MergeSpec s;
  const fw::MergeDefaults d = fw::merge_defaults(method);
  s.method = method;
  s.scaling = scaling;
  s.normalize = d.normalize;
  s.select_topk = d.select_topk;
  return s;
}

at::Tensor merged(const fw::MergeSpec &s, const at::Tensor &base,
                  const std::vector<at::Tensor> &members) {
  return fw::merge_tensor(s, base, members, 0);
}

// Members base + tau_i.
std::vector<at::Tensor> members_of(const at::Tensor &base, const std::vector<at::Tensor> &taus) {
  std::vector<at::Tensor> out;
  for (const at::Tensor &t : taus) out.push_back(base + t);
  return out;
}

TEST(SvdMethods, DefaultsAreThePublishedOnes) {
  EXPECT_EQ(fw::merge_defaults(MergeMethod::TsvM).scaling, 1.0);
  EXPECT_EQ(fw::merge_defaults(MergeMethod::IsoC).scaling, 1.0);
  EXPECT_EQ(fw::merge_defaults(MergeMethod::IsoCts).scaling, 1.0);
  EXPECT_EQ(fw::merge_defaults(MergeMethod::IsoCts).select_topk, 0.8);
  EXPECT_STREQ(fw::merge_method_name(MergeMethod::TsvM), "tsv_m");
  EXPECT_STREQ(fw::merge_method_name(MergeMethod::IsoC), "iso_c");
  EXPECT_STREQ(fw::merge_method_name(MergeMethod::IsoCts), "iso_cts");
}

// tau_1 = a e1 e1^T, tau_2 = b e2 e2^T (2 x 2, a > b > 0): orthogonal row and column spaces.
// tsv_m: k = int(2 * (1 / 2)) = 1 triplet each, (e1, a, e1) and (e2, b, e2); U_cat = V_cat = I
// are orthogonal already, so delta = a e1e1^T + b e2e2^T = tau_1 + tau_2.
// iso_c: sum = diag(a, b), S = (a, b), U V^T = I: delta = (a + b) / 2 I.
// iso_cts (0.8): k_c = int(1.6) = 1, round((2 - 1) / 2) = round(0.5) = 0 (half to even), so
// k_c = 2 and no member share: the common subspace is all of the sum's, delta = (a + b) / 2 I.
TEST(SvdMethods, OrthogonalTaskVectorsClosedForm) {
  const float a = 3.0f, b = 1.0f, alpha = 0.7f;
  const at::Tensor base = vec({0.5f, -1.0f, 2.0f, 0.25f}, {2, 2});
  const std::vector<at::Tensor> ms =
      members_of(base, {vec({a, 0, 0, 0}, {2, 2}), vec({0, 0, 0, b}, {2, 2})});
  const std::vector<float> B = mt::values(base);
  expect_near(merged(spec_of(MergeMethod::TsvM, alpha), base, ms),
              {B[0] + alpha * a, B[1], B[2], B[3] + alpha * b}, 1e-6);
  const float iso = alpha * (a + b) / 2;
  expect_near(merged(spec_of(MergeMethod::IsoC, alpha), base, ms),
              {B[0] + iso, B[1], B[2], B[3] + iso}, 1e-6);
  expect_near(merged(spec_of(MergeMethod::IsoCts, alpha), base, ms),
              {B[0] + iso, B[1], B[2], B[3] + iso}, 1e-6);
  // iso_cts with common_space_fraction 0: k_c = 0, each member's top triplet (e1, a), (e2, b):
  // the same flat spectrum (a + b) / 2 on I.
  fw::MergeSpec zero = spec_of(MergeMethod::IsoCts, alpha);
  zero.select_topk = 0.0;
  expect_near(merged(zero, base, ms), {B[0] + iso, B[1], B[2], B[3] + iso}, 1e-6);
}

// iso_c of a general 2 x 2 sum M = [[p, q], [r, s]] with det M > 0: the polar factor of M is the
// rotation [[p + s, q - r], [r - q, p + s]] / h, h = sqrt((p + s)^2 + (q - r)^2), and the
// singular values add up to h, so delta = mean(S) U V^T = (h / 2) R = [[p + s, q - r],
// [r - q, p + s]] / 2. With tau_1 = [[1, 2], [0, 1]], tau_2 = [[2, -1], [3, 1]]:
// M = [[3, 1], [3, 2]], det 3, delta = [[2.5, -1], [1, 2.5]].
TEST(SvdMethods, IsoCOfAGeneralTwoByTwoSum) {
  const at::Tensor base = vec({1, 2, 3, 4}, {2, 2});
  const std::vector<at::Tensor> ms =
      members_of(base, {vec({1, 2, 0, 1}, {2, 2}), vec({2, -1, 3, 1}, {2, 2})});
  expect_near(merged(spec_of(MergeMethod::IsoC, 0.5), base, ms),
              {1 + 0.5f * 2.5f, 2 - 0.5f, 3 + 0.5f, 4 + 0.5f * 2.5f}, 2e-6);
}

// tsv_m where the orthogonalization matters: tau_1 = a u1 e1^T, tau_2 = b u2 e2^T with unit u1 =
// (1, 0), u2 = (cos 60, sin 60). U_cat = [u1 u2] is not orthogonal; its polar factor is
// U (U^T U)^(-1/2), and with c = u1.u2, U^T U = [[1, c], [c, 1]] has eigenvectors (1, +-1) / sqrt 2
// with eigenvalues 1 +- c, so (U^T U)^(-1/2) = [[al + be, al - be], [al - be, al + be]] / 2 with
// al = 1 / sqrt(1 + c), be = 1 / sqrt(1 - c): q1 = ((al + be) u1 + (al - be) u2) / 2, q2 =
// ((al - be) u1 + (al + be) u2) / 2. V_cat = I. delta = a q1 e1^T + b q2 e2^T.
TEST(SvdMethods, TsvMOrthogonalizesTheStackedSingularVectors) {
  const double a = 2.0, b = 1.0, c = 0.5, s = std::sqrt(3.0) / 2;
  const double al = 1 / std::sqrt(1 + c), be = 1 / std::sqrt(1 - c);
  const double q1[2] = {((al + be) + (al - be) * c) / 2, (al - be) * s / 2};
  const double q2[2] = {((al - be) + (al + be) * c) / 2, (al + be) * s / 2};
  const at::Tensor base = vec({0.1f, 0.2f, 0.3f, 0.4f}, {2, 2});
  const at::Tensor tau1 = vec({static_cast<float>(a), 0, 0, 0}, {2, 2});
  const at::Tensor tau2 = vec({0, static_cast<float>(b * c), 0, static_cast<float>(b * s)}, {2, 2});
  const at::Tensor got = merged(spec_of(MergeMethod::TsvM), base, members_of(base, {tau1, tau2}));
  // Row-major [[q1_0 a, q2_0 b], [q1_1 a, q2_1 b]].
  expect_near(got,
              {static_cast<float>(0.1 + a * q1[0]), static_cast<float>(0.2 + b * q2[0]),
               static_cast<float>(0.3 + a * q1[1]), static_cast<float>(0.4 + b * q2[1])},
              2e-6);
  // The orthogonalized columns are orthonormal, (cos 15, -sin 15) and (sin 15, cos 15): each of
  // u1, u2 turned 15 degrees apart, so the check has teeth (task arithmetic keeps u1 = (1, 0)).
  EXPECT_NEAR(q1[0] * q2[0] + q1[1] * q2[1], 0.0, 1e-12);
  EXPECT_NEAR(q1[1], -std::sin(M_PI / 12), 1e-12);
}

// iso_cts where the task-specific subspaces change the spectrum (3 x 3, 2 members, fraction 0.4):
// k_c = int(1.2) = 1, round((3 - 1) / 2) * 2 = 2, so k_c = 1 and one triplet per member.
// tau_1 = diag(4, 2, 0.5), tau_2 = diag(4, 0, 1): sum = diag(8, 2, 1.5), common (e1, 8);
// tau_1 off e1 = diag(0, 2, 0.5): top (e2, 2); tau_2 off e1 = diag(0, 0, 1): top (e3, 1).
// U_cat = [e2 e3 e1], S_cat = (2, 1, 8): delta = 11/3 I. iso_c: mean(8, 2, 1.5) I = 11.5/3 I.
TEST(SvdMethods, IsoCtsTakesEachMembersOwnDirections) {
  const at::Tensor base = at::zeros({3, 3}, at::kFloat);
  const std::vector<at::Tensor> ms = {at::diag(vec({4, 2, 0.5f})), at::diag(vec({4, 0, 1}))};
  fw::MergeSpec cts = spec_of(MergeMethod::IsoCts);
  cts.select_topk = 0.4;
  const float x = 11.0f / 3, y = 11.5f / 3;
  expect_near(merged(cts, base, ms), {x, 0, 0, 0, x, 0, 0, 0, x}, 2e-6);
  expect_near(merged(spec_of(MergeMethod::IsoC), base, ms), {y, 0, 0, 0, y, 0, 0, 0, y}, 2e-6);
}

// The rank shares as the authors' Python computes them (worked by hand):
// tsv_m: int(r * (1 / T)); iso_cts: k_c = int(r * f), t = round((r - k_c) / T) * T (half to
// even), k_c = r - t, d = (r - k_c) / T.
TEST(SvdMethods, RankSharesFollowTheAuthorsRounding) {
  const fw::MergeSpec tsv = spec_of(MergeMethod::TsvM);
  EXPECT_EQ(fw::svd_ranks(tsv, 768, 8).per_member, 96);
  EXPECT_EQ(fw::svd_ranks(tsv, 6, 3).per_member, 2);  // 6 * 0.333... rounds to 2.0
  EXPECT_EQ(fw::svd_ranks(tsv, 7, 2).per_member, 3);
  EXPECT_EQ(fw::svd_ranks(tsv, 1, 2).per_member, 0);
  fw::MergeSpec cts = spec_of(MergeMethod::IsoCts);
  // 768 * 0.8 = 614.4 -> 614; (768 - 614) / 8 = 19.25 -> 19, t = 152, k_c = 616, d = 19.
  EXPECT_EQ(fw::svd_ranks(cts, 768, 8).common, 616);
  EXPECT_EQ(fw::svd_ranks(cts, 768, 8).per_member, 19);
  // 2 * 0.8 = 1.6 -> 1; 1 / 2 = 0.5 -> 0 (half to even): k_c = 2, d = 0.
  EXPECT_EQ(fw::svd_ranks(cts, 2, 2).common, 2);
  EXPECT_EQ(fw::svd_ranks(cts, 2, 2).per_member, 0);
  // 10 * 0.8 = 8; (10 - 8) / 4 = 0.5 -> 0: k_c = 10. 14 * 0.8 = 11.2 -> 11; 3 / 2 = 1.5 -> 2:
  // t = 4, k_c = 10, d = 2.
  EXPECT_EQ(fw::svd_ranks(cts, 10, 4).common, 10);
  EXPECT_EQ(fw::svd_ranks(cts, 14, 2).common, 10);
  EXPECT_EQ(fw::svd_ranks(cts, 14, 2).per_member, 2);
  // Fraction 0, r = 6, 4 members: round(6 / 4) = round(1.5) = 2 -> t = 8 > 6, so one share
  // fewer (t = 4): k_c = 2, d = 1 (the authors' code would slice with k_c = -2).
  cts.select_topk = 0.0;
  EXPECT_EQ(fw::svd_ranks(cts, 6, 4).common, 2);
  EXPECT_EQ(fw::svd_ranks(cts, 6, 4).per_member, 1);
}

// tsv_m of one member keeps its whole SVD: delta = U S V^T = tau (orthogonal U and V are their
// own nearest orthogonal matrices).
TEST(SvdMethods, TsvMOfOneMemberIsTheMember) {
  const at::Tensor base = at::linspace(-1, 1, 20, at::kFloat).reshape({4, 5});
  const at::Tensor member = base + at::cos(at::arange(20, at::kFloat)).reshape({4, 5});
  const at::Tensor got = merged(spec_of(MergeMethod::TsvM), base, {member});
  EXPECT_LT((got - member).abs().max().item<float>(), 1e-5f);
}

// tsv_m with fewer columns than members: int(1 * (1 / 2)) = 0 triplets each, delta = 0 (the
// authors' zero-filled factors).
TEST(SvdMethods, TsvMWithNoTripletPerMemberKeepsTheBase) {
  const at::Tensor base = vec({1, 2, 3}, {3, 1});
  const at::Tensor got =
      merged(spec_of(MergeMethod::TsvM), base, {vec({2, 2, 2}, {3, 1}), vec({0, 5, 1}, {3, 1})});
  expect_near(got, {1, 2, 3}, 0.0);
}

// Non-matrix tensors: the mean of the task vectors, times alpha. taus [1, 0, -1] and [3, -2, 0]:
// mean [2, -1, -0.5]. tsv_m and iso_cts take the running mean (tau_1 + (tau_2 - tau_1) / 2),
// iso_c sum / 2: exact here either way.
TEST(SvdMethods, VectorsTakeTheMeanTaskVector) {
  const at::Tensor base = vec({1, 2, 3});
  const std::vector<at::Tensor> ms = {vec({2, 2, 2}), vec({4, 0, 3})};
  for (MergeMethod m : {MergeMethod::TsvM, MergeMethod::IsoC, MergeMethod::IsoCts})
    expect_near(merged(spec_of(m, 2.0), base, ms), {1 + 4, 2 - 2, 3 - 1}, 0.0);
  // A scalar and a 3-D tensor are not matrices either.
  const at::Tensor scalar = at::scalar_tensor(1.0, at::kFloat);
  expect_near(merged(spec_of(MergeMethod::IsoC), scalar, {scalar + 2}), {3}, 0.0);
  const at::Tensor cube = at::zeros({2, 2, 2}, at::kFloat);
  expect_near(merged(spec_of(MergeMethod::IsoCts), cube, {cube + 1, cube + 3}),
              std::vector<float>(8, 2.0f), 0.0);
}

TEST(SvdMethods, BadInputIsRefusedNamingIt) {
  const at::Tensor base = at::zeros({2, 2}, at::kFloat);
  const auto refused = [&](const fw::MergeSpec &s, size_t n, const std::string &names) {
    std::vector<at::Tensor> ms(n, base + 1);
    try {
      merged(s, base, ms);
      ADD_FAILURE() << names;
    } catch (const fw::Error &e) {
      EXPECT_EQ(e.code(), fw::Status::InvalidArgument) << e.what();
      EXPECT_NE(std::string(e.what()).find(names), std::string::npos) << e.what();
    }
  };
  for (MergeMethod m : {MergeMethod::TsvM, MergeMethod::IsoC, MergeMethod::IsoCts}) {
    refused(spec_of(m), 0, "at least 1");
    fw::MergeSpec w = spec_of(m);
    w.weights = {1.0, 2.0};
    refused(w, 2, "takes no weights");
  }
  for (double f : {-0.1, 1.5, std::nan("")}) {
    fw::MergeSpec s = spec_of(MergeMethod::IsoCts);
    s.select_topk = f;
    refused(s, 2, "common_space_fraction");
  }
  // Not a step merge function; no chunk combine without the whole matrices.
  for (MergeMethod m : {MergeMethod::TsvM, MergeMethod::IsoC, MergeMethod::IsoCts}) {
    try {
      fw::make_method_merge_fn(spec_of(m));
      ADD_FAILURE() << fw::merge_method_name(m);
    } catch (const fw::Error &e) {
      EXPECT_EQ(e.code(), fw::Status::Unsupported) << e.what();
    }
    try {
      fw::combine_chunk(spec_of(m), vec({1}), {vec({2})}, 0.0);
      ADD_FAILURE() << fw::merge_method_name(m);
    } catch (const fw::Error &e) {
      EXPECT_EQ(e.code(), fw::Status::Unsupported) << e.what();
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Against the authors' algorithms written out in plain torch, in float64
// (scripts/peers/svd_methods_reference.py; its output pasted between the markers). Three members
// of [6, 4] (full rank, distinct singular values: every SVD unique up to paired signs) and a
// vector of 5, base 0, alpha 1.

// clang-format off
// svd_methods_reference.py values (begin)
const std::vector<double> kTsvM = {-0.0926813111, 2.41310715, 1.11237267, -0.393888656, 0.5150892, -1.60313185, -0.091252382, 1.07286776, -1.35192472, 0.556812982, 0.00528308206, -0.250357378, 0.635311509, -0.755622719, 0.345894424, 0.976545675, -2.53170157, -0.651862892, -0.19434894, 0.593366441, -0.110915353, 0.570309759, 2.06941809, 2.35144592};
const std::vector<double> kIsoC = {0.526819781, 0.585151927, 0.655402859, -0.315722961, -0.434857046, -0.732012153, 0.474284891, -0.162556333, -0.601570643, 0.604187995, -0.105481966, 0.089845352, 0.517873065, -0.330923481, 0.353681167, 0.162196819, -0.513779075, 0.138156556, 0.591137663, -0.451995619, -0.164650837, 0.126146863, 0.497633101, 1.01144092};
const std::vector<double> kIsoCts05 = {0.773696942, 2.15634509, -0.0386736979, 0.519387053, -0.0545951946, -0.598019185, 1.63664627, -1.95840421, -1.2435181, 1.13829134, -0.0552900314, -0.606642915, 0.253236904, -1.37827855, 0.4471648, 1.67460753, -2.54718996, -0.0675741649, -0.118693662, 0.600532242, -0.151242882, 0.718142474, 2.41368943, 1.04164772};
const std::vector<double> kIsoCts08 = {0.526819781, 0.585151927, 0.655402859, -0.315722961, -0.434857046, -0.732012153, 0.474284891, -0.162556333, -0.601570643, 0.604187995, -0.105481966, 0.089845352, 0.517873065, -0.330923481, 0.353681167, 0.162196819, -0.513779075, 0.138156556, 0.591137663, -0.451995619, -0.164650837, 0.126146863, 0.497633101, 1.01144092};
const std::vector<double> kVectorRunningMean = {0.161668708, 0.190134654, 0.0952083319, -0.118919368, -0.297438105};
const std::vector<double> kVectorMean = {0.161668708, 0.190134654, 0.0952083319, -0.118919368, -0.297438105};
// svd_methods_reference.py values (end)
// clang-format on

// The script's inputs: tau_i[e] = sin(1 + 0.7 e + 2.3 i) + 0.5 cos(0.13 e^2 + 1.1 i), in fp32.
at::Tensor reference_input(int i, std::vector<int64_t> shape) {
  int64_t count = 1;
  for (int64_t d : shape) count *= d;
  std::vector<float> v;
  for (int64_t e = 0; e < count; ++e) {
    const double x = static_cast<double>(e);
    v.push_back(static_cast<float>(std::sin(1 + 0.7 * x + 2.3 * i) +
                                   0.5 * std::cos(0.13 * x * x + 1.1 * i)));
  }
  return vec(v, shape);
}

TEST(SvdMethods, AgreeWithTheAuthorsAlgorithms) {
  std::vector<at::Tensor> mats, vecs;
  for (int i = 0; i < 3; ++i) {
    mats.push_back(reference_input(i, {6, 4}));
    vecs.push_back(reference_input(i, {5}));
  }
  const at::Tensor zero = at::zeros({6, 4}, at::kFloat), zero_vec = at::zeros({5}, at::kFloat);
  const auto check = [&](const fw::MergeSpec &s, const std::vector<double> &want) {
    const std::vector<float> got = mt::values(merged(s, zero, mats));
    ASSERT_EQ(got.size(), want.size());
    double worst = 0;
    for (size_t e = 0; e < got.size(); ++e) worst = std::max(worst, std::fabs(got[e] - want[e]));
    EXPECT_LT(worst, 5e-6) << fw::merge_method_name(s.method) << " " << s.select_topk;
    std::printf("[ reference ] %s (fraction %g): max |diff| %.3g\n",
                fw::merge_method_name(s.method), s.select_topk, worst);
  };
  check(spec_of(MergeMethod::TsvM), kTsvM);
  check(spec_of(MergeMethod::IsoC), kIsoC);
  fw::MergeSpec cts = spec_of(MergeMethod::IsoCts);
  check(cts, kIsoCts08);  // r = 4, 3 members: k_c = 4, Iso-C's result
  cts.select_topk = 0.5;  // k_c = 1, one triplet per member
  check(cts, kIsoCts05);
  for (MergeMethod m : {MergeMethod::TsvM, MergeMethod::IsoCts}) {
    const std::vector<float> got = mt::values(merged(spec_of(m), zero_vec, vecs));
    for (size_t e = 0; e < got.size(); ++e) EXPECT_NEAR(got[e], kVectorRunningMean[e], 1e-7);
  }
  const std::vector<float> got = mt::values(merged(spec_of(MergeMethod::IsoC), zero_vec, vecs));
  for (size_t e = 0; e < got.size(); ++e) EXPECT_NEAR(got[e], kVectorMean[e], 1e-7);
}

// ---------------------------------------------------------------------------------------------
// Streamed (StreamingMerge over safetensors files, chunks of kMergeChunk) == resident.

using Files = mt::PoolFiles;

std::vector<float> normal_values(size_t n, uint32_t seed, float scale) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (float &x : v) x = d(gen);
  return v;
}

// "wide" [300, 1000] spans three chunks (its sum and task vectors are gathered across chunk
// borders), "mat" [37, 29], "bias" a vector of two chunks and a bit, "one" [1].
Files make_files(const std::string &label, size_t n) {
  Files f;
  f.dir = fwtest::temp_dir("svd_" + label);
  const size_t big = static_cast<size_t>(2 * fw::kMergeChunk + 4321);
  const auto tensors = [&](uint32_t seed, bool is_base) {
    std::vector<float> wide = normal_values(300 * 1000, 1, 0.05f),
                       mat = normal_values(37 * 29, 2, 0.05f), bias = normal_values(big, 3, 0.02f),
                       one = {0.25f};
    if (!is_base) {
      for (std::vector<float> *t : {&wide, &mat, &bias}) {
        const std::vector<float> noise = normal_values(t->size(), seed++, 0.01f);
        for (size_t e = 0; e < t->size(); ++e) (*t)[e] += noise[e];
      }
      one[0] += 0.01f * static_cast<float>(seed % 7);
    }
    return std::vector<fwtest::TestTensor>{{"wide", {300, 1000}, wide, "F32"},
                                           {"mat", {37, 29}, mat, "F32"},
                                           {"bias", {static_cast<int64_t>(big)}, bias, "F32"},
                                           {"one", {1}, one, "F32"}};
  };
  fwtest::write_safetensors(f.dir + "/base.safetensors", tensors(0, true));
  f.base = fw::open_checkpoint(f.dir + "/base.safetensors", nullptr);
  for (size_t i = 0; i < n; ++i) {
    const std::string path = f.dir + "/m" + std::to_string(i) + ".safetensors";
    fwtest::write_safetensors(path, tensors(static_cast<uint32_t>(10 + 5 * i), false));
    f.members.push_back(fw::open_checkpoint(path, f.base.get()));
  }
  return f;
}

void expect_streamed_equals_resident(const fw::MergeSpec &spec, const Files &f, int threads) {
  mt::expect_streamed_equals(
      spec, f, threads,
      [&](size_t t, const std::string &name, const at::Tensor &base,
          const std::vector<at::Tensor> &members) {
        return fw::merge_tensor(spec.for_tensor(name, members.size()), base, members, t);
      },
      [](const std::string &name, const at::Tensor &streamed) {
        EXPECT_TRUE(at::isfinite(streamed).all().item<bool>()) << name;
      });
}

TEST(SvdStreaming, StreamedEqualsResident) {
  const Files f = make_files("all", 3);
  for (MergeMethod m : {MergeMethod::TsvM, MergeMethod::IsoC, MergeMethod::IsoCts})
    for (int threads : {1, 2}) expect_streamed_equals_resident(spec_of(m, 0.8), f, threads);
  // A per-tensor alpha (FW_MERGE_FIELD_SCALING) reaches the streamed matrix.
  fw::MergeSpec s = spec_of(MergeMethod::IsoCts);
  s.overrides.push_back({"mat", -1, fw::MergeField::Scaling, 1.7});
  expect_streamed_equals_resident(s, f, 2);
}

// The streamed result is the method's: a whole-matrix computation written out here from the
// formulas (torch's SVD, independent of SvdMerge's bookkeeping) agrees with it to fp32 rounding.
TEST(SvdStreaming, MatchesAWholeMatrixComputation) {
  const Files f = make_files("formula", 2);
  const auto load = [&](const fw::Checkpoint &c) { return c.load_f32("mat").reshape({37, 29}); };
  const at::Tensor base = load(*f.base);
  const at::Tensor t1 = load(*f.members[0]) - base, t2 = load(*f.members[1]) - base;
  std::vector<at::Tensor> streamed;
  fw::merge_streaming(spec_of(MergeMethod::IsoC), *f.base, f.pool(),
                      [&](size_t, const fw::TensorMeta &meta, at::Tensor t) {
                        if (meta.name == "mat") streamed.push_back(t);
                      });
  ASSERT_EQ(streamed.size(), 1u);
  const auto [u, s, vh] = at::linalg_svd((t1 + t2).to(at::kDouble), false);
  const at::Tensor iso = base.to(at::kDouble) + s.mean() * at::matmul(u, vh);
  EXPECT_LT((streamed[0].to(at::kDouble) - iso).abs().max().item<double>(), 1e-5);
  // tsv_m: r = 29, k = 14 per member.
  streamed.clear();
  fw::merge_streaming(spec_of(MergeMethod::TsvM), *f.base, f.pool(),
                      [&](size_t, const fw::TensorMeta &meta, at::Tensor t) {
                        if (meta.name == "mat") streamed.push_back(t);
                      });
  const auto [u1, s1, vh1] = at::linalg_svd(t1.to(at::kDouble), false);
  const auto [u2, s2, vh2] = at::linalg_svd(t2.to(at::kDouble), false);
  const at::Tensor uc = at::cat({u1.narrow(1, 0, 14), u2.narrow(1, 0, 14)}, 1);
  const at::Tensor sc = at::cat({s1.narrow(0, 0, 14), s2.narrow(0, 0, 14)});
  const at::Tensor vc = at::cat({vh1.narrow(0, 0, 14), vh2.narrow(0, 0, 14)}, 0);
  const auto polar = [](const at::Tensor &a) {
    const auto [p, unused, qh] = at::linalg_svd(a, false);
    (void)unused;
    return at::matmul(p, qh);
  };
  const at::Tensor tsv = base.to(at::kDouble) + at::matmul(polar(uc) * sc, polar(vc));
  EXPECT_LT((streamed[0].to(at::kDouble) - tsv).abs().max().item<double>(), 1e-5);
}

}  // namespace
