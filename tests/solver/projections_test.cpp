// Euclidean projections and the line search on hand-computed cases.
#include <gtest/gtest.h>

#include <cmath>

#include "solver/line_search.h"
#include "solver/simplex.h"

namespace {

void expect_near(const std::vector<double> &got, const std::vector<double> &want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-12) << "index " << i;
}

TEST(Simplex, ProjectsOntoProbabilitySimplex) {
  expect_near(fw::project_to_simplex({0.5, 0.5, 0.5}), {1.0 / 3, 1.0 / 3, 1.0 / 3});
  expect_near(fw::project_to_simplex({1, 0, -1}), {1, 0, 0});
  expect_near(fw::project_to_simplex({0.8, 0.6}), {0.6, 0.4});            // tau = 0.2
  expect_near(fw::project_to_simplex({0.2, 0.3, 0.5}), {0.2, 0.3, 0.5});  // already inside
  expect_near(fw::project_to_simplex({-5, -7}), {1, 0});                  // tau = -6
}

TEST(Simplex, ProjectsOntoCappedSimplex) {
  expect_near(fw::project_to_capped_simplex({0.2, 0.3}), {0.2, 0.3});   // inside
  expect_near(fw::project_to_capped_simplex({-0.2, 0.3}), {0.0, 0.3});  // clip only
  expect_near(fw::project_to_capped_simplex({0.9, 0.9}), {0.5, 0.5});   // sum constraint
  expect_near(fw::project_to_capped_simplex({2.0, -1.0}), {1.0, 0.0});
}

TEST(LineSearch, ExactForAQuadraticInTwoEvaluations) {
  // phi(g) = (g - 0.3)^2 + 1: phi(0) = 1.09, phi'(0) = -0.6, minimum at 0.3.
  int calls = 0;
  auto phi = [&](double g) {
    ++calls;
    return (g - 0.3) * (g - 0.3) + 1.0;
  };
  const fw::LineSearchResult r = fw::quadratic_line_search(1.09, -0.6, 3, phi);
  EXPECT_NEAR(r.gamma, 0.3, 1e-12);
  EXPECT_NEAR(r.loss, 1.0, 1e-12);
  EXPECT_EQ(r.evaluations, 2);
  EXPECT_EQ(calls, 2);
}

TEST(LineSearch, FullStepWhenTheMinimumIsBeyondOne) {
  // phi(g) = (g - 2)^2: the constrained minimum is gamma = 1, found with one evaluation.
  auto phi = [](double g) { return (g - 2) * (g - 2); };
  const fw::LineSearchResult r = fw::quadratic_line_search(4.0, -4.0, 3, phi);
  EXPECT_EQ(r.gamma, 1.0);
  EXPECT_EQ(r.loss, 1.0);
  EXPECT_EQ(r.evaluations, 1);
}

TEST(LineSearch, BacktracksWithinTheBudgetOnANonQuadratic) {
  // A steep wall after 0.1: the quadratic model overshoots; halving must stay within 4 calls.
  int calls = 0;
  auto phi = [&](double g) {
    ++calls;
    return g <= 0.1 ? 1.0 - g : 100.0 * g;
  };
  const fw::LineSearchResult r = fw::quadratic_line_search(1.0, -1.0, 4, phi);
  EXPECT_LE(calls, 4);
  EXPECT_LT(r.loss, 1.0);   // some improving gamma was found...
  EXPECT_LE(r.gamma, 0.1);  // ...on the left of the wall
}

TEST(LineSearch, KeepsGammaZeroWhenNothingImproves) {
  auto phi = [](double g) { return 1.0 + g; };  // (claimed slope is wrong: no descent)
  const fw::LineSearchResult r = fw::quadratic_line_search(1.0, -1.0, 3, phi);
  EXPECT_EQ(r.gamma, 0.0);
  EXPECT_EQ(r.loss, 1.0);
  EXPECT_EQ(r.evaluations, 3);
}

}  // namespace
