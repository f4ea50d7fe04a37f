// fwmerge-demo: FW-Merging on real images, as a host program of the public C API.
//
//   fwmerge-demo --quick            train (or load cached) models, FW_soft vs task arithmetic as
//                                   irrelevant models join the pool, table + plot + merged model
//   fwmerge-demo                    all experiments (Table 3 and Table 5 analogues)
//
// Each merge runs in a child process (--child, internal) so its peak RSS can be measured alone.
#include <ATen/Parallel.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <string>

#include "calib_objective.h"
#include "experiment.h"
#include "methods.h"
#include "tasks.h"
#include "zoo.h"

namespace {

using namespace demo;

void usage() {
  std::fprintf(stderr,
               "usage: fwmerge-demo [--quick] [--experiment irrelevant|relevant|ablation|all]\n"
               "                    [--methods m1,m2,...] [--out DIR] [--cache DIR] [--threads N]\n"
               "                    [--fw-iters T] [--soft-iters K] [--top-k K]\n"
               "                    [--soft-solver simplex|capped|adam|box] [--soft-lr LR]\n"
               "methods:");
  for (const std::string &m : method_names()) std::fprintf(stderr, " %s", m.c_str());
  std::fprintf(stderr, "\n");
}

Options parse(int argc, char **argv) {
  Options opt;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
      return argv[++i];
    };
    if (a == "--quick")
      opt.quick = true;
    else if (a == "--experiment")
      opt.experiment = value();
    else if (a == "--methods") {
      const std::string list = value();
      size_t begin = 0;
      while (begin <= list.size()) {
        const size_t end = std::min(list.find(',', begin), list.size());
        const std::string m = list.substr(begin, end - begin);
        if (!is_method(m)) throw std::invalid_argument("unknown method " + m);
        opt.methods.push_back(m);
        begin = end + 1;
      }
    } else if (a == "--out")
      opt.out_dir = value();
    else if (a == "--cache")
      opt.cache_root = value();
    else if (a == "--threads")
      opt.threads = std::stoi(value());
    else if (a == "--fw-iters")
      opt.fw_iters = std::stoi(value());
    else if (a == "--soft-iters")
      opt.soft_iters = std::stoi(value());
    else if (a == "--top-k")
      opt.top_k = std::stoi(value());
    else if (a == "--soft-solver")
      opt.soft_solver = value();
    else if (a == "--soft-lr")
      opt.soft_lr = std::stod(value());
    else if (a == "--child")
      opt.child_method = value();
    else if (a == "--pool")
      opt.pool = parse_ints(value());
    else if (a == "--eval")
      opt.eval = parse_ints(value());
    else if (a == "--result")
      opt.result_path = value();
    else if (a == "--export")
      opt.export_path = value();
    else if (a == "--help" || a == "-h") {
      usage();
      std::exit(0);
    } else
      throw std::invalid_argument("unknown option " + a);
  }
  if (opt.experiment != "all" && opt.experiment != "irrelevant" && opt.experiment != "relevant" &&
      opt.experiment != "ablation")
    throw std::invalid_argument("unknown experiment " + opt.experiment);
  if (opt.soft_solver != "simplex" && opt.soft_solver != "capped" && opt.soft_solver != "adam" &&
      opt.soft_solver != "box")
    throw std::invalid_argument("--soft-solver must be simplex, capped, adam or box");
  if (opt.threads < 1) throw std::invalid_argument("--threads must be >= 1");
  if (opt.cache_root.empty()) opt.cache_root = default_cache_root();
  return opt;
}

ZooConfig zoo_config(const Options &opt) {
  ZooConfig cfg;
  cfg.cache_root = opt.cache_root;
  cfg.sizes.finetune = 5000;
  cfg.pretrain = TrainConfig{3, 128, 1e-3, 1};
  cfg.pretrain_digits_repeats = 2;
  // SGD on the first layer only, for about 400 steps: the task vectors stay within reach of the
  // pre-trained model's linearization and act mostly on their own task's inputs
  cfg.finetune = TrainConfig{5, 64, 0.1, 3, Optimizer::kSgd, 0.9};
  cfg.finetune_tensors = {"fc1.weight", "fc1.bias"};
  return cfg;
}

