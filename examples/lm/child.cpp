#include "child.h"

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include "fwmerge.h"
#include "methods.h"
#include "objective.h"
#include "tensor_file.h"

namespace lm {

ChildResult run_child(const ChildRequest &req, const std::string &work_dir) {
  const std::string result_path =
      work_dir + "/result-" + std::to_string(::getpid()) + "-" + req.method + ".txt";
  std::remove(result_path.c_str());
  std::string pool;
  for (size_t i = 0; i < req.pool.size(); ++i) pool += (i ? "," : "") + req.pool[i];
  std::vector<std::string> args = {"fwmerge-lm",   "--child",  req.method,  "--pool",
                                   pool,           "--result", result_path, "--cache",
                                   req.cache_root, "--work",   work_dir};
  if (req.smoke) args.push_back("--smoke");
  std::vector<char *> argv;
  for (std::string &a : args) argv.push_back(&a[0]);
  argv.push_back(nullptr);

  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    ::execv("/proc/self/exe", argv.data());
    _exit(127);
  }
  int status = 0;
  struct rusage usage;
  std::memset(&usage, 0, sizeof usage);
  while (::wait4(pid, &status, 0, &usage) < 0)
    if (errno != EINTR) throw std::runtime_error(std::string("wait4: ") + std::strerror(errno));
  ChildResult r;
  r.child_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error("child run of " + req.method + " failed (status " +
                             std::to_string(status) + ")");
  r.peak_rss_bytes = uint64_t(usage.ru_maxrss) * 1024;  // Linux: kilobytes
  std::ifstream in(result_path);
  size_t n = 0;
  if (!(in >> r.evaluations >> r.merge_s >> r.calib_loss >> n))
    throw std::runtime_error("child of " + req.method + " wrote no result");
  r.test_loss.resize(n);
  for (double &l : r.test_loss) in >> l;
  std::remove(result_path.c_str());
  return r;
}

int child_main(const ChildRequest &req, const std::string &result_path,
               const std::string &work_dir) {
  const BenchConfig cfg = req.smoke ? smoke_config() : full_config();
  const Zoo zoo = open_zoo(cfg, req.cache_root);
  // Only the evaluation domains' text is needed here.
  std::vector<at::Tensor> calib, test;
  for (const std::string &d : cfg.eval_domains) {
    const DomainText t = collect(domain_by_name(d), cfg.split);
    calib.push_back(windows(t.calib, cfg.model.context + 1, cfg.calib_windows));
    test.push_back(windows(t.test, cfg.model.context + 1, cfg.test_windows));
  }
  MergeSetup s;
  s.model = cfg.model;
  s.base_path = zoo.base_path;
  for (const std::string &d : req.pool) s.pool_paths.push_back(zoo.adapter_dir(d));
  s.fw_hard_iters = cfg.fw_hard_iters;
  s.soft_iters = cfg.soft_iters;
  s.max_evaluations = cfg.max_evaluations;
  s.work_dir = work_dir;
  LmObjective objective(
      cfg.model,
      to_weights(demo::select(demo::load_tensors(zoo.base_path).tensors, param_names(cfg.model))),
      calib);
  s.objective = &objective;
  const auto t0 = std::chrono::steady_clock::now();
  const MergeOutcome out = run_method(req.method, s);
  const double merge_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::ofstream f(result_path);
  f.precision(17);
  f << out.evaluations << ' ' << merge_s << ' ' << objective.value(out.merged) << ' '
    << test.size();
  for (const at::Tensor &t : test) f << ' ' << mean_loss(cfg.model, out.merged, t);
  f << '\n';
  return f ? 0 : 1;
}

}  // namespace lm
