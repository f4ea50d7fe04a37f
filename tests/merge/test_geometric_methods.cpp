// The geometric methods (merge/geometric.h) against closed forms worked out by hand, against
// mergekit 0.1.5 itself (values computed by scripts/peers/mergekit_geometric.py with the peer venv,
// pasted below), streamed against resident, and their refusals of bad input.
#include <ATen/Parallel.h>
#include <c10/util/BFloat16.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <random>
#include <string>

#include "io/checkpoint.h"
#include "merge/data_free.h"
#include "merge/geometric.h"
#include "merge/merge_defaults.h"
#include "merge/merge_fns.h"
#include "merge/merge_spec.h"
#include "merge/methods.h"
#include "merge/streaming.h"
#include "merge/torch_norm.h"
#include "merge_test_util.h"
#include "streamed_pool.h"
#include "test_support.h"
#include "util/error.h"
#include "util/thread_scope.h"

namespace {

using mt::expect_near;
using mt::vec;

fw::MergeSpec spec_of(fw::MergeMethod method) {
  fw::MergeSpec s;
  const fw::MergeDefaults d = fw::merge_defaults(method);
  s.method = method;
  s.normalize = d.normalize;
  s.t = d.t;
  s.eps = d.eps;
  s.nuslerp_flatten = d.nuslerp_flatten;
  s.nuslerp_row_wise = d.nuslerp_row_wise;
  s.max_iter = d.max_iter;
  s.tol = d.tol;
  return s;
}

at::Tensor merged(const fw::MergeSpec &s, const at::Tensor &base,
                  const std::vector<at::Tensor> &members) {
  return fw::merge_tensor(s, base, members, 0);
}

// The largest |actual - expected|, reported so that the agreement figure shows in the log.
double max_abs_diff(const at::Tensor &actual, const std::vector<float> &expected) {
  const std::vector<float> got = mt::values(actual);
  EXPECT_EQ(got.size(), expected.size());
  double worst = 0.0;
  for (size_t i = 0; i < got.size() && i < expected.size(); ++i)
    worst = std::max(worst, std::fabs(static_cast<double>(got[i]) - expected[i]));
  return worst;
}

// Agreement with mergekit within fp32 rounding of values of magnitude ~1 (a few ulps).
void expect_mergekit(const char *what, const at::Tensor &actual, const std::vector<float> &expected,
                     double tol = 2e-6) {
  const double diff = max_abs_diff(actual, expected);
  EXPECT_LE(diff, tol) << what;
  std::printf("[ mergekit ] %s: max |fwmerge - mergekit| = %.3g\n", what, diff);
}

// The message of the InvalidArgument `f` throws ("(no error)" if none).
template <typename F>
std::string invalid_argument(F f) {
  try {
    f();
  } catch (const fw::Error &e) {
    EXPECT_EQ(e.code(), fw::Status::InvalidArgument) << e.what();
    return e.what();
  }
  return "(no error)";
}

#define EXPECT_CONTAINS(text, part) \
  EXPECT_NE(std::string(text).find(part), std::string::npos) << (text)

// mergekit 0.1.5 values (scripts/peers/mergekit_geometric.py); shapes in the test
const std::vector<float> kSlerpBase = {-0.63913703f,  -0.527021766f, 0.83310008f,  -2.30688357f,
                                       -0.22913985f,  0.641962469f,  1.79781199f,  -0.641906023f,
                                       -0.120915562f, -0.665637612f, 0.695748985f, 1.26699209f};
const std::vector<float> kSlerpMember = {
    0.00378582114f, 0.161521524f,   0.137561098f, 0.172858655f,  1.40887427f,  1.73257554f,
    0.597540796f,   -0.0446848497f, 1.06879652f,  -0.549436331f, 0.463864148f, 0.351127535f};
const std::vector<float> kSlerpT03 = {-0.52365762f, -0.369001567f, 0.739068151f, -1.82696271f,
                                      0.370273501f, 1.21436238f,   1.71410084f,  -0.545149148f,
                                      0.324373603f, -0.76475811f,  0.755574465f, 1.18025219f};
const std::vector<float> kSlerpNearMember = {-1.27806032f,  -1.05577803f, 1.66570354f, -4.61358738f,
                                             -0.458928436f, 1.28343654f,  3.59332728f, -1.28310275f,
                                             -0.24364236f,  -1.33214092f, 1.3929677f,  2.53325558f};
const std::vector<float> kSlerpNearT06 = {-1.02249098f,  -0.844275534f, 1.33266211f, -3.69090581f,
                                          -0.367013007f, 1.02684689f,   2.87512136f, -1.02662408f,
                                          -0.194551647f, -1.0655396f,   1.11408019f, 2.02675009f};
const std::vector<float> kNearswapBase = {
    -0.592189372f, 0.177746713f, -1.07349157f,  0.520976782f,  0.706745446f, 2.20264268f,
    2.02586532f,   1.09952068f,  -0.286956847f, -0.121114254f, -1.82735693f, -0.188597783f};
const std::vector<float> kNearswapMember = {
    -0.592089355f, 0.175746709f, -1.06349158f,  0.48097679f,  0.756745458f, 2.26264262f,
    1.92586529f,   1.29952073f,  -0.786956847f, 0.878885746f, -1.82735658f, -0.188597783f};
const std::vector<float> kNearswapT005 = {
    -0.592089355f, 0.175746709f, -1.06349158f,  0.48097679f,   0.756745458f, 2.25264263f,
    1.97586536f,   1.14952064f,  -0.336956829f, -0.071114257f, -1.82735658f, -0.188597783f};
const std::vector<float> kMultiBase = {-0.838149846f, 0.274860591f,  0.472183615f, 0.577100635f,
                                       0.861470282f,  0.0359922461f, 1.0603435f,   1.59593964f,
                                       0.361186177f,  -0.519126832f};
const std::vector<float> kMultiMember0 = {-0.975849569f, 0.341501564f,  0.53208214f, 0.424449682f,
                                          0.70737648f,   0.0305147916f, 1.15189767f, 1.48394752f,
                                          0.257192373f,  -0.545226455f};
const std::vector<float> kMultiMember1 = {
    -0.808807909f,   0.389124006f, 0.600078106f, 0.573543906f, 0.896908939f,
    -0.00148116797f, 1.07220364f,  1.62014401f,  0.363246888f, -0.651576579f};
const std::vector<float> kMultiMember2 = {-0.955637157f, 0.476242483f, 0.396863312f, 0.634113133f,
                                          0.644480765f,  0.130683839f, 0.954930186f, 1.58911836f,
                                          0.449062377f,  -0.584864676f};
const std::vector<float> kMultiNormalized = {
    -0.930759728f, 0.495132208f, 0.506119847f, 0.583998144f, 0.699732184f,
    0.0791117847f, 1.01221228f,  1.58267653f,  0.402677804f, -0.647234857f};
const std::vector<float> kMultiRaw = {-0.918342233f, 0.466248631f,  0.531836331f, 0.559235215f,
                                      0.730613828f,  0.0583053008f, 1.04154229f,  1.57528436f,
                                      0.376330256f,  -0.642363667f};
const std::vector<float> kNuBase = {2.35254765f,   0.212065563f,  0.225914344f, 1.11476815f,
                                    -0.772973299f, 0.751634419f,  0.996991575f, 1.13374543f,
                                    0.843540192f,  -0.625592649f, -0.37142083f, 0.0914734751f};
const std::vector<float> kNuMember0 = {2.3420434f,    0.297916532f,  0.153263032f,  1.13157594f,
                                       -0.845683813f, 0.781243443f,  1.04369426f,   1.0727303f,
                                       0.912814677f,  -0.599852264f, -0.272217244f, 0.14462781f};
const std::vector<float> kNuMember1 = {2.48302412f,   0.142050236f,  0.133478165f,  1.14455688f,
                                       -0.636737347f, 0.660440922f,  1.0381813f,    1.12577212f,
                                       0.956621587f,  -0.775623858f, -0.280171752f, 0.13315621f};
const std::vector<float> kNuFlat = {2.46666169f,   0.18025884f,  0.11568632f,   1.14786732f,
                                    -0.676473618f, 0.68004632f,  1.05136633f,   1.10415184f,
                                    0.97119534f,   -0.75179702f, -0.252524853f, 0.148660898f};
const std::vector<float> kNuRows = {2.46936011f,   0.180231482f,  0.112356171f,  1.1488235f,
                                    -0.654739261f, 0.660812914f,  1.07481861f,   1.08683813f,
                                    0.955740511f,  -0.739740729f, -0.268105477f, 0.14098078f};
const std::vector<float> kNuColumns = {2.47517538f,   0.182370171f,  0.138219655f,  1.14258301f,
                                       -0.671077669f, 0.648665428f,  1.03966534f,   1.11093163f,
                                       0.983008742f,  -0.812962055f, -0.277953148f, 0.138453111f};
const std::vector<float> kKarcherMember0 = {
    -0.547130764f, 0.322192132f, 1.28014624f,     -0.0708334446f, 0.651435077f,
    -0.379310697f, 1.70037436f,  -0.00606453046f, 0.666406691f,   2.45251226f};
const std::vector<float> kKarcherMember1 = {1.04656315f,   -0.916683137f, 2.2532835f,  0.103620358f,
                                            -0.079665795f, 0.243969709f,  0.83505851f, 0.575941205f,
                                            0.0258553736f, -0.423885077f};
const std::vector<float> kKarcherMember2 = {1.62387097f,   0.796060324f, -1.07664204f, 0.676263988f,
                                            -1.92666185f,  0.600906372f, -1.26820457f, 1.07712877f,
                                            -0.475967228f, 0.927696645f};
const std::vector<float> kKarcher = {1.43404531f,   0.0516539589f, 1.67862236f,  0.457812726f,
                                     -0.881376445f, 0.323085457f,  0.811686516f, 1.0830344f,
                                     0.119073652f,  1.7663399f};
const std::vector<float> kKarcherOneStep = {
    1.43090498f,  0.0421572179f, 1.69504452f, 0.454636723f, -0.871648908f,
    0.321353912f, 0.821445882f,  1.07999563f, 0.12122348f,  1.7565949f};
const std::vector<float> kFusionBase = {
    -2.28486204f,  -0.709708393f, -0.276421696f, 1.00234759f,   -0.360425323f, -0.528382778f,
    1.49790239f,   -1.60616291f,  0.394004136f,  -0.992073119f, 0.173960641f,  -0.468080103f,
    0.845829427f,  -0.453748375f, -1.14687264f,  0.41364634f,   -0.415937394f, -1.45543921f,
    0.758435845f,  -1.12608957f,  1.70563722f,   0.689217567f,  1.02591467f,   0.442096084f,
    -0.647767603f, 1.03889358f,   -0.567358434f, 0.393482655f,  -0.499719173f, 1.03638005f,
    -0.647664726f, -1.63349485f,  0.0491658598f, -1.15594208f,  2.46889734f,   -0.457525134f,
    0.356673151f,  -0.448576421f, -2.71527886f,  -0.796693921f, 1.19711995f,   -1.20900488f,
    -0.172289357f, -1.4054873f,   1.12370396f,   -1.03398132f,  -2.78186512f,  -1.42260516f};
const std::vector<float> kFusionMember = {
    -2.2779808f,   -0.703093112f, -0.27092126f,  0.995461762f,  -0.355746478f,  -0.5185045f,
    1.49332404f,   -1.60638475f,  -0.206863075f, -1.41908467f,  -1.04342151f,   -1.003672f,
    0.81675595f,   -0.780724049f, -0.534710586f, 2.00452614f,   -0.412637651f,  -1.45103741f,
    0.751080632f,  -1.13365602f,  1.7037133f,    0.683653355f,  1.0104053f,     0.443625838f,
    -0.668436229f, 1.03602612f,   -0.575161219f, 0.385212868f,  -0.502548873f,  1.04156518f,
    -0.668371916f, -1.63563561f,  -3.11909533f,  -4.38202286f,  -0.0221996307f, -0.790615082f,
    0.340172589f,  -0.438899189f, -2.6995616f,   -0.814977169f, 1.18579733f,    -1.21589088f,
    -0.166500911f, -1.388677f,    1.12126982f,   -1.0259161f,   -2.78102684f,   -1.41839242f};
const std::vector<float> kFusion = {
    -2.28486204f,  -0.709708393f, -0.276421696f, 1.00234759f,   -0.360425323f,  -0.528382778f,
    1.49790239f,   -1.60616291f,  -0.206863075f, -1.41908467f,  -1.04342151f,   -1.003672f,
    0.845829427f,  -0.780724049f, -0.534710586f, 2.00452614f,   -0.415937394f,  -1.45543921f,
    0.758435845f,  -1.12608957f,  1.70563722f,   0.689217567f,  1.02591467f,    0.442096084f,
    -0.647767603f, 1.03889358f,   -0.567358434f, 0.393482655f,  -0.499719173f,  1.03638005f,
    -0.647664726f, -1.63349485f,  -3.11909533f,  -4.38202286f,  -0.0221996307f, -0.790615082f,
    0.356673151f,  -0.448576421f, -2.71527886f,  -0.796693921f, 1.19711995f,    -1.20900488f,
    -0.172289357f, -1.4054873f,   1.12370396f,   -1.03398132f,  -2.78186512f,   -1.42260516f};

// ---------------------------------------------------------------------------------------------
// slerp

TEST(Slerp, OrthogonalUnitVectorsAtHalfGiveTheirSumOverRootTwo) {
  // theta = pi/2: sin(pi/4) / sin(pi/2) = 1/sqrt(2) on each.
  const at::Tensor a = vec({1, 0, 0, 0}, {2, 2}), b = vec({0, 1, 0, 0}, {2, 2});
  fw::MergeSpec s = spec_of(fw::MergeMethod::Slerp);
  s.t = 0.5;
  const float r = 1.0f / std::sqrt(2.0f);
  expect_near(merged(s, a, {b}), {r, r, 0, 0}, 1e-7);
  // t = 0 and t = 1 give the ends.
  s.t = 0.0;
  expect_near(merged(s, a, {b}), {1, 0, 0, 0}, 1e-7);
  s.t = 1.0;
  expect_near(merged(s, a, {b}), {0, 1, 0, 0}, 1e-7);
}

TEST(Slerp, CollinearVectorsFallBackToLerp) {
  // b = 3a: dot 1 > 0.9995, so (1 - t) a + t b exactly as fp32 lerp.
  const at::Tensor a = vec({1, -2, 0.5f, 4}), b = vec({3, -6, 1.5f, 12});
  fw::MergeSpec s = spec_of(fw::MergeMethod::Slerp);
  s.t = 0.25;
  expect_near(merged(s, a, {b}), {1.5f, -3, 0.75f, 6}, 0);
  // Antipodal (dot -1): lerp too, through 0 at t = 0.5.
  s.t = 0.5;
  expect_near(merged(s, a, {a.neg()}), {0, 0, 0, 0}, 0);
}

TEST(Slerp, OneAngleForTheWholeTensorAsMergekit015) {
  // Rows [1, 0] / [1, 0] are collinear and rows [0, 1] / [1, 0] orthogonal, but mergekit 0.1.5
  // slerps whole tensors (its batch axis stacks tensors, not rows): cos = 1 / (sqrt2 sqrt2) = 0.5,
  // theta = pi/3, each coefficient sin(pi/6) / sin(pi/3) = 1/sqrt(3).
  const at::Tensor a = vec({1, 0, 0, 1}, {2, 2}), b = vec({1, 0, 1, 0}, {2, 2});
  fw::MergeSpec s = spec_of(fw::MergeMethod::Slerp);
  s.t = 0.5;
  const float c = 1.0f / std::sqrt(3.0f);
  expect_near(merged(s, a, {b}), {2 * c, 0, c, c}, 1e-6);
}

TEST(Slerp, ZeroBaseCountsAsOrthogonal) {
  // A norm <= eps is replaced by 1, so the dot is 0: theta = pi/2, result sin(t pi/2) b.
  const at::Tensor a = vec({0, 0, 0}), b = vec({2, -1, 4});
  fw::MergeSpec s = spec_of(fw::MergeMethod::Slerp);
  s.t = 1.0 / 3.0;
  const float k = std::sin(static_cast<float>(M_PI) / 6);
  expect_near(merged(s, a, {b}), {2 * k, -k, 4 * k}, 1e-6);
}

TEST(Slerp, AgreesWithMergekit) {
  fw::MergeSpec s = spec_of(fw::MergeMethod::Slerp);
  s.t = 0.3;
  expect_mergekit("slerp t=0.3", merged(s, vec(kSlerpBase, {3, 4}), {vec(kSlerpMember, {3, 4})}),
                  kSlerpT03);
  s.t = 0.6;
  expect_mergekit("slerp near-collinear t=0.6",
                  merged(s, vec(kSlerpBase, {3, 4}), {vec(kSlerpNearMember, {3, 4})}),
                  kSlerpNearT06);
}

TEST(Slerp, RefusesBadInput) {
  const at::Tensor a = vec({1, 0}), b = vec({0, 1});
  fw::MergeSpec s = spec_of(fw::MergeMethod::Slerp);
  EXPECT_CONTAINS(invalid_argument([&] {
                    merged(s, a, {b, b});
                  }),
                  "slerp merges the base with exactly 1 pool member, got 2");
  s.t = std::numeric_limits<double>::quiet_NaN();
  EXPECT_CONTAINS(invalid_argument([&] { merged(s, a, {b}); }), "slerp: t is not finite");
  s.t = std::numeric_limits<double>::infinity();
  EXPECT_CONTAINS(invalid_argument([&] { merged(s, a, {b}); }), "slerp: t is not finite");
  s.t = 1e39;
  EXPECT_CONTAINS(invalid_argument([&] { merged(s, a, {b}); }), "overflows fp32");
  s.t = 0.5;
  s.weights = {1.0};
  EXPECT_CONTAINS(invalid_argument([&] { merged(s, a, {b}); }), "slerp takes no weights");
}

// ---------------------------------------------------------------------------------------------
// nearswap

TEST(Nearswap, SwapsEntriesCloserThanT) {
  // |a - b| = 0.01, 0.5, 2: below t = 0.1 the member's value (weight clamped to 1), above it
  // weight t / |a - b| = 0.2 and 0.05 toward the member.
  const at::Tensor a = vec({1, 1, 1}), b = vec({1.01f, 1.5f, 3});
  fw::MergeSpec s = spec_of(fw::MergeMethod::Nearswap);
  s.t = 0.1;
  expect_near(merged(s, a, {b}), {1.01f, 1.1f, 1.1f}, 1e-6);
  // Equal entries: the distance is clamped at 1e-6 (no division by 0), and the value kept.
  expect_near(merged(s, a, {a}), {1, 1, 1}, 0);
  // t = 0: the base.
  s.t = 0.0;
  expect_near(merged(s, a, {b}), {1, 1, 1}, 0);
}

TEST(Nearswap, AgreesWithMergekitBitForBit) {
  fw::MergeSpec s = spec_of(fw::MergeMethod::Nearswap);
  s.t = 0.05;
  const at::Tensor out = merged(s, vec(kNearswapBase, {2, 6}), {vec(kNearswapMember, {2, 6})});
  expect_mergekit("nearswap t=0.05", out, kNearswapT005, 0.0);
}

TEST(Nearswap, RefusesBadInput) {
  const at::Tensor a = vec({1, 0}), b = vec({0, 1});
  fw::MergeSpec s = spec_of(fw::MergeMethod::Nearswap);
  EXPECT_CONTAINS(invalid_argument([&] {
                    merged(s, a, {b, b});
                  }),
                  "nearswap merges the base with exactly 1 pool member, got 2");
  s.t = -std::numeric_limits<double>::infinity();
  EXPECT_CONTAINS(invalid_argument([&] { merged(s, a, {b}); }), "nearswap: t is not finite");
}

// ---------------------------------------------------------------------------------------------
// multislerp

TEST(Multislerp, TwoEqualNormTaskVectorsAtEqualWeightsGiveTheSlerpMidpoint) {
  // tau_0 = 3 (1, 0), tau_1 = 3 (cos 60, sin 60): the arc's midpoint is 3 (cos 30, sin 30), as
  // slerp's at t = 0.5.
  const at::Tensor base = vec({1, -1});
  const float h = 3 * std::sqrt(3.0f) / 2;
  const at::Tensor m0 = base + vec({3, 0}), m1 = base + vec({1.5f, h});
  const fw::MergeSpec s = spec_of(fw::MergeMethod::Multislerp);
  expect_near(merged(s, base, {m0, m1}), {1 + h, -1 + 1.5f}, 2e-6);
  // Orthogonal unit task vectors: base + (1, 1) / sqrt(2) (the mean norm is 1).
  const float r = 1.0f / std::sqrt(2.0f);
  expect_near(merged(s, base, {base + vec({1, 0}), base + vec({0, 1})}), {1 + r, -1 + r}, 2e-6);
}

TEST(Multislerp, OneMemberIsReturnedAndAntipodalPairsFallBackToLerp) {
  const at::Tensor base = vec({1, 2, 3});
  const at::Tensor m = vec({0.5f, -7, 3.25f});
  fw::MergeSpec s = spec_of(fw::MergeMethod::Multislerp);
  EXPECT_TRUE(mt::same_bytes(merged(s, base, {m}), m));
  // tau and -tau at equal weights: the mean of the units is 0, so 0.5 tau - 0.5 tau + base.
  const at::Tensor tau = vec({1, -2, 0.5f});
  expect_near(merged(s, base, {base + tau, base - tau}), {1, 2, 3}, 0);
  // Unnormalized weights 1 and 3: the mean of the units is 1 u - 3 u = -2 u, so the direction
  // is -u (both tangents 0) and the norm 1 |tau| + 3 |tau|: base - 4 tau.
  s.normalize = false;
  s.weights = {1, 3};
  expect_near(merged(s, base, {base + tau, base - tau}), {1 - 4, 2 + 8, 3 - 2}, 1e-5);
}

TEST(Multislerp, AgreesWithMergekit) {
  const std::vector<int64_t> shape = {2, 5};
  const at::Tensor base = vec(kMultiBase, shape);
  const std::vector<at::Tensor> members = {vec(kMultiMember0, shape), vec(kMultiMember1, shape),
                                           vec(kMultiMember2, shape)};
  fw::MergeSpec s = spec_of(fw::MergeMethod::Multislerp);
  s.weights = {0.5, 1.0, 2.0};
  expect_mergekit("multislerp normalized", merged(s, base, members), kMultiNormalized);
  s.weights = {0.2, 0.3, 0.4};
  s.normalize = false;
  expect_mergekit("multislerp unnormalized", merged(s, base, members), kMultiRaw);
}

TEST(Multislerp, RefusesBadInput) {
  const at::Tensor base = vec({0, 0});
  const at::Tensor a = vec({1, 0}), b = vec({-1, 0});
  fw::MergeSpec s = spec_of(fw::MergeMethod::Multislerp);
  // Three task vectors whose unit mean is 0 (a, -a and a zero one): mergekit raises too.
  EXPECT_CONTAINS(invalid_argument([&] {
                    merged(s, base, {a, b, base});
                  }),
                  "the weighted sum of the unit task vectors is 0");
  s.weights = {1, -1};
  EXPECT_CONTAINS(invalid_argument([&] {
                    merged(s, base, {a, b});
                  }),
                  "multislerp: normalize with weights summing to 0");
  s.weights = {1, 2, 3};
  EXPECT_CONTAINS(invalid_argument([&] {
                    merged(s, base, {a, b});
                  }),
                  "multislerp: 3 weights for 2 members");
  s.weights = {1, std::numeric_limits<double>::quiet_NaN()};
  EXPECT_CONTAINS(invalid_argument([&] { merged(s, base, {a, b}); }), "is not finite");
  s.weights.clear();
  for (double eps : {0.0, -1e-8, std::numeric_limits<double>::infinity()}) {
    s.eps = eps;
    EXPECT_CONTAINS(invalid_argument([&] {
                      merged(s, base, {a, b});
                    }),
                    "multislerp: eps must be finite and > 0");
  }
}

// ---------------------------------------------------------------------------------------------
// nuslerp

fw::MergeSpec nuslerp_spec(bool flatten, bool row_wise) {
  fw::MergeSpec s = spec_of(fw::MergeMethod::Nuslerp);
  s.nuslerp_flatten = flatten;
  s.nuslerp_row_wise = row_wise;
  return s;
}

TEST(Nuslerp, OrthogonalAndCollinearTaskVectors) {
  const at::Tensor base = vec({1, 2, 3, 4}, {2, 2});
  const float r = 1.0f / std::sqrt(2.0f);
  // Flattened, orthogonal unit task vectors at t = 0.5 (equal weights): base + (e0 + e1) / sqrt2.
  fw::MergeSpec s = nuslerp_spec(true, false);
  expect_near(merged(s, base, {base + vec({1, 0, 0, 0}, {2, 2}), base + vec({0, 1, 0, 0}, {2, 2})}),
              {1 + r, 2 + r, 3, 4}, 1e-6);
  // Collinear (tau_1 = 2 tau_0), weights 1 and 3 (t = 0.75): base + 0.25 tau_0 + 0.75 * 2 tau_0.
  const at::Tensor tau = vec({1, -1, 2, 0.5f}, {2, 2});
  s.weights = {1, 3};
  expect_near(merged(s, base, {base + tau, base + 2 * tau}), {2.75f, 0.25f, 6.5f, 4.875f}, 1e-6);
  // Weights summing to ~0: t = 0.5 as mergekit.
  s.weights = {1, -1};
  expect_near(merged(s, base, {base + tau, base + 2 * tau}), {2.5f, 0.5f, 6, 4.75f}, 1e-6);
}

TEST(Nuslerp, PerRowAndPerColumnAngles) {
  // tau_0 = [[1, 0], [1, 0]], tau_1 = [[0, 1], [2, 0]], t = 0.5 (base 0).
  const at::Tensor base = vec({0, 0, 0, 0}, {2, 2});
  const at::Tensor m0 = vec({1, 0, 1, 0}, {2, 2}), m1 = vec({0, 1, 2, 0}, {2, 2});
  const float r = 1.0f / std::sqrt(2.0f);
  // Per row: row 0 orthogonal units -> (r, r); row 1 collinear -> lerp (1.5, 0).
  expect_near(merged(nuslerp_spec(false, false), base, {m0, m1}), {r, r, 1.5f, 0}, 1e-6);
  // Per column (row-wise): column 0 is (1, 1) vs (0, 2), cos 1/sqrt2, theta pi/4: coefficients
  // sin(pi/8) / sin(pi/4) each; column 1 is (0, 0) vs (1, 0): a zero vector, cos 0, theta pi/2.
  const float k = std::sin(static_cast<float>(M_PI) / 8) / std::sin(static_cast<float>(M_PI) / 4);
  expect_near(merged(nuslerp_spec(false, true), base, {m0, m1}), {k, r, 3 * k, 0}, 1e-6);
}

TEST(Nuslerp, AgreesWithMergekit) {
  const std::vector<int64_t> shape = {3, 4};
  const at::Tensor base = vec(kNuBase, shape);
  const std::vector<at::Tensor> members = {vec(kNuMember0, shape), vec(kNuMember1, shape)};
  fw::MergeSpec s = nuslerp_spec(true, false);
  s.weights = {1, 3};
  expect_mergekit("nuslerp flattened", merged(s, base, members), kNuFlat);
  s.nuslerp_flatten = false;
  expect_mergekit("nuslerp per row", merged(s, base, members), kNuRows);
  s.nuslerp_row_wise = true;
  expect_mergekit("nuslerp per column", merged(s, base, members), kNuColumns);
}

TEST(Nuslerp, RefusesBadInput) {
  const at::Tensor base = vec({0, 0});
  const at::Tensor a = vec({1, 0}), b = vec({0, 1});
  fw::MergeSpec s = nuslerp_spec(true, false);
  EXPECT_CONTAINS(invalid_argument([&] { merged(s, base, {a}); }),
                  "nuslerp needs exactly 2 pool members, got 1");
  EXPECT_CONTAINS(invalid_argument([&] {
                    merged(s, base, {a, b, a});
                  }),
                  "nuslerp needs exactly 2 pool members, got 3");
  s.weights = {1, std::numeric_limits<double>::infinity()};
  EXPECT_CONTAINS(invalid_argument([&] { merged(s, base, {a, b}); }), "is not finite");
}

// ---------------------------------------------------------------------------------------------
// karcher (the base is not an input: mergekit's karcher takes none)

TEST(Karcher, ClosedForms) {
  const at::Tensor base = vec({9, 9});  // unused
  const fw::MergeSpec s = spec_of(fw::MergeMethod::Karcher);
  // Identical points: that point.
  const at::Tensor x = vec({0.5f, -2});
  expect_near(merged(s, base, {x, x, x}), {0.5f, -2}, 1e-6);
  // Orthogonal directions, norms 2 and 4: the arc's midpoint, scaled by the mean norm 3.
  const float r = 3.0f / std::sqrt(2.0f);
  expect_near(merged(s, base, {vec({2, 0}), vec({0, 4})}), {r, r}, 1e-6);
  // A zero member leaves the mean (norm <= tol) but counts in the scale: (0 + |y|) / 2 along y.
  expect_near(merged(s, base, {vec({0, 0}), vec({1, 2})}), {0.5f, 1}, 1e-6);
  // All zero: zeros. One member: itself.
  expect_near(merged(s, base, {vec({0, 0}), vec({0, 0})}), {0, 0}, 0);
  EXPECT_TRUE(mt::same_bytes(merged(s, base, {x}), x));
}

TEST(Karcher, AgreesWithMergekit) {
  const std::vector<int64_t> shape = {2, 5};
  const at::Tensor base = at::zeros(shape);
  const std::vector<at::Tensor> members = {vec(kKarcherMember0, shape), vec(kKarcherMember1, shape),
                                           vec(kKarcherMember2, shape)};
  fw::MergeSpec s = spec_of(fw::MergeMethod::Karcher);
  expect_mergekit("karcher max_iter=10", merged(s, base, members), kKarcher);
  s.max_iter = 1;
  expect_mergekit("karcher max_iter=1", merged(s, base, members), kKarcherOneStep);
}

TEST(Karcher, RefusesBadInput) {
  const at::Tensor base = vec({0, 0});
  const at::Tensor a = vec({1, 0}), b = vec({0, 1});
  fw::MergeSpec s = spec_of(fw::MergeMethod::Karcher);
  for (int64_t max_iter : {int64_t{-1}, int64_t{1000001}}) {
    s.max_iter = max_iter;
    EXPECT_CONTAINS(invalid_argument([&] {
                      merged(s, base, {a, b});
                    }),
                    "karcher: max_iter must be in [0, 1000000]");
  }
  s.max_iter = 10;
  for (double tol : {-1e-5, std::numeric_limits<double>::quiet_NaN()}) {
    s.tol = tol;
    EXPECT_CONTAINS(invalid_argument([&] {
                      merged(s, base, {a, b});
                    }),
                    "karcher: tol must be finite and >= 0");
  }
  s.tol = 1e-5;
  s.weights = {1, 1};
  EXPECT_CONTAINS(invalid_argument([&] { merged(s, base, {a, b}); }), "karcher takes no weights");
}

// ---------------------------------------------------------------------------------------------
// arcee_fusion

TEST(ArceeFusion, KeepsTheEntriesAboveMedianPlusOneAndAHalfIqr) {
  // One row: KL > 0 is a common factor, so the kept entries are those with |m - b| >= median +
  // 1.5 IQR of |m - b|. |m - b| = 0.1 x 7 and 5: sorted [0.1 ... 0.1, 5], indices floor(q 7) =
  // 1, 3, 5 are all 0.1: threshold 0.1 + 1.5 * 0 = 0.1, so every entry is kept (>=).
  const at::Tensor b = vec({0, 0, 0, 0, 0, 0, 0, 0});
  const at::Tensor m = vec({0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 5});
  const fw::MergeSpec s = spec_of(fw::MergeMethod::ArceeFusion);
  expect_near(merged(s, b, {m}), mt::values(m), 0);
  // Distinct distances 1..8 (times 0.01): q1, median, q3 at indices 1, 3, 5 -> 0.02, 0.04, 0.06;
  // threshold 0.04 + 1.5 * 0.04 = 0.1: nothing reaches it, the base is returned.
  const at::Tensor m2 = vec({0.01f, 0.02f, 0.03f, 0.04f, 0.05f, 0.06f, 0.07f, 0.08f});
  expect_near(merged(s, b, {m2}), mt::values(b), 0);
  // Identical tensors: KL 0, every score 0 >= threshold 0: b + 0.
  expect_near(merged(s, m2, {m2}), mt::values(m2), 0);
}

TEST(ArceeFusion, AgreesWithMergekit) {
  const std::vector<int64_t> shape = {6, 8};
  const fw::MergeSpec s = spec_of(fw::MergeMethod::ArceeFusion);
  expect_mergekit("arcee_fusion", merged(s, vec(kFusionBase, shape), {vec(kFusionMember, shape)}),
                  kFusion, 0.0);
}

TEST(ArceeFusion, RefusesBadInput) {
  const at::Tensor a = vec({1, 0}), b = vec({0, 1});
  fw::MergeSpec s = spec_of(fw::MergeMethod::ArceeFusion);
  EXPECT_CONTAINS(invalid_argument([&] {
                    merged(s, a, {b, b});
                  }),
                  "arcee_fusion merges the base with exactly 1 pool member, got 2");
  s.weights = {2.0};
  EXPECT_CONTAINS(invalid_argument([&] { merged(s, a, {b}); }), "arcee_fusion takes no weights");
}

// ---------------------------------------------------------------------------------------------
// Names, defaults, per-tensor t, recipes, the step merge function

const fw::MergeMethod kGeometric[] = {fw::MergeMethod::Slerp,      fw::MergeMethod::Nuslerp,
                                      fw::MergeMethod::Multislerp, fw::MergeMethod::Karcher,
                                      fw::MergeMethod::Nearswap,   fw::MergeMethod::ArceeFusion};

TEST(GeometricSpec, NamesValuesAndDefaults) {
  // The values the public enumerators repeat.
  EXPECT_EQ(static_cast<int>(fw::MergeMethod::Slerp), 8);
  EXPECT_EQ(static_cast<int>(fw::MergeMethod::Nuslerp), 9);
  EXPECT_EQ(static_cast<int>(fw::MergeMethod::Multislerp), 10);
  EXPECT_EQ(static_cast<int>(fw::MergeMethod::Karcher), 11);
  EXPECT_EQ(static_cast<int>(fw::MergeMethod::Nearswap), 12);
  EXPECT_EQ(static_cast<int>(fw::MergeMethod::ArceeFusion), 13);
  const char *names[] = {"slerp", "nuslerp", "multislerp", "karcher", "nearswap", "arcee_fusion"};
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_STREQ(fw::merge_method_name(kGeometric[i]), names[i]);
    EXPECT_TRUE(fw::method_leaves_hull(kGeometric[i])) << names[i];
    EXPECT_TRUE(fw::is_geometric(kGeometric[i])) << names[i];
  }
  EXPECT_FALSE(fw::is_geometric(fw::MergeMethod::ModelStock));
  EXPECT_STREQ(fw::merge_field_name(fw::MergeField::T), "t");
  EXPECT_EQ(fw::merge_defaults(fw::MergeMethod::Slerp).t, 0.5);
  EXPECT_EQ(fw::merge_defaults(fw::MergeMethod::Nearswap).t, 1e-4);
  EXPECT_TRUE(fw::merge_defaults(fw::MergeMethod::Multislerp).normalize);
  const fw::MergeDefaults d = fw::merge_defaults(fw::MergeMethod::Karcher);
  EXPECT_EQ(d.max_iter, 10);
  EXPECT_EQ(d.tol, 1e-5);
  EXPECT_EQ(d.eps, 1e-8);
  EXPECT_TRUE(d.nuslerp_flatten);
  EXPECT_FALSE(d.nuslerp_row_wise);
}

