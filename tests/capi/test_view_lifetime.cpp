// Lifetimes the header promises for arrays of views:
//  - fw_solver_current: "valid until the next step, reset or free", so a second fw_solver_current
//  call must not
//    invalidate the array the first one returned;
//  - fw_solver_step_ask: "views in req are valid until fw_solver_step_tell or
//  fw_solver_step_cancel", so asking again
//    must not invalidate the first request's arrays.
// Both are observable without reading freed memory: the arrays handed out must stay the same.
#include <gtest/gtest.h>

#include "capi_fixture.h"

namespace {

TEST(CApiViewLifetime, SecondCurrentKeepsTheFirstArray) {
  const capi::PoolFiles pool = capi::write_unit_pool("lifetime_current");
  capi::SolverPtr solver = capi::new_solver();
  capi::load_pool(solver.get(), pool);
  const fw_tensor *first = nullptr, *second = nullptr;
  size_t n1 = 0, n2 = 0;
  ASSERT_EQ(fw_solver_current(solver.get(), &first, &n1), FW_OK) << fw_last_error();
  ASSERT_EQ(fw_solver_current(solver.get(), &second, &n2), FW_OK) << fw_last_error();
  EXPECT_EQ(first, second) << "the first fw_solver_current array was replaced (and freed)";
  EXPECT_EQ(n1, n2);
}

TEST(CApiViewLifetime, RepeatedAskKeepsTheFirstRequestsArrays) {
  const capi::PoolFiles pool = capi::write_unit_pool("lifetime_ask");
  capi::SolverPtr solver = capi::new_solver();
  capi::load_pool(solver.get(), pool);
  ASSERT_EQ(fw_solver_step_begin(solver.get()), FW_OK) << fw_last_error();
  fw_request first = {}, second = {};
  first.struct_size = second.struct_size = sizeof(fw_request);
  ASSERT_EQ(fw_solver_step_ask(solver.get(), &first), FW_OK) << fw_last_error();
  ASSERT_EQ(fw_solver_step_ask(solver.get(), &second), FW_OK) << fw_last_error();
  EXPECT_EQ(first.params, second.params) << "the first request's params array was freed";
  EXPECT_EQ(first.grads, second.grads) << "the first request's grads array was freed";
  ASSERT_EQ(fw_solver_step_cancel(solver.get()), FW_OK);
}

}  // namespace
