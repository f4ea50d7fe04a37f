// The model zoo of the demo: one pre-trained backbone, and per task a frozen head and a fine-tuned
// backbone, trained once with fixed seeds and cached on disk as .safetensors (reruns load them).
// Every task's head comes from the pre-trained 10-class head, untrained (the analogue of CLIP's
// zero-shot heads), so the pre-trained backbone is not helped by a head fit to its features.
#pragma once

#include <string>
#include <vector>

#include "model.h"
#include "tasks.h"
#include "train.h"

namespace demo {

struct ZooConfig {
  std::string cache_root;  // models go to cache_root/<tag()>/
  SplitSizes sizes;
  TrainConfig pretrain{3, 128, 1e-3, 1};
  int pretrain_digits_repeats = 2;  // see pretrain_data()
  TrainConfig finetune{5, 64, 0.1, 3, Optimizer::kSgd};
  // the backbone tensors fine-tuning changes (empty: all)
  std::vector<std::string> finetune_tensors = {"fc1.weight", "fc1.bias"};
  int num_tasks = 20;       // the first num_tasks of all_tasks()
  std::string tag() const;  // encodes everything that changes the trained weights
};

struct TaskModels {
  std::string finetuned_path, head_path;
  double pretrained_acc = 0, finetuned_acc = 0;  // test accuracy with the task's head
};

struct Zoo {
  std::string dir, pretrained_path;
  std::vector<TaskModels> tasks;  // index = task index in all_tasks()
};

// Default cache root: $FWDEMO_CACHE, else $XDG_CACHE_HOME/fwmerge-demo, else ~/.cache/fwmerge-demo.
std::string default_cache_root();

// Trains what is missing, loads the rest. Prints progress on stderr.
Zoo ensure_zoo(const Sources &src, const ZooConfig &cfg);

NamedTensors load_backbone(const std::string &path);
NamedTensors load_head(const std::string &path);

}  // namespace demo