TEST(GeometricSpec, PerTensorTFirstMatchWins) {
  fw::MergeSpec s = spec_of(fw::MergeMethod::Slerp);
  s.t = 0.5;
  s.overrides.push_back({"layers.1.*", -1, fw::MergeField::T, 0.9});
  s.overrides.push_back({"layers.*", -1, fw::MergeField::T, 0.1});
  EXPECT_EQ(s.for_tensor("layers.1.w", 1).t, 0.9);
  EXPECT_EQ(s.for_tensor("layers.2.w", 1).t, 0.1);
  EXPECT_EQ(s.for_tensor("embed", 1).t, 0.5);
  EXPECT_TRUE(s.for_tensor("embed", 1).weights.empty());
}

TEST(GeometricSpec, RecipeCarriesTheMethodsParametersOnly) {
  fw::MergeSpec s = spec_of(fw::MergeMethod::Slerp);
  s.t = 0.25;
  EXPECT_EQ(fw::spec_json(s).at("t"), 0.25);
  s = spec_of(fw::MergeMethod::Karcher);
  EXPECT_EQ(fw::spec_json(s).at("max_iter"), 10);
  EXPECT_FALSE(fw::spec_json(s).contains("t"));
  s = spec_of(fw::MergeMethod::Nuslerp);
  EXPECT_EQ(fw::spec_json(s).at("nuslerp_flatten"), true);
  // Other methods' recipes keep their bytes: none of the new keys.
  const nlohmann::json linear = fw::spec_json(spec_of(fw::MergeMethod::Linear));
  for (const char *key : {"t", "eps", "nuslerp_flatten", "nuslerp_row_wise", "max_iter", "tol"})
    EXPECT_FALSE(linear.contains(key)) << key;
}

