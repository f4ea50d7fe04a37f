// A small real-data merge, end to end through the public C API: a backbone pre-trained on
// Fashion-MNIST, two tasks (rotated and pixel-permuted images) with frozen heads and fine-tuned
// backbones, FW_soft (layer-wise) on 100 calibration samples per task. The merged backbone must
// beat the pre-trained one on both tasks' test sets.
#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include "calib_objective.h"
#include "methods.h"
#include "progress.h"
#include "tasks.h"
#include "tensor_file.h"
#include "test_support.h"
#include "train.h"

namespace {

TEST(EndToEnd, FwSoftMergeBeatsThePretrainedBackbone) {
  at::set_num_threads(1);
  demo::set_progress_enabled(false);
  const std::string dir = fwtest::temp_dir("end_to_end");
  const demo::Sources src = demo::Sources::load(demo::default_data_paths());
  const demo::NamedTensors pre = demo::pretrain_backbone(
      demo::as_float(src.fashion_train.slice(0, 6000)), demo::TrainConfig{1, 64, 1e-3, 1});
  demo::save_tensors(dir + "/pre.safetensors", pre);

  demo::SplitSizes sizes;
  sizes.finetune = 3000;
  sizes.test = 1000;
  std::vector<demo::CalibTask> calib;
  std::vector<demo::ImageSet> tests;
  demo::MergeSetup setup;
  for (int t : {0, 1}) {  // rot90-c10, pixelperm-c10
    const demo::TaskSpec &task = demo::all_tasks()[size_t(t)];
    const demo::TaskData data = demo::make_task_data(src, task, t, sizes);
    const demo::NamedTensors head = demo::fit_head(pre, data.finetune, task.num_classes(),
                                                   demo::TrainConfig{10, 256, 1e-2, 2}, "head");
    const demo::NamedTensors ft = demo::finetune_backbone(
        pre, head, data.finetune, demo::TrainConfig{2, 64, 1e-3, 3}, "fine-tune");
    const std::string path = dir + "/" + task.name + ".safetensors";
    demo::save_tensors(path, ft);
    setup.pool_paths.push_back(path);
    calib.push_back(demo::CalibTask{task.name, data.calib, head.tensors});
    tests.push_back(data.test);
  }
  demo::CalibObjective objective(calib);
  setup.base_path = dir + "/pre.safetensors";
  setup.objective = &objective;
  setup.fw_iters = 4;
  setup.soft_iters = 8;
  setup.work_dir = dir;
  setup.export_path = dir + "/merged.safetensors";
  const demo::MergeOutcome merged = demo::run_method("fw_soft_layer", setup);
  EXPECT_GT(merged.evaluations, 0);
  for (size_t i = 0; i < tests.size(); ++i) {
    const double before = demo::accuracy(pre.tensors, calib[i].head, tests[i]);
    const double after = demo::accuracy(merged.merged.tensors, calib[i].head, tests[i]);
    std::printf("%s: pre-trained %.3f, merged %.3f\n", calib[i].name.c_str(), before, after);
    EXPECT_GT(after, before + 0.01) << calib[i].name;
  }
  // the export holds the merged backbone
  const demo::NamedTensors back =
      demo::select(demo::load_tensors(setup.export_path).tensors, demo::backbone_names());
  EXPECT_TRUE(at::allclose(back.tensors[0], merged.merged.tensors[0]));
}

}  // namespace
