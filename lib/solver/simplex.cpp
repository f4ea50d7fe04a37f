#include "solver/simplex.h"

#include <algorithm>
#include <functional>
#include <numeric>

namespace fw {

std::vector<double> project_to_simplex(const std::vector<double> &v) {
  if (v.empty()) return {};
  std::vector<double> sorted(v);
  std::sort(sorted.begin(), sorted.end(), std::greater<double>());
  // tau is the threshold that makes the positive part sum to one.
  double prefix = 0, tau = 0;
  for (size_t j = 0; j < sorted.size(); ++j) {
    prefix += sorted[j];
    double candidate = (prefix - 1.0) / static_cast<double>(j + 1);
    if (sorted[j] - candidate > 0) tau = candidate;
  }
  std::vector<double> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = std::max(v[i] - tau, 0.0);
  return out;
}

std::vector<double> project_to_capped_simplex(const std::vector<double> &v) {
  std::vector<double> clipped(v.size());
  for (size_t i = 0; i < v.size(); ++i) clipped[i] = std::max(v[i], 0.0);
  if (std::accumulate(clipped.begin(), clipped.end(), 0.0) <= 1.0) return clipped;
  return project_to_simplex(v);  // the sum constraint is active
}

}  // namespace fw