TEST(GeometricSpec, NotAStepMergeFunction) {
  for (fw::MergeMethod m : kGeometric) {
    try {
      fw::make_method_merge_fn(spec_of(m));
      ADD_FAILURE() << fw::merge_method_name(m);
    } catch (const fw::Error &e) {
      EXPECT_EQ(e.code(), fw::Status::Unsupported) << e.what();
    }
  }
}

TEST(GeometricSpec, CombineChunkRefusesRatherThanGuess) {
  // combine_chunk knows nothing of the statistics: the geometric methods merge through
  // merge_tensor or StreamingMerge only.
  for (fw::MergeMethod m : kGeometric) {
    try {
      fw::combine_chunk(spec_of(m), vec({1}), {vec({2})}, 0.0);
      ADD_FAILURE() << fw::merge_method_name(m);
    } catch (const fw::Error &e) {
      EXPECT_EQ(e.code(), fw::Status::Unsupported) << e.what();
    }
  }
}

// ---------------------------------------------------------------------------------------------
// A larger case against mergekit, opt-in: FWMERGE_MERGEKIT_GEOMETRIC_BIG names the file that
// `scripts/peers/mergekit_geometric.py --big PATH` writes (a [300, 700] base, three members and
// mergekit 0.1.5's result of each method). At this size mergekit's fp32 reductions (norms, dots,
// the KL sums) carry more rounding than fwmerge's double sums: the values agree to a few ulps, and
// arcee_fusion's masks differ only on entries whose score lies within that rounding of the
// threshold (mergekit's per-row KL is an fp32 sum of terms of both signs).

