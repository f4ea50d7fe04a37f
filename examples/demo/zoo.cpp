#include "zoo.h"

#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#include "tensor_file.h"

namespace demo {
namespace {

bool exists(const std::string &path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

void make_dirs(const std::string &path) {
  for (size_t pos = 1; pos <= path.size(); ++pos) {
    if (pos == path.size() || path[pos] == '/') {
      const std::string prefix = path.substr(0, pos);
      if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST)
        throw std::runtime_error("cannot create folder " + prefix);
    }
  }
}

std::string fmt(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.6f", v);
  return text;
}

std::string train_tag(const TrainConfig &c) {
  char text[96];
  std::snprintf(text, sizeof text, "e%db%lldlr%gs%llu", c.epochs, (long long)c.batch, c.lr,
                (unsigned long long)c.seed);
  std::string tag = text;
  if (c.optimizer == Optimizer::kSgd) {
    std::snprintf(text, sizeof text, "sgd%g", c.momentum);
    tag += text;
  }
  return tag;
}

// A task's head, derived from the pre-trained 10-class head without training, as CLIP derives its
// zero-shot heads from class names: a 10-class task keeps it, a coarser label map gets per group
// the mean of its classes' rows (the logit of a group is the mean of its classes' logits).
NamedTensors zero_shot_head(const NamedTensors &pretrained_head, const TaskSpec &task) {
  if (task.label_map == LabelMap::kClass10) return pretrained_head.clone();
  const at::Tensor group = map_labels(at::arange(10, at::kLong), task.domain, task.label_map);
  const at::Tensor member = at::one_hot(group, task.num_classes()).to(at::kFloat).t();  // [g, 10]
  const at::Tensor mean = member / member.sum(1, /*keepdim=*/true);
  NamedTensors head{{"head.weight", "head.bias"}, {}};
  head.tensors.push_back(at::matmul(mean, pretrained_head.get("head.weight")).contiguous());
  head.tensors.push_back(at::matmul(mean, pretrained_head.get("head.bias")).contiguous());
  return head;
}

}  // namespace

std::string ZooConfig::tag() const {
  std::string tensors;
  for (const std::string &name : finetune_tensors) tensors += "-" + name;
  return "mlp784-" + std::to_string(kHidden1) + "-" + std::to_string(kFeatureDim) + "_ft" +
         std::to_string(sizes.finetune) + "_t" + std::to_string(sizes.test) + "_p" +
         std::to_string(pretrain_transforms().size()) + "d" +
         std::to_string(pretrain_digits_repeats) + train_tag(pretrain) + "_f" +
         train_tag(finetune) + tensors + "_v3";
}

std::string default_cache_root() {
  if (const char *dir = std::getenv("FWDEMO_CACHE")) return dir;
  if (const char *xdg = std::getenv("XDG_CACHE_HOME")) return std::string(xdg) + "/fwmerge-demo";
  if (const char *home = std::getenv("HOME")) return std::string(home) + "/.cache/fwmerge-demo";
  return ".fwmerge-demo-cache";
}

NamedTensors load_backbone(const std::string &path) {
  return select(load_tensors(path).tensors, backbone_names());
}

NamedTensors load_head(const std::string &path) {
  return select(load_tensors(path).tensors, {"head.weight", "head.bias"});
}

Zoo ensure_zoo(const Sources &src, const ZooConfig &cfg) {
  Zoo zoo;
  zoo.dir = cfg.cache_root + "/" + cfg.tag();
  make_dirs(zoo.dir + "/heads");
  make_dirs(zoo.dir + "/finetuned");
  zoo.pretrained_path = zoo.dir + "/pretrained.safetensors";

  const std::string pretrained_head_path = zoo.dir + "/heads/pretrained-c10.safetensors";
  NamedTensors pretrained, pretrained_head;
  if (exists(zoo.pretrained_path) && exists(pretrained_head_path)) {
    pretrained = load_backbone(zoo.pretrained_path);
    pretrained_head = load_head(pretrained_head_path);
  } else {
    pretrained = pretrain_backbone(pretrain_data(src, cfg.pretrain_digits_repeats), cfg.pretrain,
                                   &pretrained_head);
    save_tensors(pretrained_head_path, pretrained_head, {{"role", "head"}, {"task", "pretrain"}});
    // the backbone is written last: its presence (with the head's) marks pre-training as complete
    save_tensors(zoo.pretrained_path, pretrained, {{"role", "pretrained"}});
  }

  const std::vector<TaskSpec> &tasks = all_tasks();
  if (cfg.num_tasks > int(tasks.size())) throw std::invalid_argument("ensure_zoo: num_tasks");
  for (int i = 0; i < cfg.num_tasks; ++i) {
    const TaskSpec &task = tasks[size_t(i)];
    TaskModels m;
    m.head_path = zoo.dir + "/heads/" + task.name + ".safetensors";
    m.finetuned_path = zoo.dir + "/finetuned/" + task.name + ".safetensors";
    if (exists(m.head_path) && exists(m.finetuned_path)) {
      const LoadedTensors ft = load_tensors(m.finetuned_path);
      m.pretrained_acc = std::stod(ft.metadata.at("pretrained_acc"));
      m.finetuned_acc = std::stod(ft.metadata.at("finetuned_acc"));
      zoo.tasks.push_back(m);
      continue;
    }
    const TaskData data = make_task_data(src, task, i, cfg.sizes);
    TrainConfig ft_cfg = cfg.finetune;
    ft_cfg.seed += uint64_t(i) * 101;
    const NamedTensors head = zero_shot_head(pretrained_head, task);
    const NamedTensors ft = finetune_backbone(pretrained, head, data.finetune, ft_cfg,
                                              "fine-tune " + task.name, cfg.finetune_tensors);
    m.pretrained_acc = accuracy(pretrained.tensors, head.tensors, data.test);
    m.finetuned_acc = accuracy(ft.tensors, head.tensors, data.test);
    std::fprintf(stderr, "  %-18s test accuracy: pre-trained %.1f%%, fine-tuned %.1f%%\n",
                 task.name.c_str(), 100 * m.pretrained_acc, 100 * m.finetuned_acc);
    save_tensors(m.head_path, head, {{"role", "head"}, {"task", task.name}});
    // the fine-tuned file is written last: its presence marks the task as complete
    save_tensors(m.finetuned_path, ft,
                 {{"role", "finetuned"},
                  {"task", task.name},
                  {"pretrained_acc", fmt(m.pretrained_acc)},
                  {"finetuned_acc", fmt(m.finetuned_acc)}});
    zoo.tasks.push_back(m);
  }
  return zoo;
}

}  // namespace demo
