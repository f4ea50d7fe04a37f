// The fwmerge process runs LibTorch's OpenMP workers with a passive wait policy (cli/
// wait_policy.cpp: spinning workers took the cores of a busy machine), unless the user chose one.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "fwmerge.h"

namespace {

// `env` is prefixed to the command (e.g. "OMP_WAIT_POLICY=active"); returns stdout.
std::string version_output(const std::string &env) {
  const std::string cmd =
      "env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT -u FWMERGE_SET_OMP_WAIT_POLICY " + env + " " +
      FW_CLI_BIN + " --version";
  FILE *pipe = ::popen(cmd.c_str(), "r");
  EXPECT_NE(pipe, nullptr);
  std::string out;
  char buf[256];
  while (pipe && std::fgets(buf, sizeof buf, pipe)) out += buf;
  EXPECT_EQ(pipe ? ::pclose(pipe) : -1, 0) << cmd;
  return out;
}

TEST(CliWaitPolicy, PassiveUnlessTheUserSetOne) {
  const std::string own = version_output("");
  EXPECT_NE(own.find("OpenMP wait policy: PASSIVE (set by fwmerge)"), std::string::npos) << own;
  EXPECT_EQ(own.find(FW_VERSION_STRING "\n"), 0u) << own;  // the version stays the first line
  EXPECT_NE(own.find("\nLibTorch "), std::string::npos) << own;

  const std::string theirs = version_output("OMP_WAIT_POLICY=active");
  EXPECT_NE(theirs.find("OpenMP wait policy: active (OMP_WAIT_POLICY)"), std::string::npos)
      << theirs;
  const std::string spin = version_output("GOMP_SPINCOUNT=1000");
  EXPECT_NE(spin.find("OpenMP wait policy: libgomp's default (GOMP_SPINCOUNT set)"),
            std::string::npos)
      << spin;
}

}  // namespace