TEST(MergekitGeometricLarge, AgreesOnA300By700Tensor) {
  const char *path = std::getenv("FWMERGE_MERGEKIT_GEOMETRIC_BIG");
  if (path == nullptr) GTEST_SKIP() << "FWMERGE_MERGEKIT_GEOMETRIC_BIG not set";
  const std::unique_ptr<fw::Checkpoint> c = fw::open_checkpoint(path, nullptr);
  const auto load = [&](const char *name) { return c->load_f32(name).reshape({300, 700}); };
  const at::Tensor base = load("base");
  const std::vector<at::Tensor> ms = {load("m0"), load("m1"), load("m2")};
  const auto check = [&](const char *name, const fw::MergeSpec &s,
                         const std::vector<at::Tensor> &members, double tol) {
    const at::Tensor got = merged(s, base, members), want = load(name);
    const double diff = (got - want).abs().max().item<double>();
    EXPECT_LE(diff, tol) << name;
    std::printf("[ mergekit ] %s [300, 700]: max |diff| %.3g\n", name, diff);
  };
  fw::MergeSpec s = spec_of(fw::MergeMethod::Slerp);
  s.t = 0.3;
  check("slerp", s, {ms[0]}, 5e-7);
  s = spec_of(fw::MergeMethod::Nearswap);
  s.t = 0.005;
  check("nearswap", s, {ms[0]}, 0.0);
  s = spec_of(fw::MergeMethod::Multislerp);
  s.weights = {0.5, 1.0, 2.0};
  check("multislerp", s, ms, 5e-7);
  s = spec_of(fw::MergeMethod::Nuslerp);
  s.weights = {1, 3};
  check("nuslerp_flat", s, {ms[0], ms[1]}, 5e-7);
  s.nuslerp_flatten = false;
  check("nuslerp_rows", s, {ms[0], ms[1]}, 5e-7);
  s.nuslerp_row_wise = true;
  check("nuslerp_cols", s, {ms[0], ms[1]}, 5e-7);
  check("karcher", spec_of(fw::MergeMethod::Karcher), ms, 5e-7);
  // arcee_fusion: every entry is the base's or the member's (b + (m - b)), and at most 0.1% of
  // the masks differ.
  const at::Tensor got = merged(spec_of(fw::MergeMethod::ArceeFusion), base, {ms[0]});
  const at::Tensor want = load("arcee_fusion");
  const at::Tensor kept = base + (ms[0] - base);
  const at::Tensor differs = got != want;
  EXPECT_TRUE(((got == base) | (got == kept)).all().item<bool>());
  EXPECT_TRUE(((want == base) | (want == kept)).all().item<bool>());
  const int64_t flips = differs.sum().item<int64_t>();
  EXPECT_LE(flips, want.numel() / 1000);
  std::printf("[ mergekit ] arcee_fusion [300, 700]: %lld of %lld masks differ\n",
              static_cast<long long>(flips), static_cast<long long>(want.numel()));
}

// ---------------------------------------------------------------------------------------------
// Streamed (StreamingMerge over safetensors files, chunks of kMergeChunk) == resident.

using Files = mt::PoolFiles;

std::vector<float> normal_values(size_t n, uint32_t seed, float mean, float scale) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> d(mean, scale);
  std::vector<float> v(n);
  for (float &x : v) x = d(gen);
  return v;
}

// A base and n members, each with "big" (2 chunks and a bit: chunk borders inside the
// statistics), "mat" [37, 301] (per-row and per-column statistics), "wide" [3, 50001] (its last
// row spans the first chunk border) and "one" [1].
// Members are the base plus noise, so that task vectors are small and angles generic.
Files make_files(const std::string &label, size_t n, const std::string &dtype = "F32") {
  Files f;
  f.dir = fwtest::temp_dir("geometric_" + label);
  const size_t big = static_cast<size_t>(2 * fw::kMergeChunk + 4321);
  const std::vector<float> base_big = normal_values(big, 1, 0.0f, 0.02f);
  const std::vector<float> base_mat = normal_values(37 * 301, 2, 0.0f, 0.05f);
  const std::vector<float> base_wide = normal_values(3 * 50001, 3, 0.0f, 0.05f);
  auto tensors = [&](uint32_t seed, bool is_base) {
    std::vector<float> b = base_big, m = base_mat, w = base_wide, one = {0.25f};
    if (!is_base) {
      const std::vector<float> nb = normal_values(big, seed, 0.0f, 0.01f);
      const std::vector<float> nm = normal_values(m.size(), seed + 1, 0.0f, 0.02f);
      for (size_t e = 0; e < b.size(); ++e) b[e] += nb[e];
      for (size_t e = 0; e < m.size(); ++e) m[e] += nm[e];
      const std::vector<float> nw = normal_values(w.size(), seed + 2, 0.0f, 0.03f);
      for (size_t e = 0; e < w.size(); ++e) w[e] += nw[e];
      one[0] += 0.01f * static_cast<float>(seed % 7);
    }
    return std::vector<fwtest::TestTensor>{{"big", {static_cast<int64_t>(big)}, b, dtype},
                                           {"mat", {37, 301}, m, dtype},
                                           {"wide", {3, 50001}, w, dtype},
                                           {"one", {1}, one, dtype}};
  };
  fwtest::write_safetensors(f.dir + "/base.safetensors", tensors(0, true));
  f.base = fw::open_checkpoint(f.dir + "/base.safetensors", nullptr);
  for (size_t i = 0; i < n; ++i) {
    const std::string path = f.dir + "/m" + std::to_string(i) + ".safetensors";
    fwtest::write_safetensors(path, tensors(static_cast<uint32_t>(10 + 3 * i), false));
    f.members.push_back(fw::open_checkpoint(path, f.base.get()));
  }
  return f;
}

// Every tensor streamed equals merge_tensor on the loaded tensors, byte for byte.
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

TEST(GeometricStreaming, SlerpStreamedEqualsResident) {
  const Files f = make_files("slerp", 1);
  fw::MergeSpec s = spec_of(fw::MergeMethod::Slerp);
  s.t = 0.3;
  for (int threads : {1, 2}) expect_streamed_equals_resident(s, f, threads);
  // A per-tensor t (MergeField::T) reaches the streamed tensor.
  s.overrides.push_back({"mat", -1, fw::MergeField::T, 0.9});
  expect_streamed_equals_resident(s, f, 2);
}

TEST(GeometricStreaming, NearswapStreamedEqualsResident) {
  const Files f = make_files("nearswap", 1);
  fw::MergeSpec s = spec_of(fw::MergeMethod::Nearswap);
  s.t = 0.01;
  for (int threads : {1, 2}) expect_streamed_equals_resident(s, f, threads);
}

TEST(GeometricStreaming, MultislerpStreamedEqualsResident) {
  const Files f = make_files("multislerp", 3);
  fw::MergeSpec s = spec_of(fw::MergeMethod::Multislerp);
  for (int threads : {1, 2}) expect_streamed_equals_resident(s, f, threads);
  s.weights = {0.2, 1.5, 0.7};
  s.normalize = false;
  expect_streamed_equals_resident(s, f, 2);
}

TEST(GeometricStreaming, NuslerpStreamedEqualsResident) {
  const Files f = make_files("nuslerp", 2);
  for (bool flatten : {true, false})
    for (bool row_wise : {false, true}) {
      fw::MergeSpec s = nuslerp_spec(flatten, row_wise);
      s.weights = {0.3, 0.9};
      for (int threads : {1, 2}) expect_streamed_equals_resident(s, f, threads);
    }
}

TEST(GeometricStreaming, KarcherStreamedEqualsResident) {
  const Files f = make_files("karcher", 3);
  fw::MergeSpec s = spec_of(fw::MergeMethod::Karcher);
  for (int threads : {1, 2}) expect_streamed_equals_resident(s, f, threads);
  s.max_iter = 0;
  expect_streamed_equals_resident(s, f, 2);
}

TEST(GeometricStreaming, ArceeFusionStreamedEqualsResident) {
  const Files f = make_files("fusion", 1);
  const fw::MergeSpec s = spec_of(fw::MergeMethod::ArceeFusion);
  for (int threads : {1, 2}) expect_streamed_equals_resident(s, f, threads);
}

