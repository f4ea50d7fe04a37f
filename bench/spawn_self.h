// Re-runs the benchmark binary itself (or another program: a peer tool) as a child with `args`
// (argv[0] first) and waits: each figure comes from a fresh process, so one measurement's
// allocations cannot mask another's. posix_spawn (vfork-style) starts from the parent's high-water
// mark: the parent must stay small.
#pragma once

#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

extern char **environ;

namespace bench {

struct ChildExit {
  bool ok = false;          // exited with status 0
  double peak_rss_kib = 0;  // the child's ru_maxrss
  double cpu_s = 0;         // user + system time
  double system_s = 0;      // system time alone (page faults, reads)
  double minor_faults = 0;  // ru_minflt
};

// `program`: a path, or a name looked up in PATH.
inline ChildExit spawn_program(const std::string &program, const std::vector<std::string> &args) {
  std::vector<char *> argv;
  for (const std::string &a : args) argv.push_back(const_cast<char *>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid;
  if (posix_spawnp(&pid, program.c_str(), nullptr, nullptr, argv.data(), environ) != 0) {
    std::perror(("posix_spawn " + program).c_str());
    std::exit(1);
  }
  int status = 0;
  struct rusage usage;
  wait4(pid, &status, 0, &usage);
  ChildExit e;
  e.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  e.peak_rss_kib = static_cast<double>(usage.ru_maxrss);
  const auto seconds = [](const timeval &t) { return t.tv_sec + t.tv_usec * 1e-6; };
  e.system_s = seconds(usage.ru_stime);
  e.cpu_s = seconds(usage.ru_utime) + e.system_s;
  e.minor_faults = static_cast<double>(usage.ru_minflt);
  return e;
}

inline ChildExit spawn_self(const std::vector<std::string> &args) {
  return spawn_program("/proc/self/exe", args);
}

}  // namespace bench
