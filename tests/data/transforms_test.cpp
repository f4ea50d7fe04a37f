// Task transformations and label maps against hand-computed pixels and tables.
#include "transforms.h"

#include <gtest/gtest.h>

#include <vector>

#include "tasks.h"

namespace {

using demo::Transform;

// One image whose pixel (r, c) holds r * 28 + c (all values distinct).
at::Tensor index_image() { return at::arange(784, at::kFloat).reshape({1, 1, 28, 28}); }

float px(const at::Tensor &t, int r, int c) { return t[0][0][r][c].item<float>(); }

TEST(Transforms, GeometricMapsMovePixelsWhereExpected) {
  const at::Tensor x = index_image();
  const at::Tensor r90 = demo::apply_transform(x, Transform::kRot90, 0);
  // rot90 (counter-clockwise in the (row, col) plane): out[r][c] = in[c][27 - r]
  EXPECT_EQ(px(r90, 0, 0), 0 * 28 + 27);
  EXPECT_EQ(px(r90, 5, 9), 9 * 28 + 22);
  const at::Tensor r180 = demo::apply_transform(x, Transform::kRot180, 0);
  EXPECT_EQ(px(r180, 3, 4), (27 - 3) * 28 + (27 - 4));
  EXPECT_EQ(px(demo::apply_transform(x, Transform::kHFlip, 0), 2, 5), 2 * 28 + 22);
  EXPECT_EQ(px(demo::apply_transform(x, Transform::kVFlip, 0), 2, 5), 25 * 28 + 5);
  EXPECT_EQ(px(demo::apply_transform(x, Transform::kTranspose, 0), 2, 5), 5 * 28 + 2);
  const at::Tensor s = demo::apply_transform(x, Transform::kShift, 0);
  EXPECT_EQ(px(s, 10, 12), 4 * 28 + 6);
  EXPECT_EQ(px(s, 5, 20), 0);  // filled
  EXPECT_FLOAT_EQ(px(demo::apply_transform(x / 783.0, Transform::kInvert, 0), 0, 0), 1.0f);
}

TEST(Transforms, PermutationsKeepEveryPixelValue) {
  const at::Tensor x = index_image();
  for (Transform t : {Transform::kBlockPerm, Transform::kPixelPerm}) {
    const at::Tensor y = demo::apply_transform(x, t, 0);
    EXPECT_TRUE(at::equal(std::get<0>(y.flatten().sort()), x.flatten())) << demo::transform_name(t);
    EXPECT_FALSE(at::equal(y, x));
  }
  // block permutation moves whole 7x7 blocks: within a block, neighbours stay neighbours
  const at::Tensor b = demo::apply_transform(x, Transform::kBlockPerm, 0);
  EXPECT_EQ(px(b, 0, 1) - px(b, 0, 0), 1);
  EXPECT_EQ(px(b, 1, 0) - px(b, 0, 0), 28);
}

TEST(Transforms, BlurKeepsAConstantInteriorAndNoiseIsSeeded) {
  const at::Tensor ones = at::full({1, 1, 28, 28}, 0.5f);
  EXPECT_NEAR(px(demo::apply_transform(ones, Transform::kBlur, 0), 14, 14), 0.5, 1e-6);
  const at::Tensor a = demo::apply_transform(ones, Transform::kNoise, 42);
  EXPECT_TRUE(at::equal(a, demo::apply_transform(ones, Transform::kNoise, 42)));
  EXPECT_FALSE(at::equal(a, demo::apply_transform(ones, Transform::kNoise, 43)));
  EXPECT_GE(a.min().item<float>(), 0.0f);
  EXPECT_LE(a.max().item<float>(), 1.0f);
}

TEST(Tasks, LabelMapsFollowTheirTables) {
  const at::Tensor labels = at::arange(10, at::kLong);
  const at::Tensor super4 =
      demo::map_labels(labels, demo::Domain::kFashion, demo::LabelMap::kSuper4);
  const std::vector<int64_t> s4 = {0, 1, 0, 1, 0, 2, 0, 2, 3, 2};
  const at::Tensor binary =
      demo::map_labels(labels, demo::Domain::kFashion, demo::LabelMap::kBinary);
  const std::vector<int64_t> bin = {0, 1, 0, 0, 0, 1, 0, 1, 1, 1};
  const at::Tensor parity =
      demo::map_labels(labels, demo::Domain::kDigits, demo::LabelMap::kBinary);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(super4[i].item<int64_t>(), s4[size_t(i)]);
    EXPECT_EQ(binary[i].item<int64_t>(), bin[size_t(i)]);
    EXPECT_EQ(parity[i].item<int64_t>(), i % 2);
  }
}

TEST(Tasks, TwentyTasksWithUniqueNamesAndEvaluationTasksFirst) {
  const auto &tasks = demo::all_tasks();
  ASSERT_EQ(tasks.size(), 20u);
  for (size_t i = 0; i < tasks.size(); ++i)
    for (size_t j = i + 1; j < tasks.size(); ++j) EXPECT_NE(tasks[i].name, tasks[j].name);
  // an evaluation task's transformation (on its domain) appears in no other task
  for (int e = 0; e < demo::kNumEvalTasks; ++e)
    for (size_t j = 0; j < tasks.size(); ++j)
      if (int(j) != e) {
        EXPECT_FALSE(tasks[j].transform == tasks[size_t(e)].transform &&
                     tasks[j].domain == tasks[size_t(e)].domain)
            << tasks[size_t(e)].name << " / " << tasks[j].name;
      }
}

}  // namespace
