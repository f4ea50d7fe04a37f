// The streamed data-free merge (chunks inside tensors, radix-selected trim thresholds) against two
// independent references: the keep set of a magnitude select against a full sort, and every
// method's streamed result against the whole-tensor merge of the same loaded tensors, byte for
// byte, for tensors spanning several chunks, ties at the threshold across chunk borders, weights,
// per-member densities, bf16 files and 1 vs 2 threads.
#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>

#include "io/checkpoint.h"
#include "merge/magnitude_select.h"
#include "merge/merge_defaults.h"
#include "merge/methods.h"
#include "merge/streaming.h"
#include "merge_test_util.h"
#include "streamed_pool.h"
#include "test_support.h"
#include "util/thread_scope.h"

namespace {

// The k largest |x| by sorting (larger first, equal magnitudes: lower index first).
std::vector<bool> sorted_keep(const std::vector<float> &x, int64_t k) {
  std::vector<size_t> order(x.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return std::fabs(x[a]) > std::fabs(x[b]); });
  std::vector<bool> keep(x.size(), false);
  for (int64_t r = 0; r < std::min<int64_t>(k, static_cast<int64_t>(x.size())); ++r)
    keep[order[static_cast<size_t>(r)]] = true;
  return keep;
}

// Values on a coarse grid, so that many magnitudes are equal (ties at every threshold).
std::vector<float> grid_values(size_t n, uint32_t seed, int levels) {
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int> d(-levels, levels);
  std::vector<float> v(n);
  for (float &x : v) x = 0.125f * static_cast<float>(d(gen));
  return v;
}

std::vector<float> normal_values(size_t n, uint32_t seed, float scale) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (float &x : v) x = d(gen);
  return v;
}

TEST(MagnitudeSelect, MatchesAFullSortWithTiesInChunks) {
  const std::vector<float> x = grid_values(10007, 3, 9);  // 19 magnitudes: heavy ties
  for (int64_t k : {int64_t{0}, int64_t{1}, int64_t{17}, int64_t{5003}, int64_t{10006},
                    int64_t{10007}, int64_t{20000}}) {
    fw::MagnitudeSelect sel(k, static_cast<int64_t>(x.size()));
    const int64_t chunk = 999;  // an odd chunk: ties straddle chunk borders
    if (sel.needs_passes()) {
      for (size_t b = 0; b < x.size(); b += chunk)
        sel.count_high(x.data() + b, std::min<int64_t>(chunk, static_cast<int64_t>(x.size() - b)));
      sel.finish_high();
      for (size_t b = 0; b < x.size(); b += chunk)
        sel.count_low(x.data() + b, std::min<int64_t>(chunk, static_cast<int64_t>(x.size() - b)));
      sel.finish_low();
    }
    fw::KeepCursor cursor(sel.cut());
    const std::vector<bool> want = sorted_keep(x, k);
    int64_t kept = 0;
    for (size_t e = 0; e < x.size(); ++e) {
      const bool got = cursor.keep(fw::magnitude_bits(x[e]), static_cast<int64_t>(e));
      kept += got;
      ASSERT_EQ(got, want[e]) << "k " << k << " entry " << e;
    }
    EXPECT_EQ(kept, std::clamp<int64_t>(k, 0, static_cast<int64_t>(x.size())));
  }
}

TEST(MagnitudeSelect, DistinguishesNeighbouringFloats) {
  // Magnitudes one ulp apart share the top 16 bits: only the low pass tells them apart.
  std::vector<float> x(64);
  for (size_t e = 0; e < x.size(); ++e)
    x[e] = std::nextafter(1.0f, 2.0f) * (e % 2 ? -1.0f : 1.0f) * (e < 32 ? 1.0f : 0.0f) +
           (e >= 32 ? std::nextafter(1.0f, 0.0f) : 0.0f);
  fw::MagnitudeSelect sel(40, 64);
  sel.count_high(x.data(), 64);
  sel.finish_high();
  sel.count_low(x.data(), 64);
  sel.finish_low();
  fw::KeepCursor cursor(sel.cut());
  const std::vector<bool> want = sorted_keep(x, 40);
  for (size_t e = 0; e < x.size(); ++e)
    EXPECT_EQ(cursor.keep(fw::magnitude_bits(x[e]), static_cast<int64_t>(e)), want[e]);
}

using Pool = mt::PoolFiles;