TEST(GeometricStreaming, MergeToFileWritesTheResidentResult) {
  // The path fw_merge takes: StreamingMerge into the safetensors writer, read back.
  const Files f = make_files("to_file", 2);
  const std::vector<std::string> one = {f.dir + "/m0.safetensors"};
  const std::vector<std::string> two = {f.dir + "/m0.safetensors", f.dir + "/m1.safetensors"};
  fw::MergeSpec slerp = spec_of(fw::MergeMethod::Slerp),
                nuslerp = spec_of(fw::MergeMethod::Nuslerp);
  nuslerp.nuslerp_flatten = false;
  const std::pair<fw::MergeSpec, std::vector<std::string>> cases[] = {
      {slerp, one}, {spec_of(fw::MergeMethod::ArceeFusion), one}, {nuslerp, two}};
  for (const auto &[spec, paths] : cases) {
    const std::string out = f.dir + "/out_" + fw::merge_method_name(spec.method) + ".safetensors";
    fw::merge_to_file(spec, f.dir + "/base.safetensors", paths, out, std::nullopt,
                      fw::OutputLayout{});
    const std::unique_ptr<fw::Checkpoint> written = fw::open_checkpoint(out, nullptr);
    for (const fw::TensorMeta &meta : f.base->tensors()) {
      std::vector<at::Tensor> members;
      for (size_t i = 0; i < paths.size(); ++i)
        members.push_back(f.members[i]->load_f32(meta.name));
      const at::Tensor whole = fw::merge_tensor(spec, f.base->load_f32(meta.name), members, 0);
      EXPECT_TRUE(mt::same_bytes(written->load_f32(meta.name), whole))
          << fw::merge_method_name(spec.method) << " " << meta.name;
    }
  }
}

TEST(GeometricStreaming, EveryMethodStreamsBf16Files) {
  // bf16 files are read into fp32 chunks (the merge computes in fp32 whatever the files' dtype).
  const Files one = make_files("bf16_one", 1, "BF16");
  const Files two = make_files("bf16_two", 2, "BF16");
  const Files three = make_files("bf16_three", 3, "BF16");
  for (fw::MergeMethod m : kGeometric) {
    const fw::MergeSpec s = spec_of(m);
    const Files &f = m == fw::MergeMethod::Nuslerp                                       ? two
                     : m == fw::MergeMethod::Multislerp || m == fw::MergeMethod::Karcher ? three
                                                                                         : one;
    expect_streamed_equals_resident(s, f, 2);
  }
}

TEST(GeometricStreaming, RefusesTheWrongMemberCountUpFront) {
  const Files f = make_files("count", 2);
  const std::vector<const fw::Checkpoint *> pool = f.pool();
  for (fw::MergeMethod m :
       {fw::MergeMethod::Slerp, fw::MergeMethod::Nearswap, fw::MergeMethod::ArceeFusion}) {
    const fw::MergeSpec s = spec_of(m);
    EXPECT_CONTAINS(invalid_argument([&] { const fw::StreamingMerge merge(s, *f.base, pool); }),
                    "with exactly 1 pool member, got 2");
  }
}

TEST(GeometricStreaming, RefusesABadOverriddenT) {
  const Files f = make_files("badt", 1);
  fw::MergeSpec s = spec_of(fw::MergeMethod::Slerp);
  s.overrides.push_back({"mat", -1, fw::MergeField::T, std::numeric_limits<double>::infinity()});
  const std::vector<const fw::Checkpoint *> pool = f.pool();
  const fw::StreamingMerge merge(s, *f.base, pool);
  size_t mat = 0;
  while (f.base->tensors()[mat].name != "mat") ++mat;
  EXPECT_CONTAINS(
      invalid_argument([&] { merge.merge_tensor(mat, [](int64_t, const at::Tensor &) {}); }),
      "slerp: t is not finite");
}

// ---------------------------------------------------------------------------------------------
// --semantics mergekit on bf16 tensors: the methods mergekit computes in the recipe's dtype
// (geometric_in_recipe_dtype) round every op to bf16 as mergekit's torch ops do.

// mergekit 0.1.5 bf16 values (scripts/peers/mergekit_geometric.py --bf16); shape [4, 32]
const std::vector<float> kBf16Base = {
    0.0255126953f,   0.00355529785f,   -0.0142822266f,  -3.38554382e-05f, 0.0209960938f,
    0.0228271484f,   0.0133056641f,    0.0151367188f,   -0.013671875f,    -0.0251464844f,
    -0.0344238281f,  -0.00668334961f,  -0.00946044922f, 0.000371932983f,  0.00903320312f,
    0.00466918945f,  -0.00677490234f,  -0.0132446289f,  0.00665283203f,   -0.0078125f,
    -0.00622558594f, 0.00787353516f,   -0.00343322754f, 0.0203857422f,    -0.00171661377f,
    -0.00970458984f, -0.00244140625f,  -0.00457763672f, -0.00885009766f,  0.00354003906f,
    0.0205078125f,   0.0285644531f,    0.00534057617f,  0.0135498047f,    -0.0106811523f,
    0.0115966797f,   -0.00442504883f,  0.0185546875f,   0.0100708008f,    -0.00915527344f,
    -0.0245361328f,  -0.00457763672f,  0.0269775391f,   0.0108032227f,    -0.00457763672f,
    -0.0205078125f,  0.0152587891f,    0.00860595703f,  0.0121459961f,    -0.0324707031f,
    0.012512207f,    0.0239257812f,    -0.0222167969f,  0.00830078125f,   -0.0239257812f,
    0.0172119141f,   -0.000219345093f, 0.00860595703f,  -0.0101928711f,   0.00994873047f,
    0.0155029297f,   -0.00811767578f,  0.00573730469f,  0.0378417969f,    -0.0308837891f,
    -0.00964355469f, 0.0573730469f,    -0.00358581543f, -0.00891113281f,  -0.0145263672f,
    0.012512207f,    0.0242919922f,    0.00891113281f,  0.00946044922f,   -0.0471191406f,
    -0.0274658203f,  0.0390625f,       -0.0120239258f,  -0.000907897949f, -0.0201416016f,
    -0.0227050781f,  -0.00561523438f,  0.0380859375f,   0.0288085938f,    -0.0119018555f,
    -0.0126342773f,  -0.0422363281f,   0.0290527344f,   0.00405883789f,   0.00970458984f,
    -0.021484375f,   0.0078125f,       0.0327148438f,   -0.00321960449f,  -0.00628662109f,
    -0.0238037109f,  -0.0115966797f,   -0.0184326172f,  0.0104370117f,    -0.00665283203f,
    -0.0104980469f,  -0.0153198242f,   0.000953674316f, -0.0288085938f,   -0.0061340332f,
    -0.00321960449f, 0.0126342773f,    0.0230712891f,   -0.0520019531f,   -0.0033416748f,
    -0.0150756836f,  0.000459671021f,  0.0252685547f,   0.0161132812f,    0.0167236328f,
    0.0239257812f,   0.0101928711f,    -0.0122070312f,  -0.0278320312f,   -0.0177001953f,
    0.0205078125f,   0.0115966797f,    0.00291442871f,  0.0100097656f,    0.00494384766f,
    0.0432128906f,   0.0184326172f,    0.0142822266f};
const std::vector<float> kBf16Member0 = {
    0.0285644531f,   0.00442504883f,   -0.0162353516f,  0.00115203857f,   0.01953125f,
    0.0229492188f,   0.0141601562f,    0.0149536133f,   -0.0129394531f,   -0.021484375f,
    -0.0301513672f,  -0.00836181641f,  -0.00277709961f, -0.000396728516f, 0.0102539062f,
    0.0108642578f,   -0.00191497803f,  -0.0127563477f,  0.0111083984f,    -0.00891113281f,
    -0.00759887695f, 0.00787353516f,   -0.00476074219f, 0.0250244141f,    -0.00860595703f,
    -0.00640869141f, -0.000356674194f, -0.00653076172f, -0.0108642578f,   0.00500488281f,
    0.0261230469f,   0.0277099609f,    0.00144195557f,  0.0111694336f,    -0.00692749023f,
    0.0147705078f,   -0.00512695312f,  0.0198974609f,   0.00830078125f,   -0.0087890625f,
    -0.0219726562f,  -0.00634765625f,  0.0297851562f,   0.00970458984f,   -0.00263977051f,
    -0.012878418f,   0.0140380859f,    0.0120239258f,   0.0134887695f,    -0.0319824219f,
    0.0112915039f,   0.0213623047f,    -0.0189208984f,  0.00769042969f,   -0.0294189453f,
    0.0184326172f,   -0.00168609619f,  0.00933837891f,  -0.0109863281f,   0.00842285156f,
    0.0173339844f,   -0.00215148926f,  0.0103759766f,   0.0388183594f,    -0.0284423828f,
    -0.00218200684f, 0.0588378906f,    -0.00445556641f, -0.0109863281f,   -0.0123291016f,
    0.0103149414f,   0.0233154297f,    0.0130615234f,   0.00811767578f,   -0.0510253906f,
    -0.0280761719f,  0.0412597656f,    -0.00891113281f, -0.00534057617f,  -0.0197753906f,
    -0.0235595703f,  -0.00714111328f,  0.0385742188f,   0.0260009766f,    -0.0163574219f,
    -0.0119628906f,  -0.0419921875f,   0.0307617188f,   0.00276184082f,   0.00872802734f,
    -0.0216064453f,  0.0130004883f,    0.0341796875f,   0.000212669373f,  -0.0087890625f,
    -0.0284423828f,  -0.00793457031f,  -0.0132446289f,  0.0115356445f,    -0.0106201172f,
    -0.00909423828f, -0.0142211914f,   -0.0020904541f,  -0.02734375f,     -0.0100708008f,
    -0.00373840332f, 0.00729370117f,   0.0289306641f,   -0.0493164062f,   -0.00357055664f,
    -0.0139160156f,  0.000227928162f,  0.03125f,        0.0112915039f,    0.0178222656f,
    0.0202636719f,   0.0107421875f,    -0.0203857422f,  -0.0291748047f,   -0.0107421875f,
    0.0242919922f,   0.0142822266f,    0.00065612793f,  0.00744628906f,   0.00543212891f,
    0.0439453125f,   0.017578125f,     0.0139770508f};
const std::vector<float> kBf16Member1 = {
    0.0280761719f,    0.00213623047f,  -0.0173339844f,  0.00183105469f,   0.0217285156f,
    0.0277099609f,    0.0115356445f,   0.0151977539f,   -0.0123291016f,   -0.0203857422f,
    -0.037109375f,    -0.00616455078f, -0.00308227539f, -0.00230407715f,  0.00643920898f,
    0.00689697266f,   -0.00270080566f, -0.015625f,      0.0078125f,       -0.00915527344f,
    -0.000358581543f, 0.010925293f,    0.00340270996f,  0.0269775391f,    0.0016708374f,
    -0.00741577148f,  0.00137329102f,  -0.00274658203f, -0.0112304688f,   0.00244140625f,
    0.0194091797f,    0.0281982422f,   0.0078125f,      0.0110473633f,    -0.0107421875f,
    0.0133056641f,    -0.0128173828f,  0.021484375f,    0.0117797852f,    -0.010559082f,
    -0.0222167969f,   -0.00567626953f, 0.0317382812f,   0.00848388672f,   -0.00390625f,
    -0.0220947266f,   0.0158691406f,   0.00769042969f,  0.00823974609f,   -0.0277099609f,
    0.0131225586f,    0.0252685547f,   -0.0252685547f,  0.00592041016f,   -0.0256347656f,
    0.0131835938f,    0.00154876709f,  0.00671386719f,  -0.0146484375f,   0.0157470703f,
    0.017578125f,     -0.00811767578f, 0.00970458984f,  0.0417480469f,    -0.0285644531f,
    -0.00756835938f,  0.0541992188f,   -0.00263977051f, -0.0109863281f,   -0.0146484375f,
    0.0153808594f,    0.0163574219f,   0.0146484375f,   0.0108642578f,    -0.0454101562f,
    -0.0242919922f,   0.0405273438f,   -0.0100097656f,  -0.000968933105f, -0.0187988281f,
    -0.0225830078f,   -0.00552368164f, 0.0412597656f,   0.0294189453f,    -0.0114746094f,
    -0.0161132812f,   -0.0427246094f,  0.0300292969f,   0.00619506836f,   0.0107421875f,
    -0.0192871094f,   0.00325012207f,  0.029296875f,    -0.00254821777f,  -0.0061340332f,
    -0.0277099609f,   -0.0163574219f,  -0.0142211914f,  0.0119628906f,    -0.0111083984f,
    -0.00561523438f,  -0.0207519531f,  0.00335693359f,  -0.0302734375f,   -0.00677490234f,
    -0.00194549561f,  0.00939941406f,  0.0249023438f,   -0.0515136719f,   0.000728607178f,
    -0.0135498047f,   -0.00283813477f, 0.0250244141f,   0.0170898438f,    0.0208740234f,
    0.0247802734f,    0.0112304688f,   -0.0103149414f,  -0.0301513672f,   -0.0162353516f,
    0.0184326172f,    0.0163574219f,   -0.00119018555f, 0.00653076172f,   -0.00408935547f,
    0.0463867188f,    0.0234375f,      0.0129394531f};
