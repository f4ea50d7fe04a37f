// The OpenMP wait policy of the fwmerge process (see wait_policy.cpp): what `fwmerge --version`
// reports, e.g. "PASSIVE (set by fwmerge)" or "active (OMP_WAIT_POLICY)".
#pragma once

#include <string>

namespace fwcli {

std::string omp_wait_policy_description();

}  // namespace fwcli