// Three tensors: one spanning 3 chunks and a bit (grid values: ties), one normal, one tiny; and a
// base with its own values. dtype: "F32" or "BF16".
Pool make_pool(const std::string &dtype, size_t n_members) {
  Pool p;
  p.dir = fwtest::temp_dir("streaming_" + dtype);
  const size_t big = static_cast<size_t>(3 * fw::kMergeChunk + 777);
  const size_t mid = 70007;
  auto tensors = [&](uint32_t seed, bool base) {
    std::vector<float> a = grid_values(big, seed, 6);
    if (base)
      for (float &v : a) v *= 0.5f;
    return std::vector<fwtest::TestTensor>{
        {"big", {static_cast<int64_t>(big)}, a, dtype},
        {"mid", {7, 10001}, normal_values(mid, seed + 100, 0.02f), dtype},
        {"tiny", {5}, grid_values(5, seed + 200, 2), dtype}};
  };
  fwtest::write_safetensors(p.dir + "/base.safetensors", tensors(1, true));
  p.base = fw::open_checkpoint(p.dir + "/base.safetensors", nullptr);
  for (size_t i = 0; i < n_members; ++i) {
    const std::string path = p.dir + "/m" + std::to_string(i) + ".safetensors";
    fwtest::write_safetensors(path, tensors(static_cast<uint32_t>(10 + i), false));
    p.members.push_back(fw::open_checkpoint(path, p.base.get()));
  }
  return p;
}

// Every tensor of the streamed merge equals merge_tensor on the whole loaded tensors, bytewise.
void expect_streamed_equals_whole(const fw::MergeSpec &spec, const Pool &p, int threads) {
  mt::expect_streamed_equals(spec, p, threads,
                             [&](size_t t, const std::string &, const at::Tensor &base,
                                 const std::vector<at::Tensor> &members) {
                               return fw::merge_tensor(spec, base, members, t);
                             });
}

fw::MergeSpec spec_for(fw::MergeMethod method) {
  fw::MergeSpec s;
  const fw::MergeDefaults d = fw::merge_defaults(method);
  s.method = method;
  s.scaling = d.scaling;
  s.density = d.density;
  s.drop_rate = d.drop_rate;
  s.beta = d.beta;
  s.normalize = d.normalize;
  s.seed = 42;
  return s;
}

const fw::MergeMethod kAll[] = {fw::MergeMethod::Linear,     fw::MergeMethod::TaskArithmetic,
                                fw::MergeMethod::Ties,       fw::MergeMethod::DareLinear,
                                fw::MergeMethod::DareTies,   fw::MergeMethod::Breadcrumbs,
                                fw::MergeMethod::ModelStock, fw::MergeMethod::BreadcrumbsTies};

TEST(StreamingMerge, EveryMethodEqualsTheWholeTensorMergeF32) {
  const Pool p = make_pool("F32", 3);
  for (fw::MergeMethod m : kAll)
    for (int threads : {1, 2}) expect_streamed_equals_whole(spec_for(m), p, threads);
}

TEST(StreamingMerge, EveryMethodEqualsTheWholeTensorMergeBf16WithWeights) {
  const Pool p = make_pool("BF16", 4);
  for (fw::MergeMethod m : kAll) {
    fw::MergeSpec s = spec_for(m);
    if (m != fw::MergeMethod::ModelStock) s.weights = {0.5, 1.25, -0.75, 2.0};
    if (m == fw::MergeMethod::Ties || m == fw::MergeMethod::Breadcrumbs ||
        m == fw::MergeMethod::BreadcrumbsTies || m == fw::MergeMethod::DareLinear ||
        m == fw::MergeMethod::DareTies)
      s.densities = {0.1, 0.5, 0.33, 1.0};
    if (m == fw::MergeMethod::Breadcrumbs || m == fw::MergeMethod::BreadcrumbsTies)
      s.betas = {0.0, 0.05, 0.2, 0.4};
    expect_streamed_equals_whole(s, p, 2);
  }
}

TEST(StreamingMerge, ChunksArriveInOrderAndCoverTheTensor) {
  const Pool p = make_pool("F32", 2);
  const fw::MergeSpec s = spec_for(fw::MergeMethod::Ties);
  const std::vector<const fw::Checkpoint *> pool = p.pool();
  const fw::StreamingMerge merge(s, *p.base, pool);
  int64_t next = 0;
  int chunks = 0;
  merge.merge_tensor(0, [&](int64_t begin, const at::Tensor &chunk) {
    EXPECT_EQ(begin, next);
    EXPECT_LE(chunk.numel(), fw::kMergeChunk);
    next += chunk.numel();
    ++chunks;
  });
  EXPECT_EQ(next, p.base->tensors()[0].numel);
  EXPECT_EQ(chunks, 4);  // 3 full chunks and 777 elements
}

}  // namespace
