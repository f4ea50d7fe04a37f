#include "solver/step_record.h"

#include <cmath>

namespace fw {

nlohmann::json step_json(const StepRecord &r) {
  // JSON has no NaN: a value not evaluated (loss_after) is null. Finite doubles round-trip exactly
  // (nlohmann writes the shortest text that parses back to the same double): resume relies on it.
  auto number = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); };
  nlohmann::json lambdas = nlohmann::json::array();
  for (const double l : r.lambdas) lambdas.push_back(number(l));
  return {{"t", r.iteration},
          {"loss", number(r.loss)},
          {"loss_after", number(r.loss_after)},
          {"gap", number(r.gap)},
          {"gamma", number(r.gamma)},
          {"converged", r.converged},
          {"evaluations", r.evaluations},
          {"k", r.k},
          {"chosen", r.chosen},
          {"lambdas", lambdas}};
}

}  // namespace fw
