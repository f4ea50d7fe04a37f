// The demo's tasks: a real image source, a transformation and a label map. Every task draws its
// fine-tuning, calibration and test rows from fixed, disjoint ranges of the source, so results are
// reproducible and calibration data never overlaps test data.
#pragma once

#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "datasets.h"
#include "transforms.h"

namespace demo {

enum class Domain { kFashion, kDigits };
enum class LabelMap {
  kClass10,  // the source's 10 classes
  kSuper4,   // Fashion-MNIST: tops / trousers+dresses / footwear / bags
  kBinary,   // Fashion-MNIST: T-shirt, pullover, dress, coat, shirt vs the rest; digits: parity
};

struct TaskSpec {
  std::string name;  // e.g. "rot90-c10"
  Domain domain;
  Transform transform;
  LabelMap label_map;
  int64_t num_classes() const;
};

// The 20 tasks; the first 4 are the evaluation tasks of the Table 3 analogue.
const std::vector<TaskSpec> &all_tasks();
constexpr int kNumEvalTasks = 4;

// The Fashion-MNIST transformations of the pre-training set: every one but the evaluation tasks'
// (rotation by 90 degrees, pixel and block permutations), so that the backbone's features are
// broad but the evaluation tasks are new to it (the digits come upright).
const std::vector<Transform> &pretrain_transforms();

at::Tensor map_labels(const at::Tensor &labels, Domain domain, LabelMap map);

// Row budgets of each split (smaller in --quick mode).
struct SplitSizes {
  int64_t finetune = 6000;  // Fashion-MNIST rows per task (digits: at most 1000)
  int64_t calib = 100;      // per task, the paper's setting
  int64_t test = 2000;      // Fashion-MNIST test rows per task (digits: the 697 held-out rows)
};

struct TaskData {
  ImageSet finetune, calib, test;  // transformed images, mapped labels
};

// The loaded sources (loaded once, shared by all tasks; Fashion-MNIST kept as uint8).
struct Sources {
  ImageSet fashion_train, fashion_test, digits;
  static Sources load(const DataPaths &paths);
};

// The pre-training set: Fashion-MNIST rows [0, 50000) in equal parts under each of
// pretrain_transforms(), plus the digits' training rows [0, 1000) `digits_repeats` times, with one
// shared 10-class label space (Fashion class k and digit k share logit k). Float images.
ImageSet pretrain_data(const Sources &src, int digits_repeats);

// Fashion-MNIST rows [0, 50000) of the train split are for (pre-)training, [50000, 60000) for
// calibration (100 rows per task index, disjoint across tasks); the t10k split is for testing.
// Digits: rows [0, 1000) train, [1000, 1100) calibration, [1100, 1797) test.
TaskData make_task_data(const Sources &src, const TaskSpec &task, int task_index,
                        const SplitSizes &sizes, bool need_finetune = true);

}  // namespace demo
