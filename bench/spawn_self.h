// Re-runs the benchmark binary itself as a child with `args` (argv[0] first) and waits: each
// figure comes from a fresh process, so one measurement's allocations cannot mask another's.
// posix_spawn (vfork-style) starts from the parent's high-water mark: the parent must stay small.
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
};

inline ChildExit spawn_self(const std::vector<std::string> &args) {
  std::vector<char *> argv;
  for (const std::string &a : args) argv.push_back(const_cast<char *>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid;
  if (posix_spawn(&pid, "/proc/self/exe", nullptr, nullptr, argv.data(), environ) != 0) {
    std::perror("posix_spawn");
    std::exit(1);
  }
  int status = 0;
  struct rusage usage;
  wait4(pid, &status, 0, &usage);
  ChildExit e;
  e.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  e.peak_rss_kib = static_cast<double>(usage.ru_maxrss);
  return e;
}

}  // namespace bench
