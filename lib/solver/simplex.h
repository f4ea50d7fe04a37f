// Euclidean projections used by the soft LMO's inner solver.
#pragma once

#include <vector>

namespace fw {

// argmin_x ||x - v|| s.t. x >= 0, sum x = 1 (sort-based, exact; Held et al. / Duchi et al. 2008).
std::vector<double> project_to_simplex(const std::vector<double> &v);
// argmin_x ||x - v|| s.t. x >= 0, sum x <= 1.
std::vector<double> project_to_capped_simplex(const std::vector<double> &v);

}  // namespace fw