const std::vector<float> kBf16Member2 = {
    0.0263671875f,   0.00598144531f,  -0.0139770508f,  -0.00698852539f, 0.0217285156f,
    0.0241699219f,   0.0118408203f,   0.0206298828f,   -0.0151367188f,  -0.0296630859f,
    -0.0375976562f,  -0.00689697266f, -0.0108032227f,  0.000194549561f, 0.00836181641f,
    0.0022277832f,   -0.00332641602f, -0.0189208984f,  0.00267028809f,  -0.00570678711f,
    -0.0108642578f,  0.00866699219f,  0.000263214111f, 0.0213623047f,   -0.00126647949f,
    -0.0108032227f,  0.00189971924f,  -0.00457763672f, -0.00765991211f, 0.00212097168f,
    0.0219726562f,   0.0274658203f,   0.000701904297f, 0.0166015625f,   -0.00897216797f,
    0.0184326172f,   -0.00671386719f, 0.0186767578f,   0.010559082f,    -0.00836181641f,
    -0.0217285156f,  -0.00686645508f, 0.0268554688f,   0.00741577148f,  -0.00723266602f,
    -0.0228271484f,  0.0142211914f,   0.00915527344f,  0.0114746094f,   -0.0363769531f,
    0.009765625f,    0.0202636719f,   -0.0190429688f,  0.00479125977f,  -0.0235595703f,
    0.015625f,       0.000486373901f, 0.00787353516f,  -0.00958251953f, 0.00817871094f,
    0.0136108398f,   -0.00708007812f, 0.00375366211f,  0.0402832031f,   -0.0327148438f,
    -0.0134277344f,  0.0588378906f,   -0.00598144531f, -0.00643920898f, -0.0125732422f,
    0.0128173828f,   0.0242919922f,   0.0164794922f,   0.00537109375f,  -0.0434570312f,
    -0.0264892578f,  0.041015625f,    -0.0140380859f,  -0.00138092041f, -0.0212402344f,
    -0.0268554688f,  -0.0114746094f,  0.0354003906f,   0.0279541016f,   -0.0100708008f,
    -0.00769042969f, -0.0366210938f,  0.021484375f,    0.00610351562f,  0.0128173828f,
    -0.0223388672f,  0.00970458984f,  0.0341796875f,   -0.00343322754f, -0.0124511719f,
    -0.0228271484f,  -0.010925293f,   -0.0196533203f,  0.0101928711f,   -0.00854492188f,
    -0.00756835938f, -0.0172119141f,  -0.00204467773f, -0.0349121094f,  -0.00433349609f,
    -0.00274658203f, 0.0137329102f,   0.0246582031f,   -0.0480957031f,  -0.0016784668f,
    -0.0161132812f,  0.00482177734f,  0.0247802734f,   0.0169677734f,   0.0162353516f,
    0.0218505859f,   0.00921630859f,  -0.00646972656f, -0.029296875f,   -0.0216064453f,
    0.0225830078f,   0.0132446289f,   0.00343322754f,  0.01171875f,     0.00817871094f,
    0.041015625f,    0.0208740234f,   0.00958251953f};
const std::vector<float> kBf16Nearswap = {
    0.0264892578f,   0.00442504883f,  -0.0152587891f,   0.000968933105f,  0.0200195312f,
    0.0229492188f,   0.0141601562f,   0.0149536133f,    -0.0129394531f,   -0.0241699219f,
    -0.0334472656f,  -0.00769042969f, -0.00848388672f,  -0.000396728516f, 0.0100708008f,
    0.00564575195f,  -0.00576782227f, -0.0127563477f,   0.00762939453f,   -0.0087890625f,
    -0.00723266602f, 0.00787353516f,  -0.00442504883f,  0.0213623047f,    -0.00271606445f,
    -0.00866699219f, -0.00144958496f, -0.00555419922f,  -0.00988769531f,  0.00454711914f,
    0.021484375f,    0.0277099609f,   0.00433349609f,   0.012512207f,     -0.00970458984f,
    0.0125732422f,   -0.00512695312f, 0.01953125f,      0.00903320312f,   -0.0087890625f,
    -0.0235595703f,  -0.00555419922f, 0.0278320312f,    0.00982666016f,   -0.00357055664f,
    -0.01953125f,    0.0142822266f,   0.00958251953f,   0.0131225586f,    -0.0319824219f,
    0.0115356445f,   0.0229492188f,   -0.0212402344f,   0.00769042969f,   -0.0250244141f,
    0.0181884766f,   -0.00122070312f, 0.00933837891f,   -0.0109863281f,   0.00891113281f,
    0.0164794922f,   -0.0071105957f,  0.00677490234f,   0.0388183594f,    -0.0297851562f,
    -0.00866699219f, 0.05859375f,     -0.00445556641f,  -0.00988769531f,  -0.0135498047f,
    0.0115356445f,   0.0233154297f,   0.00988769531f,   0.00842285156f,   -0.0478515625f,
    -0.0280761719f,  0.0400390625f,   -0.0110473633f,   -0.00190734863f,  -0.0197753906f,
    -0.0235595703f,  -0.00662231445f, 0.0385742188f,    0.0278320312f,    -0.0129394531f,
    -0.0119628906f,  -0.0419921875f,  0.0300292969f,    0.00305175781f,   0.00872802734f,
    -0.0216064453f,  0.0087890625f,   0.0336914062f,    -0.00221252441f,  -0.00732421875f,
    -0.0247802734f,  -0.0106201172f,  -0.0173339844f,   0.0114135742f,    -0.00769042969f,
    -0.00952148438f, -0.0142822266f,  -4.57763672e-05f, -0.0278320312f,   -0.00714111328f,
    -0.00373840332f, 0.0115966797f,   0.0241699219f,    -0.0510253906f,   -0.00357055664f,
    -0.0140991211f,  0.000227928162f, 0.0262451172f,    0.0150756836f,    0.0177001953f,
    0.0229492188f,   0.0107421875f,   -0.0132446289f,   -0.0288085938f,   -0.0167236328f,
    0.021484375f,    0.0125732422f,   0.00191497803f,   0.00903320312f,   0.00543212891f,
    0.0439453125f,   0.017578125f,    0.0139770508f};
const std::vector<float> kBf16Multislerp = {
    0.0279541016f,   0.00537109375f,   -0.0157470703f,  -0.00527954102f, 0.0216064453f,
    0.0261230469f,   0.0114135742f,    0.0201416016f,   -0.0142822266f,  -0.0264892578f,
    -0.0375976562f,  -0.00701904297f,  -0.00665283203f, -0.00106048584f, 0.00759887695f,
    0.00469970703f,  -0.000915527344f, -0.0192871094f,  0.00448608398f,  -0.00668334961f,
    -0.00830078125f, 0.00988769531f,   0.00248718262f,  0.0250244141f,   -0.00135040283f,
    -0.00903320312f, 0.00350952148f,   -0.00424194336f, -0.00921630859f, 0.00210571289f,
    0.0225830078f,   0.0272216797f,    0.00134277344f,  0.0147705078f,   -0.00836181641f,
    0.0191650391f,   -0.0101318359f,   0.0201416016f,   0.0108642578f,   -0.00891113281f,
    -0.0205078125f,  -0.00747680664f,  0.0294189453f,   0.00653076172f,  -0.00628662109f,
    -0.0216064453f,  0.0142822266f,    0.00946044922f,  0.0101928711f,   -0.0339355469f,
    0.0100097656f,   0.0206298828f,    -0.0198974609f,  0.00399780273f,  -0.0255126953f,
    0.0143432617f,   0.000846862793f,  0.00732421875f,  -0.0116577148f,  0.0104370117f,
    0.0150146484f,   -0.00592041016f,  0.0065612793f,   0.0419921875f,   -0.0311279297f,
    -0.0106201172f,  0.0576171875f,    -0.00555419922f, -0.00793457031f, -0.0123291016f,
    0.0135498047f,   0.0207519531f,    0.0190429688f,   0.00604248047f,  -0.0439453125f,
    -0.025390625f,   0.0419921875f,    -0.0123291016f,  -0.00228881836f, -0.0205078125f,
    -0.0266113281f,  -0.0112304688f,   0.037109375f,    0.0277099609f,   -0.0109863281f,
    -0.00946044922f, -0.0373535156f,   0.0229492188f,   0.00653076172f,  0.0127563477f,
    -0.0213623047f,  0.00872802734f,   0.0329589844f,   -0.00241088867f, -0.0123291016f,
    -0.0255126953f,  -0.0122070312f,   -0.0167236328f,  0.0111083984f,   -0.0110473633f,
    -0.00549316406f, -0.0190429688f,   -0.00141143799f, -0.0346679688f,  -0.00561523438f,
    -0.0023651123f,  0.0111694336f,    0.0264892578f,   -0.0476074219f,  -0.000198364258f,
    -0.0151367188f,  0.00300598145f,   0.0260009766f,   0.0162353516f,   0.0181884766f,
    0.0216064453f,   0.00988769531f,   -0.00793457031f, -0.0303955078f,  -0.0191650391f,
    0.0223388672f,   0.015625f,        0.00120544434f,  0.00958251953f,  0.00421142578f,
    0.0427246094f,   0.0225830078f,    0.00939941406f};
const std::vector<float> kBf16MultislerpRaw = {
    0.0283203125f,   0.00482177734f,   -0.0161132812f,   -0.00355529785f, 0.0213623047f,
    0.0261230469f,   0.01171875f,      0.0189208984f,    -0.0137939453f,  -0.0247802734f,
    -0.0366210938f,  -0.0071105957f,   -0.00521850586f,  -0.00126647949f, 0.00772094727f,
    0.00604248047f,  -0.000885009766f, -0.0181884766f,   0.00592041016f,  -0.00735473633f,
    -0.00708007812f, 0.00988769531f,   0.00193786621f,   0.0256347656f,   -0.00201416016f,
    -0.00830078125f, 0.00302124023f,   -0.00433349609f,  -0.00982666016f, 0.0025177002f,
    0.0228271484f,   0.02734375f,      0.00207519531f,   0.013671875f,    -0.00830078125f,
    0.0181884766f,   -0.0102539062f,   0.0205078125f,    0.0106811523f,   -0.00915527344f,
    -0.0206298828f,  -0.00726318359f,  0.0300292969f,    0.00701904297f,  -0.00546264648f,
    -0.0203857422f,  0.014465332f,     0.00964355469f,   0.0102539062f,   -0.0327148438f,
    0.0104980469f,   0.0212402344f,    -0.0203857422f,   0.00454711914f,  -0.0262451172f,
    0.0145874023f,   0.000640869141f,  0.00744628906f,   -0.0121459961f,  0.0109863281f,
    0.0157470703f,   -0.00549316406f,  0.00775146484f,   0.0417480469f,   -0.0302734375f,
    -0.00891113281f, 0.0573730469f,    -0.00506591797f,  -0.00885009766f, -0.0125732422f,
    0.0133666992f,   0.0202636719f,    0.0181884766f,    0.0068359375f,   -0.044921875f,
    -0.0255126953f,  0.0417480469f,    -0.0114746094f,   -0.00268554688f, -0.0201416016f,
    -0.0257568359f,  -0.0101318359f,   0.0378417969f,    0.0275878906f,   -0.0118408203f,
    -0.0106201172f,  -0.0385742188f,   0.0249023438f,    0.00607299805f,  0.0120239258f,
    -0.0211181641f,  0.00860595703f,   0.0324707031f,    -0.00194549561f, -0.0112304688f,
    -0.0264892578f,  -0.0122070312f,   -0.015625f,       0.0113525391f,   -0.0113525391f,
    -0.00567626953f, -0.0187988281f,   -0.000946044922f, -0.033203125f,   -0.00646972656f,
    -0.00245666504f, 0.0101318359f,    0.0269775391f,    -0.0480957031f,  -0.000335693359f,
    -0.0147094727f,  0.00183868408f,   0.0267333984f,    0.015625f,       0.0186767578f,
    0.0217285156f,   0.0101928711f,    -0.0100097656f,   -0.0303955078f,  -0.0174560547f,
    0.0222167969f,   0.0158691406f,    0.000595092773f,  0.00872802734f,  0.00302124023f,
    0.0434570312f,   0.0222167969f,    0.0103149414f};
