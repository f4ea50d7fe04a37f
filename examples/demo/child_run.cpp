#include "child_run.h"

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace demo {

std::string join_ints(const std::vector<int> &values) {
  std::string out;
  for (size_t i = 0; i < values.size(); ++i) out += (i ? "," : "") + std::to_string(values[i]);
  return out;
}

std::vector<int> parse_ints(const std::string &text) {
  std::vector<int> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ','))
    if (!item.empty()) out.push_back(std::stoi(item));
  return out;
}

void write_result_file(const std::string &path, const RunResult &r) {
  std::ofstream out(path);
  out.precision(17);
  out << r.evaluations << ' ' << r.merge_wall_s << ' ' << r.acc.size();
  for (double a : r.acc) out << ' ' << a;
  out << '\n';
  if (!out) throw std::runtime_error("cannot write " + path);
}

RunResult run_in_child(const RunRequest &req, const std::string &work_dir) {
  const std::string result_path =
      work_dir + "/result-" + std::to_string(::getpid()) + "-" + req.method + ".txt";
  std::remove(result_path.c_str());
  std::vector<std::string> args = {"fwmerge-demo",      "--child", req.method,          "--pool",
                                   join_ints(req.pool), "--eval",  join_ints(req.eval), "--result",
                                   result_path};
  if (!req.export_path.empty()) {
    args.push_back("--export");
    args.push_back(req.export_path);
  }
  args.insert(args.end(), req.common_args.begin(), req.common_args.end());
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
  while (::wait4(pid, &status, 0, &usage) < 0) {
    if (errno != EINTR) throw std::runtime_error(std::string("wait4: ") + std::strerror(errno));
  }
  RunResult r;
  r.child_wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error("child run of " + req.method + " failed (status " +
                             std::to_string(status) + ")");
  r.peak_rss_bytes = uint64_t(usage.ru_maxrss) * 1024;  // Linux: kilobytes
  std::ifstream in(result_path);
  size_t n = 0;
  if (!(in >> r.evaluations >> r.merge_wall_s >> n))
    throw std::runtime_error("child of " + req.method + " wrote no result");
  r.acc.resize(n);
  double sum = 0;
  for (double &a : r.acc) {
    in >> a;
    sum += a;
  }
  r.mean_acc = n ? sum / double(n) : 0;
  std::remove(result_path.c_str());
  return r;
}

}  // namespace demo
