// Step-size search for hard FW: gamma in [0,1] minimizing phi(gamma) = l(theta + gamma d).
#pragma once

#include <functional>

namespace fw {

struct LineSearchResult {
  double gamma;
  double loss;  // phi(gamma)
  int evaluations;
};

// Quadratic model from phi(0), phi'(0) = slope = <grad, d> and phi(1); its minimizer on [0,1] is
// tried next, then halved while it fails to improve, within max_evals loss-only evaluations. Exact
// in two evaluations when phi is quadratic. Returns the best point evaluated (gamma 0 if none
// improved).
LineSearchResult quadratic_line_search(double phi0, double slope, int max_evals,
                                       const std::function<double(double)> &phi);

}  // namespace fw