const std::vector<float> kBf16NuFlat = {
    0.0291748047f,   0.00361633301f,   -0.0173339844f,   0.00178527832f,   0.0201416016f,
    0.0251464844f,   0.0131835938f,    0.0150146484f,    -0.0124511719f,   -0.0200195312f,
    -0.0322265625f,  -0.0078125f,      -0.00109863281f,  -0.00147247314f,  0.00885009766f,
    0.0107421875f,   -0.000946044922f, -0.0139160156f,   0.0108642578f,    -0.00933837891f,
    -0.00469970703f, 0.00927734375f,   -0.00140380859f,  0.0272216797f,    -0.00579833984f,
    -0.00595092773f, 0.00100708008f,   -0.00534057617f,  -0.0115966797f,   0.00424194336f,
    0.0246582031f,   0.0277099609f,    0.00328063965f,   0.0104980469f,    -0.00762939453f,
    0.0149536133f,   -0.0087890625f,   0.0209960938f,    0.00939941406f,   -0.00952148438f,
    -0.0213623047f,  -0.00653076172f,  0.0314941406f,    0.00885009766f,   -0.00268554688f,
    -0.0150146484f,  0.0145263672f,    0.0109863281f,    0.0114746094f,    -0.0299072266f,
    0.0117797852f,   0.0224609375f,    -0.0208740234f,   0.00671386719f,   -0.0291748047f,
    0.0163574219f,   -0.000606536865f, 0.00836181641f,   -0.012878418f,    0.0113525391f,
    0.0179443359f,   -0.0032043457f,   0.0113525391f,    0.0405273438f,    -0.0278320312f,
    -0.00262451172f, 0.0571289062f,    -0.00386047363f,  -0.0115356445f,   -0.0127563477f,
    0.0120239258f,   0.0198974609f,    0.0148925781f,    0.00897216797f,   -0.0495605469f,
    -0.0264892578f,  0.0415039062f,    -0.00854492188f,  -0.00454711914f,  -0.0192871094f,
    -0.0233154297f,  -0.0068359375f,   0.0400390625f,    0.0268554688f,    -0.0153808594f,
    -0.013671875f,   -0.0422363281f,   0.0308837891f,    0.00396728516f,   0.00939941406f,
    -0.0206298828f,  0.00994873047f,   0.0324707031f,    -0.000106811523f, -0.00830078125f,
    -0.0294189453f,  -0.0108032227f,   -0.0122680664f,   0.0120239258f,    -0.0119628906f,
    -0.00714111328f, -0.0168457031f,   -0.000442504883f, -0.0283203125f,   -0.00964355469f,
    -0.0030670166f,  0.00680541992f,   0.0286865234f,    -0.0495605469f,   -0.0016784668f,
    -0.0134277344f,  -0.00122833252f,  0.0300292969f,    0.0126342773f,    0.01953125f,
    0.0213623047f,   0.0111083984f,    -0.0180664062f,   -0.0300292969f,   -0.0113525391f,
    0.0227050781f,   0.0159912109f,    -0.00080871582f,  0.00631713867f,   0.00122070312f,
    0.0451660156f,   0.0200195312f,    0.0134277344f};
const std::vector<float> kBf16NuRows = {
    0.0290527344f,   0.00361633301f,   -0.0170898438f,   0.00170135498f,   0.0201416016f,
    0.0250244141f,   0.0131835938f,    0.0150146484f,    -0.012512207f,    -0.0202636719f,
    -0.0322265625f,  -0.00778198242f,  -0.00152587891f,  -0.0013885498f,   0.00885009766f,
    0.0104980469f,   -0.00119018555f,  -0.0139160156f,   0.0106201172f,    -0.00927734375f,
    -0.00476074219f, 0.00915527344f,   -0.00152587891f,  0.0268554688f,    -0.00567626953f,
    -0.00616455078f, 0.000823974609f,  -0.00531005859f,  -0.0114746094f,   0.00421142578f,
    0.0244140625f,   0.0277099609f,    0.00321960449f,   0.0103149414f,    -0.0075378418f,
    0.0150756836f,   -0.00903320312f,  0.0211181641f,    0.00939941406f,   -0.00952148438f,
    -0.0212402344f,  -0.00659179688f,  0.0317382812f,    0.0087890625f,    -0.00262451172f,
    -0.014831543f,   0.0145263672f,    0.0110473633f,    0.0114135742f,    -0.0297851562f,
    0.0117797852f,   0.0224609375f,    -0.0208740234f,   0.00665283203f,   -0.0294189453f,
    0.0163574219f,   -0.000602722168f, 0.00830078125f,   -0.0130004883f,   0.0114746094f,
    0.0180664062f,   -0.00305175781f,  0.0115966797f,    0.0405273438f,    -0.0278320312f,
    -0.00247192383f, 0.0571289062f,    -0.00386047363f,  -0.0115966797f,   -0.0127563477f,
    0.0120239258f,   0.0197753906f,    0.0150756836f,    0.00903320312f,   -0.0495605469f,
    -0.0264892578f,  0.0415039062f,    -0.00848388672f,  -0.0046081543f,   -0.0191650391f,
    -0.0233154297f,  -0.0068359375f,   0.0400390625f,    0.0267333984f,    -0.0153808594f,
    -0.0137329102f,  -0.0422363281f,   0.0308837891f,    0.00396728516f,   0.00939941406f,
    -0.0205078125f,  0.0100097656f,    0.0322265625f,    -4.57763672e-05f, -0.00830078125f,
    -0.0295410156f,  -0.0108032227f,   -0.0122680664f,   0.0120239258f,    -0.0119628906f,
    -0.00708007812f, -0.0168457031f,   -0.000442504883f, -0.0283203125f,   -0.00964355469f,
    -0.0030670166f,  0.00677490234f,   0.0286865234f,    -0.0495605469f,   -0.00166320801f,
    -0.0134277344f,  -0.00124359131f,  0.0300292969f,    0.0125732422f,    0.01953125f,
    0.0213623047f,   0.0111083984f,    -0.0180664062f,   -0.0300292969f,   -0.0113525391f,
    0.0227050781f,   0.0159912109f,    -0.00080871582f,  0.00628662109f,   0.00120544434f,
    0.0451660156f,   0.0200195312f,    0.0134277344f};
const std::vector<float> kBf16NuColumns = {
    0.0301513672f,   0.00364685059f,   -0.0173339844f,   0.00141143799f,   0.0202636719f,
    0.0255126953f,   0.0111694336f,    0.0150146484f,    -0.0126953125f,   -0.0208740234f,
    -0.0322265625f,  -0.00775146484f,  -0.00280761719f,  -0.00174713135f,  0.00872802734f,
    0.0103759766f,   -0.00122070312f,  -0.0140991211f,   0.0104980469f,    -0.0102539062f,
    -0.00340270996f, 0.00982666016f,   -0.00126647949f,  0.0263671875f,    -0.012512207f,
    -0.00653076172f, 0.00032043457f,   -0.00543212891f,  -0.0118408203f,   0.00424194336f,
    0.0246582031f,   0.0278320312f,    0.00294494629f,   0.0109863281f,    -0.00759887695f,
    0.0143432617f,   -0.00823974609f,  0.0212402344f,    0.00909423828f,   -0.00946044922f,
    -0.0219726562f,  -0.00622558594f,  0.03125f,         0.00903320312f,   -0.00305175781f,
    -0.014465332f,   0.014465332f,     0.0108642578f,    0.0115356445f,    -0.0294189453f,
    0.0118408203f,   0.0219726562f,    -0.0207519531f,   0.00616455078f,   -0.0294189453f,
    0.0166015625f,   -0.000219345093f, 0.00842285156f,   -0.0122680664f,   0.0125732422f,
    0.0181884766f,   -0.00317382812f,  0.0113525391f,    0.0397949219f,    -0.0269775391f,
    -0.00378417969f, 0.0571289062f,    -0.00384521484f,  -0.0112304688f,   -0.0126342773f,
    0.0134277344f,   0.0202636719f,    0.0137939453f,    0.00903320312f,   -0.0495605469f,
    -0.0266113281f,  0.041015625f,     -0.00817871094f,  -0.00497436523f,  -0.0192871094f,
    -0.0233154297f,  -0.00695800781f,  0.0397949219f,    0.0258789062f,    -0.0166015625f,
    -0.0141601562f,  -0.0422363281f,   0.0306396484f,    0.00527954102f,   0.00939941406f,
    -0.0207519531f,  0.0103149414f,    0.0322265625f,    -4.57763672e-05f, -0.00830078125f,
    -0.0283203125f,  -0.0108642578f,   -0.0133056641f,   0.0120849609f,    -0.0108642578f,
    -0.00756835938f, -0.0172119141f,   -0.0022277832f,   -0.0283203125f,   -0.00909423828f,
    -0.00312805176f, 0.00689697266f,   0.0283203125f,    -0.0500488281f,   -0.0013885498f,
    -0.0131835938f,  -0.00108337402f,  0.0297851562f,    0.0122070312f,    0.0192871094f,
    0.0201416016f,   0.0115966797f,    -0.0194091797f,   -0.0300292969f,   -0.0119628906f,
    0.0258789062f,   0.0152587891f,    -4.57763672e-05f, 0.00442504883f,   0.000793457031f,
    0.0454101562f,   0.0200195312f,    0.0136108398f};
const float kTorchNormF32 = 6.58312893f;
const float kTorchNormBf16 = 6.59375f;  // rounded to bf16 by torch
const double kExactNormF32 = 6.58313215594531;
const std::vector<float> kBf16Karcher = {
    0.0278320312f,   0.00424194336f,  -0.0159912109f,   -0.00135803223f,  0.0212402344f,
    0.0251464844f,   0.0125732422f,   0.0169677734f,    -0.0136108398f,   -0.0240478516f,
    -0.0354003906f,  -0.00723266602f, -0.00564575195f,  -0.000839233398f, 0.00842285156f,
    0.00671386719f,  -0.00267028809f, -0.0158691406f,   0.00723266602f,   -0.00799560547f,
    -0.00634765625f, 0.00921630859f,  -0.000370025635f, 0.0246582031f,    -0.00276184082f,
    -0.00830078125f, 0.000984191895f, -0.00463867188f,  -0.0100097656f,   0.00323486328f,
    0.0227050781f,   0.0280761719f,   0.0033416748f,    0.0130615234f,    -0.00891113281f,
    0.015625f,       -0.00823974609f, 0.0201416016f,    0.0103149414f,    -0.00927734375f,
    -0.0222167969f,  -0.00634765625f, 0.0297851562f,    0.00860595703f,   -0.00463867188f,
    -0.0194091797f,  0.0148925781f,   0.00970458984f,   0.0111694336f,    -0.0322265625f,
    0.0115356445f,   0.0225830078f,   -0.0212402344f,   0.00619506836f,   -0.0264892578f,
    0.0158691406f,   0.000115394592f, 0.00805664062f,   -0.0118408203f,   0.010925293f,
    0.0162353516f,   -0.005859375f,   0.00799560547f,   0.0405273438f,    -0.0301513672f,
    -0.0078125f,     0.0578613281f,   -0.00439453125f,  -0.00952148438f,  -0.0133056641f,
    0.0130004883f,   0.0216064453f,   0.0148925781f,    0.00817871094f,   -0.0471191406f,
    -0.0264892578f,  0.0415039062f,   -0.0111083984f,   -0.00259399414f,  -0.0201416016f,
    -0.0245361328f,  -0.00811767578f, 0.0388183594f,    0.0280761719f,    -0.0127563477f,
    -0.0120239258f,  -0.0405273438f,  0.0275878906f,    0.00506591797f,   0.010925293f,
    -0.0213623047f,  0.00872802734f,  0.0327148438f,    -0.00193786621f,  -0.00921630859f,
    -0.0266113281f,  -0.0118408203f,  -0.0158691406f,   0.0113525391f,    -0.0101318359f,
    -0.00750732422f, -0.017578125f,   -0.000270843506f, -0.0310058594f,   -0.0071105957f,
    -0.00283813477f, 0.0102539062f,   0.0263671875f,    -0.0502929688f,   -0.0015335083f,
    -0.0146484375f,  0.000759124756f, 0.0272216797f,    0.0153198242f,    0.0184326172f,
    0.0225830078f,   0.0104980469f,   -0.012512207f,    -0.0297851562f,   -0.0162353516f,
    0.0219726562f,   0.0147705078f,   0.000984191895f,  0.00860595703f,   0.00325012207f,
    0.0441894531f,   0.0208740234f,   0.0122680664f};
