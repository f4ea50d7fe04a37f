#include "tasks.h"

#include <algorithm>
#include <stdexcept>

namespace demo {

int64_t TaskSpec::num_classes() const {
  switch (label_map) {
    case LabelMap::kClass10:
      return 10;
    case LabelMap::kSuper4:
      return 4;
    case LabelMap::kBinary:
      return 2;
  }
  return 0;
}

const std::vector<TaskSpec> &all_tasks() {
  using T = Transform;
  using L = LabelMap;
  const Domain F = Domain::kFashion;
  static const std::vector<TaskSpec> tasks = {
      // evaluation tasks: transformations no other task uses
      {"rot90-c10", F, T::kRot90, L::kClass10},
      {"pixelperm-c10", F, T::kPixelPerm, L::kClass10},
      {"blockperm-c10", F, T::kBlockPerm, L::kClass10},
      {"digits-c10", Domain::kDigits, T::kIdentity, L::kClass10},
      // the other 16 ("irrelevant" to the evaluation tasks)
      {"rot180-c10", F, T::kRot180, L::kClass10},
      {"rot270-c10", F, T::kRot270, L::kClass10},
      {"vflip-c10", F, T::kVFlip, L::kClass10},
      {"noise-c10", F, T::kNoise, L::kClass10},
      {"blur-c10", F, T::kBlur, L::kClass10},
      {"shift-c10", F, T::kShift, L::kClass10},
      {"zoom-c10", F, T::kZoom, L::kClass10},
      {"invert-c10", F, T::kInvert, L::kClass10},
      {"transpose-super", F, T::kTranspose, L::kSuper4},
      {"hflip-super", F, T::kHFlip, L::kSuper4},
      {"rot180-binary", F, T::kRot180, L::kBinary},
      {"vflip-super", F, T::kVFlip, L::kSuper4},
      {"noise-binary", F, T::kNoise, L::kBinary},
      {"blur-super", F, T::kBlur, L::kSuper4},
      {"shift-binary", F, T::kShift, L::kBinary},
      {"zoom-super", F, T::kZoom, L::kSuper4},
  };
  return tasks;
}

const std::vector<Transform> &pretrain_transforms() {
  using T = Transform;
  static const std::vector<Transform> transforms = {
      T::kIdentity, T::kRot180, T::kRot270, T::kHFlip, T::kVFlip, T::kTranspose,
      T::kInvert,   T::kNoise,  T::kBlur,   T::kShift, T::kZoom};
  return transforms;
}

at::Tensor map_labels(const at::Tensor &labels, Domain domain, LabelMap map) {
  if (map == LabelMap::kClass10) return labels.clone();
  if (domain == Domain::kDigits) {
    if (map == LabelMap::kBinary) return labels.remainder(2);
    throw std::invalid_argument("map_labels: digits have no super-classes");
  }
  // Fashion-MNIST classes: 0 T-shirt, 1 trouser, 2 pullover, 3 dress, 4 coat, 5 sandal, 6 shirt,
  // 7 sneaker, 8 bag, 9 ankle boot.
  static const int64_t super4[10] = {0, 1, 0, 1, 0, 2, 0, 2, 3, 2};
  static const int64_t binary[10] = {0, 1, 0, 0, 0, 1, 0, 1, 1, 1};
  const int64_t *table = map == LabelMap::kSuper4 ? super4 : binary;
  const at::Tensor lut = at::from_blob(const_cast<int64_t *>(table), {10}, at::kLong).clone();
  return lut.index_select(0, labels);
}

Sources Sources::load(const DataPaths &paths) {
  Sources s;
  s.fashion_train = load_fashion(paths.fashion_dir, "train", /*as_float=*/false);
  s.fashion_test = load_fashion(paths.fashion_dir, "t10k", /*as_float=*/false);
  s.digits = load_digits(paths.digits_csv);
  return s;
}

ImageSet pretrain_data(const Sources &src, int digits_repeats) {
  const std::vector<Transform> &transforms = pretrain_transforms();
  const int64_t rows = 50000, part = rows / int64_t(transforms.size());
  std::vector<at::Tensor> images, labels;
  for (size_t i = 0; i < transforms.size(); ++i) {
    const ImageSet s = as_float(src.fashion_train.slice(int64_t(i) * part, int64_t(i + 1) * part));
    // noise seeds apart from every task's (those are multiples of 7919 plus 1..3)
    images.push_back(apply_transform(s.images, transforms[i], 1000003u + i));
    labels.push_back(s.labels);
  }
  for (int r = 0; r < digits_repeats; ++r) {
    images.push_back(src.digits.images.slice(0, 0, 1000));
    labels.push_back(src.digits.labels.slice(0, 0, 1000));
  }
  return ImageSet{at::cat(images), at::cat(labels)};
}

TaskData make_task_data(const Sources &src, const TaskSpec &task, int task_index,
                        const SplitSizes &sizes, bool need_finetune) {
  ImageSet ft, cal, te;
  if (task.domain == Domain::kFashion) {
    ft = src.fashion_train.slice(0, std::min<int64_t>(sizes.finetune, 50000));
    const int64_t c0 = 50000 + int64_t(task_index) * sizes.calib;
    if (c0 + sizes.calib > 60000) throw std::invalid_argument("make_task_data: calibration rows");
    cal = src.fashion_train.slice(c0, c0 + sizes.calib);
    te = src.fashion_test.slice(0, std::min<int64_t>(sizes.test, 10000));
  } else {
    ft = src.digits.slice(0, std::min<int64_t>(sizes.finetune, 1000));
    cal = src.digits.slice(1000, 1000 + std::min<int64_t>(sizes.calib, 100));
    te = src.digits.slice(1100, src.digits.size());
  }
  // distinct noise per split and task
  const uint64_t seed = 7919u * uint64_t(task_index + 1);
  const auto prepare = [&](const ImageSet &s, uint64_t salt) {
    return ImageSet{apply_transform(as_float(s).images, task.transform, seed + salt),
                    map_labels(s.labels, task.domain, task.label_map)};
  };
  TaskData out;
  if (need_finetune) out.finetune = prepare(ft, 1);
  out.calib = prepare(cal, 2);
  out.test = prepare(te, 3);
  return out;
}

}  // namespace demo
