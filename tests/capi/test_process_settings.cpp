// Process-wide state changes only when the host asks (include/fwmerge.h, "Process-wide
// settings"): creating and stepping a solver leaves LibTorch's thread count and malloc's mmap
// threshold alone; fw_params.threads > 0 holds only during a step; the explicit calls work.
#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <cstdlib>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "capi_fixture.h"

namespace {

#if defined(__SANITIZE_ADDRESS__)
TEST(ProcessSettings, MallocThresholdIsUnsupportedUnderAnotherAllocator) {
  EXPECT_EQ(fw_set_malloc_mmap_threshold(1 << 20), FW_ERR_UNSUPPORTED) << fw_last_error();
}
#endif

// glibc's malloc only: under ASan malloc is ASan's (the setting is then FW_ERR_UNSUPPORTED).
#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__)
// mallinfo2().hblks counts the blocks glibc serves with their own mmap: how a test sees which
// threshold malloc applies, without changing it.
bool served_by_mmap(size_t bytes) {
  const size_t before = mallinfo2().hblks;
  void *volatile p = std::malloc(bytes);
  const bool mmapped = mallinfo2().hblks == before + 1;
  std::free(p);
  return mmapped;
}

TEST(ProcessSettings, MallocThresholdChangesOnlyWhenTheHostAsks) {
  // 32 MiB: a 2 MiB block comes from the heap.
  ASSERT_EQ(fw_set_malloc_mmap_threshold(uint64_t{32} << 20), FW_OK) << fw_last_error();
  EXPECT_FALSE(served_by_mmap(2 << 20));
  {
    // A solver, a pool and steps: 0.2.0 pinned 1 MiB here, behind the host's back.
    capi::SolverPtr solver = capi::new_solver();
    capi::load_pool(solver.get(), capi::write_unit_pool("process_malloc"));
    capi::Quadratic q;
    ASSERT_EQ(fw_solver_set_objective_callback(solver.get(), capi::quadratic_callback, &q), FW_OK);
    ASSERT_EQ(fw_solver_step(solver.get(), nullptr), FW_OK) << fw_last_error();
  }
  EXPECT_FALSE(served_by_mmap(2 << 20));
  ASSERT_EQ(fw_set_malloc_mmap_threshold(1 << 20), FW_OK) << fw_last_error();
  EXPECT_TRUE(served_by_mmap(2 << 20));
  EXPECT_FALSE(served_by_mmap(512 << 10));
  EXPECT_EQ(fw_set_malloc_mmap_threshold((uint64_t{32} << 20) + 1), FW_ERR_INVALID_ARGUMENT);
  EXPECT_TRUE(served_by_mmap(2 << 20)) << "a refused value changed the setting";
}
#endif

// Reads LibTorch's thread count from inside the objective, i.e. during the step.
fw_status record_threads(const fw_tensor *params, size_t n, fw_tensor *grads, double *loss,
                         void *user_data) {
  static_cast<std::vector<int> *>(user_data)->push_back(at::get_num_threads());
  for (size_t t = 0; t < n; ++t)
    for (int64_t i = 0; i < params[t].numel; ++i)
      if (grads)
        static_cast<float *>(grads[t].data)[i] =
            static_cast<const float *>(params[t].data)[i] - 0.5f;
  *loss = 1.0;
  return FW_OK;
}

TEST(ProcessSettings, ThreadsArePerStepAndRestored) {
  ASSERT_EQ(fw_set_torch_threads(3), FW_OK) << fw_last_error();
  ASSERT_EQ(at::get_num_threads(), 3);
  std::vector<int> seen;
  capi::SolverPtr solver = capi::new_solver();  // threads 0: LibTorch's setting is used
  capi::load_pool(solver.get(), capi::write_unit_pool("process_threads"));
  ASSERT_EQ(fw_solver_set_objective_callback(solver.get(), record_threads, &seen), FW_OK);
  ASSERT_EQ(fw_solver_step(solver.get(), nullptr), FW_OK) << fw_last_error();
  ASSERT_FALSE(seen.empty());
  for (int n : seen) EXPECT_EQ(n, 3);
  EXPECT_EQ(at::get_num_threads(), 3);

  fw_params p = fw_default_params();
  p.threads = 2;
  ASSERT_EQ(fw_solver_set_params(solver.get(), &p), FW_OK);
  seen.clear();
  ASSERT_EQ(fw_solver_step(solver.get(), nullptr), FW_OK) << fw_last_error();
  for (int n : seen) EXPECT_EQ(n, 2);
  EXPECT_EQ(at::get_num_threads(), 3) << "the step did not restore the host's setting";

  EXPECT_EQ(fw_set_torch_threads(0), FW_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(at::get_num_threads(), 3);
  ASSERT_EQ(fw_set_torch_threads(1), FW_OK);
}

}  // namespace