const std::vector<float> kBf16KarcherOneStep = {
    0.0278320312f,   0.00424194336f,  -0.0159912109f,   -0.00136566162f,  0.0212402344f,
    0.0251464844f,   0.0125732422f,   0.0169677734f,    -0.0136108398f,   -0.0240478516f,
    -0.0354003906f,  -0.00723266602f, -0.00564575195f,  -0.000839233398f, 0.00842285156f,
    0.00671386719f,  -0.00267028809f, -0.0158691406f,   0.00723266602f,   -0.00799560547f,
    -0.00634765625f, 0.00921630859f,  -0.000379562378f, 0.0246582031f,    -0.00276184082f,
    -0.00830078125f, 0.000984191895f, -0.00463867188f,  -0.0100097656f,   0.00323486328f,
    0.0227050781f,   0.0280761719f,   0.0033416748f,    0.0130615234f,    -0.00891113281f,
    0.015625f,       -0.00823974609f, 0.0201416016f,    0.0103149414f,    -0.00927734375f,
    -0.0222167969f,  -0.00634765625f, 0.0297851562f,    0.00860595703f,   -0.00463867188f,
    -0.0194091797f,  0.0148925781f,   0.00970458984f,   0.0111694336f,    -0.0322265625f,
    0.0115356445f,   0.0225830078f,   -0.0212402344f,   0.00619506836f,   -0.0264892578f,
    0.0159912109f,   0.000112056732f, 0.00805664062f,   -0.0118408203f,   0.010925293f,
    0.0162353516f,   -0.005859375f,   0.00799560547f,   0.0405273438f,    -0.0301513672f,
    -0.0078125f,     0.0578613281f,   -0.00439453125f,  -0.00952148438f,  -0.0133056641f,
    0.0130004883f,   0.0216064453f,   0.0148925781f,    0.00817871094f,   -0.0471191406f,
    -0.0264892578f,  0.0415039062f,   -0.0111083984f,   -0.00259399414f,  -0.0201416016f,
    -0.0245361328f,  -0.00811767578f, 0.0388183594f,    0.0280761719f,    -0.0127563477f,
    -0.0120239258f,  -0.0405273438f,  0.0275878906f,    0.00506591797f,   0.010925293f,
    -0.0213623047f,  0.00872802734f,  0.0327148438f,    -0.00193786621f,  -0.00921630859f,
    -0.0266113281f,  -0.0118408203f,  -0.0158691406f,   0.0113525391f,    -0.0101318359f,
    -0.00750732422f, -0.017578125f,   -0.000274658203f, -0.0310058594f,   -0.0071105957f,
    -0.00283813477f, 0.0102539062f,   0.0263671875f,    -0.0502929688f,   -0.0015335083f,
    -0.0146484375f,  0.000759124756f, 0.0272216797f,    0.0153198242f,    0.0184326172f,
    0.0225830078f,   0.0104980469f,   -0.012512207f,    -0.0297851562f,   -0.0162353516f,
    0.0219726562f,   0.0147705078f,   0.000984191895f,  0.00860595703f,   0.00325012207f,
    0.0441894531f,   0.0208740234f,   0.0122680664f};

// The tensor [4, 32] of kBf16Base and members 0..n-1 in bf16 files, merged by StreamingMerge in
// mergekit mode (compute dtype: the files' bf16), or in fwmerge's when !mergekit.
at::Tensor mergekit_bf16(fw::MergeSpec spec, size_t n, bool mergekit = true) {
  const std::vector<float> *members[] = {&kBf16Member0, &kBf16Member1, &kBf16Member2};
  const std::string dir = fwtest::temp_dir("geometric_mk_bf16");
  const auto write = [&](const std::string &name, const std::vector<float> &v) {
    fwtest::write_safetensors(dir + "/" + name, {{"w", {4, 32}, v, "BF16"}});
    return dir + "/" + name;
  };
  const std::unique_ptr<fw::Checkpoint> base =
      fw::open_checkpoint(write("base.safetensors", kBf16Base), nullptr);
  std::vector<std::unique_ptr<fw::Checkpoint>> own;
  std::vector<const fw::Checkpoint *> pool;
  for (size_t i = 0; i < n; ++i) {
    own.push_back(fw::open_checkpoint(write("m" + std::to_string(i) + ".safetensors", *members[i]),
                                      base.get()));
    pool.push_back(own.back().get());
  }
  spec.mergekit = mergekit;
  at::Tensor out;
  fw::merge_streaming(spec, *base, pool,
                      [&](size_t, const fw::TensorMeta &, at::Tensor t) { out = t; });
  return out;
}

// Mergekit mode on bf16 files: every tensor streamed equals geometric_merge computing in bf16 on
// the loaded tensors, byte for byte.
void expect_mergekit_streamed_equals_resident(fw::MergeSpec spec, const Files &f, int threads) {
  spec.mergekit = true;
  mt::expect_streamed_equals(
      spec, f, threads,
      [&](size_t, const std::string &name, const at::Tensor &base,
          const std::vector<at::Tensor> &members) {
        return fw::geometric_merge(spec.for_tensor(name, members.size()), base, members,
                                   at::kBFloat16);
      },
      // bf16 values: the output's dtype loses nothing.
      [](const std::string &name, const at::Tensor &streamed) {
        EXPECT_TRUE(at::equal(streamed, streamed.to(at::kBFloat16).to(at::kFloat))) << name;
      });
}

TEST(MergekitBf16, NearswapAgreesWithMergekitBitForBit) {
  fw::MergeSpec s = spec_of(fw::MergeMethod::Nearswap);
  s.t = 0.001;
  expect_mergekit("nearswap bf16 t=0.001", mergekit_bf16(s, 1), kBf16Nearswap, 0.0);
  // fwmerge's own semantics computes in fp32 and differs (rounded once).
  EXPECT_GT(
      max_abs_diff(mergekit_bf16(s, 1, false).to(at::kBFloat16).to(at::kFloat), kBf16Nearswap),
      0.0);
}

TEST(MergekitBf16, MultislerpAgreesWithMergekitBitForBit) {
  fw::MergeSpec s = spec_of(fw::MergeMethod::Multislerp);
  s.weights = {0.5, 1.0, 2.0};
  expect_mergekit("multislerp bf16 normalized", mergekit_bf16(s, 3), kBf16Multislerp, 0.0);
  EXPECT_GT(
      max_abs_diff(mergekit_bf16(s, 3, false).to(at::kBFloat16).to(at::kFloat), kBf16Multislerp),
      0.0);
  s.weights = {0.2, 0.3, 0.4};
  s.normalize = false;
  expect_mergekit("multislerp bf16 unnormalized", mergekit_bf16(s, 3), kBf16MultislerpRaw, 0.0);
}

TEST(MergekitBf16, MultislerpStreamedEqualsResident) {
  const Files f = make_files("mk_multislerp", 3, "BF16");
  fw::MergeSpec s = spec_of(fw::MergeMethod::Multislerp);
  for (int threads : {1, 2}) expect_mergekit_streamed_equals_resident(s, f, threads);
  s.weights = {0.2, 1.5, 0.7};
  s.normalize = false;
  expect_mergekit_streamed_equals_resident(s, f, 2);
}

TEST(MergekitBf16, NuslerpAgreesWithMergekitBitForBit) {
  const struct {
    bool flatten, row_wise;
    const char *what;
    const std::vector<float> &expected;
  } cases[] = {{true, false, "nuslerp bf16 flattened", kBf16NuFlat},
               {false, false, "nuslerp bf16 per row", kBf16NuRows},
               {false, true, "nuslerp bf16 per column", kBf16NuColumns}};
  for (const auto &c : cases) {
    fw::MergeSpec s = nuslerp_spec(c.flatten, c.row_wise);
    s.weights = {1.0, 0.5};
    expect_mergekit(c.what, mergekit_bf16(s, 2), c.expected, 0.0);
  }
}

TEST(MergekitBf16, NuslerpStreamedEqualsResident) {
  const Files f = make_files("mk_nuslerp", 2, "BF16");
  for (bool flatten : {true, false})
    for (bool row_wise : {false, true}) {
      fw::MergeSpec s = nuslerp_spec(flatten, row_wise);
      s.weights = {0.3, 0.9};
      for (int threads : {1, 2}) expect_mergekit_streamed_equals_resident(s, f, threads);
    }
}

TEST(MergekitBf16, KarcherAgreesWithMergekitBitForBit) {
  // The pool's three members (the base is not an input of mergekit's karcher).
  fw::MergeSpec s = spec_of(fw::MergeMethod::Karcher);
  expect_mergekit("karcher bf16 max_iter=10", mergekit_bf16(s, 3), kBf16Karcher, 0.0);
  EXPECT_GT(max_abs_diff(mergekit_bf16(s, 3, false).to(at::kBFloat16).to(at::kFloat), kBf16Karcher),
            0.0);
  s.max_iter = 1;
  expect_mergekit("karcher bf16 max_iter=1", mergekit_bf16(s, 3), kBf16KarcherOneStep, 0.0);
}

TEST(MergekitBf16, KarcherStreamedEqualsResident) {
  const Files f = make_files("mk_karcher", 3, "BF16");
  fw::MergeSpec s = spec_of(fw::MergeMethod::Karcher);
  for (int threads : {1, 2}) expect_mergekit_streamed_equals_resident(s, f, threads);
  s.max_iter = 0;
  expect_mergekit_streamed_equals_resident(s, f, 2);
}

TEST(MergekitBf16, TorchNormHasTorchsBits) {
  // torch's lane order (torch_norm.h), not the exact norm: on these 100003 positive entries the
  // fp32 lane sums drift from it, and the mergekit-mode methods must drift the same way.
  const int64_t n = 100003;
  fw::TorchNorm f32(n, 8), bf16(n, 16);
  for (int64_t i = 0; i < n; ++i) {
    const float x = static_cast<float>(0.01 + static_cast<double>((i * 7919) % 2001) * 1e-5);
    f32.add(i, x);
    bf16.add(i, static_cast<float>(c10::BFloat16(x)));
  }
  EXPECT_EQ(f32.value(), kTorchNormF32);
  EXPECT_NE(f32.value(), static_cast<float>(kExactNormF32));
  EXPECT_EQ(static_cast<float>(c10::BFloat16(bf16.value())), kTorchNormBf16);
}

TEST(MergekitBf16, NearswapStreamedEqualsResident) {
  const Files f = make_files("mk_nearswap", 1, "BF16");
  fw::MergeSpec s = spec_of(fw::MergeMethod::Nearswap);
  s.t = 0.001;
  for (int threads : {1, 2}) expect_mergekit_streamed_equals_resident(s, f, threads);
}

}  // namespace