// Child: one method on one pool, accuracies on the evaluation tasks' test sets.
int run_child(const Options &opt) {
  const ZooConfig cfg = zoo_config(opt);
  const Sources src = Sources::load(default_data_paths());
  const Zoo zoo = ensure_zoo(src, cfg);
  std::vector<CalibTask> calib;
  std::vector<ImageSet> tests;
  std::vector<NamedTensors> heads;
  for (int t : opt.eval) {
    const TaskSpec &task = all_tasks().at(size_t(t));
    const TaskData data = make_task_data(src, task, t, cfg.sizes, /*need_finetune=*/false);
    heads.push_back(load_head(zoo.tasks.at(size_t(t)).head_path));
    calib.push_back(CalibTask{task.name, data.calib, heads.back().tensors});
    tests.push_back(data.test);
  }
  CalibObjective objective(calib);
  MergeSetup setup;
  setup.base_path = zoo.pretrained_path;
  for (int t : opt.pool) setup.pool_paths.push_back(zoo.tasks.at(size_t(t)).finetuned_path);
  setup.objective = &objective;
  setup.fw_iters = opt.fw_iters;
  setup.soft_iters = opt.soft_iters;
  setup.soft_lr = opt.soft_lr;
  setup.top_k = opt.top_k;
  setup.soft_solver = opt.soft_solver == "capped" ? FW_SOFT_SOLVER_CAPPED
                      : opt.soft_solver == "adam" ? FW_SOFT_SOLVER_ADAM
                      : opt.soft_solver == "box"  ? FW_SOFT_SOLVER_BOX
                                                  : FW_SOFT_SOLVER_SIMPLEX;
  setup.threads = opt.threads;
  setup.work_dir = opt.out_dir + "/tmp";
  setup.export_path = opt.export_path;

  const auto start = std::chrono::steady_clock::now();
  const MergeOutcome outcome = run_method(opt.child_method, setup);
  RunResult result;
  result.merge_wall_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result.evaluations = outcome.evaluations;
  for (size_t i = 0; i < tests.size(); ++i)
    result.acc.push_back(accuracy(outcome.merged.tensors, heads[i].tensors, tests[i]));
  write_result_file(opt.result_path, result);
  if (!outcome.trace.empty()) {
    // Per-step trace of a FW run: out/traces/<method>_p<pool>_e<eval>.csv
    const std::string dir = opt.out_dir + "/traces";
    ::mkdir(dir.c_str(), 0755);
    std::ofstream csv(dir + "/" + opt.child_method + "_p" + std::to_string(opt.pool.size()) + "_e" +
                      std::to_string(opt.eval.size()) + ".csv");
    csv << "iteration,evaluations,loss,loss_after,gap,gamma\n";
    for (const StepTrace &s : outcome.trace)
      csv << s.iteration << ',' << s.evaluations << ',' << s.loss << ',' << s.loss_after << ','
          << s.gap << ',' << s.gamma << '\n';
  }
  return 0;
}

int run_parent(const Options &opt) {
  std::fprintf(stderr, "fwmerge-demo (libfwmerge %s): models cached in %s\n", fw_version(),
               opt.cache_root.c_str());
  const ZooConfig cfg = zoo_config(opt);
  Zoo zoo;
  {
    const Sources src = Sources::load(default_data_paths());
    zoo = ensure_zoo(src, cfg);
  }
  std::string models =
      "### Models (test accuracy with each task's frozen head)\n\n"
      "| task | pre-trained backbone | fine-tuned backbone |\n|---|---:|---:|\n";
  for (size_t i = 0; i < zoo.tasks.size(); ++i) {
    char line[160];
    std::snprintf(line, sizeof line, "| %s%s | %.1f | %.1f |\n", all_tasks()[i].name.c_str(),
                  int(i) < kNumEvalTasks ? " (eval)" : "", 100 * zoo.tasks[i].pretrained_acc,
                  100 * zoo.tasks[i].finetuned_acc);
    models += line;
  }
  std::printf("%s\n", models.c_str());
  std::fflush(stdout);
  ::mkdir(opt.out_dir.c_str(), 0755);
  std::ofstream(opt.out_dir + "/models.md") << models;
  TaskEnds ends;
  for (const TaskModels &t : zoo.tasks) {
    ends.pretrained.push_back(t.pretrained_acc);
    ends.finetuned.push_back(t.finetuned_acc);
  }
  run_experiments(opt, ends);
  std::printf(
      "\nResults: %s/results.csv, %s/results.md, plots %s/*.png; merged models %s/merged_*"
      ".safetensors\n",
      opt.out_dir.c_str(), opt.out_dir.c_str(), opt.out_dir.c_str(), opt.out_dir.c_str());
  return 0;
}

}  // namespace

int main(int argc, char **argv) {
  try {
    const Options opt = parse(argc, argv);
    // One intra-op thread by default: on a small shared machine more threads oversubscribe the
    // cores and every tiny matrix product pays for it.
    at::set_num_threads(opt.threads);
    return opt.child_method.empty() ? run_parent(opt) : run_child(opt);
  } catch (const std::exception &e) {
    std::fprintf(stderr, "fwmerge-demo: %s\n", e.what());
    return 1;
  }
}
