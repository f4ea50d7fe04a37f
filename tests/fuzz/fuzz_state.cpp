// libFuzzer harness: the "fwmerge.state" JSON of a saved solver state through parse_state_json.
// fw::Error is an expected rejection; an accepted state is consistent with itself (what
// fw_solver_state_load relies on before it compares the state with a solver).
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "solver/state_json.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fw::SavedState state;
  try {
    state = fw::parse_state_json(std::string(reinterpret_cast<const char *>(data), size),
                                 "fuzz/run.state");
  } catch (const fw::Error &) {
    return 0;
  }
  FW_FUZZ_CHECK(state.version == fw::kStateVersion);
  FW_FUZZ_CHECK(!state.blocks.empty());
  const int64_t n_pool = static_cast<int64_t>(state.pool.size());
  FW_FUZZ_CHECK((state.start_kind == fw::StartKind::Member) == (state.start_member >= 0));
  FW_FUZZ_CHECK(state.start_member < n_pool);
  for (size_t t = 0; t < state.history.size(); ++t) {
    const fw::StepRecord &r = state.history[t];
    FW_FUZZ_CHECK(r.iteration == static_cast<int>(t));
    FW_FUZZ_CHECK(r.k >= 1 && r.k <= n_pool + 1);
    FW_FUZZ_CHECK(r.chosen.size() == state.blocks.size() * static_cast<size_t>(r.k));
    FW_FUZZ_CHECK(r.lambdas.size() == r.chosen.size());
    for (const int32_t c : r.chosen) FW_FUZZ_CHECK(c >= -1 && c < n_pool);
    FW_FUZZ_CHECK(t + 1 == state.history.size() || !r.converged);
  }
  return 0;
}
