#include "solver/line_search.h"

#include <algorithm>

namespace fw {

LineSearchResult quadratic_line_search(double phi0, double slope, int max_evals,
                                       const std::function<double(double)> &phi) {
  LineSearchResult best{0.0, phi0, 0};
  const double phi1 = phi(1.0);
  best.evaluations = 1;
  if (phi1 < best.loss) best = {1.0, phi1, 1};

  // phi(g) ~ phi0 + slope g + a g^2 through phi(1).
  const double curvature = phi1 - phi0 - slope;
  double gamma = 1.0;
  if (curvature > 0) gamma = std::clamp(-slope / (2.0 * curvature), 0.0, 1.0);
  if (gamma >= 1.0) {
    if (best.gamma == 1.0) return best;
    gamma = 0.5;  // the model says "go all the way" but phi(1) did not improve: backtrack
  }
  int evaluations = 1;
  while (evaluations < max_evals && gamma > 0.0) {
    const double value = phi(gamma);
    ++evaluations;
    if (value < best.loss) {
      best.gamma = gamma;
      best.loss = value;
      break;
    }
    gamma *= 0.5;
  }
  best.evaluations = evaluations;
  return best;
}

}  // namespace fw
