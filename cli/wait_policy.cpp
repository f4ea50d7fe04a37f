// LibTorch's parallel regions run on OpenMP (libgomp), whose idle workers spin for a while before
// they sleep. On a machine whose cores are busy with other work (an embedding service's threads,
// two other merges) the spinning workers take the cores the working ones need: measured on the
// 2-core machine with two busy processes, `fwmerge merge --threads 2` (TIES, 4 x 200 MB bf16) took
// 75.6 s wall and 36.7 s of CPU with libgomp's default policy, 21.2 s and 9.9 s with
// OMP_WAIT_POLICY=PASSIVE (bench/busy_host.sh). libgomp reads the variable once, when it is
// loaded, which is before main: so the process starts itself again with it set, unless the user
// set OMP_WAIT_POLICY or GOMP_SPINCOUNT (theirs wins). The library does not touch a host's
// environment; bench/results/memory.md ("A busy machine") says what hosts should set.
#include "wait_policy.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace fwcli {
namespace {

constexpr const char *kMarker = "FWMERGE_SET_OMP_WAIT_POLICY";

// Runs before main (a constructor of the executable, after libgomp's own). glibc passes init_array
// functions the program's arguments; execv replaces the process image, so a failed exec (no
// /proc) simply goes on with the default policy.
void reexec_with_passive_wait(int argc, char **argv, char **) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr || std::getenv("GOMP_SPINCOUNT") != nullptr) return;
  if (argv == nullptr || std::getenv(kMarker) != nullptr) return;  // never loop
  // `inspect` reads headers and runs no parallel region: a second start would only double its
  // time (0.5 s of loading LibTorch again, measured here).
  for (int i = 1; i < argc; ++i)
    if (argv[i][0] != '-') {
      if (std::strcmp(argv[i], "inspect") == 0) return;
      break;
    }
  if (::setenv("OMP_WAIT_POLICY", "PASSIVE", 1) != 0 || ::setenv(kMarker, "1", 1) != 0) return;
  ::execv("/proc/self/exe", argv);
  ::unsetenv("OMP_WAIT_POLICY");  // exec failed: the environment says what the process has
  ::unsetenv(kMarker);
}

__attribute__((section(".init_array"),
               used)) void (*const reexec_entry)(int, char **, char **) = reexec_with_passive_wait;

}  // namespace

std::string omp_wait_policy_description() {
  const char *policy = std::getenv("OMP_WAIT_POLICY");
  if (policy == nullptr) return "libgomp's default (GOMP_SPINCOUNT set)";
  if (std::getenv(kMarker) != nullptr) return std::string(policy) + " (set by fwmerge)";
  return std::string(policy) + " (OMP_WAIT_POLICY)";
}

}  // namespace fwcli
