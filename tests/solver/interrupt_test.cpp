// fw_solver_interrupt's promise "within one chunk of the LMO", checked where the chunks are: a
// vertex that counts its range reads interrupts the solver on its first read of a tensor of 16
// chunks; the pass must stop before any vertex reads a second chunk.
#include <atomic>

#include "capi/status_map.h"
#include "solver_fixture.h"

namespace {

class CountingCheckpoint : public fw::Checkpoint {
 public:
  CountingCheckpoint(const fw::Checkpoint &inner, fw::Solver *interrupt_on_first_read)
      : inner_(inner), solver_(interrupt_on_first_read) {}
  const std::string &path() const override { return inner_.path(); }
  const std::vector<fw::TensorMeta> &tensors() const override { return inner_.tensors(); }
  const fw::TensorMeta *find(const std::string &name) const override { return inner_.find(name); }
  at::Tensor load_f32(const std::string &name) const override { return inner_.load_f32(name); }
  bool streams_ranges() const override { return true; }
  void read_f32_range(const std::string &name, int64_t begin, int64_t end,
                      at::Tensor &out) const override {
    if (reads.fetch_add(1) == 0 && solver_) solver_->interrupt();
    inner_.read_f32_range(name, begin, end, out);
  }
  // The LMO reads F32/BF16/F16 files in their own dtype (lib/solver/dot_kernels.h).
  void read_raw_range(const std::string &name, int64_t begin, int64_t end,
                      void *dst) const override {
    if (reads.fetch_add(1) == 0 && solver_) solver_->interrupt();
    inner_.read_raw_range(name, begin, end, dst);
  }
  mutable std::atomic<int> reads{0};

 private:
  const fw::Checkpoint &inner_;
  fw::Solver *solver_;
};

TEST(Interrupt, TheLmoStopsWithinOneChunk) {
  const std::string dir = fwtest::temp_dir("interrupt_lmo");
  const int64_t numel = int64_t{16} << 16;  // 16 chunks of the LMO's 65536 floats
  const std::string base =
      fwtest::write_model(dir, "base.safetensors", {{"w", std::vector<float>(numel, 0.0f)}});
  const std::string m0 =
      fwtest::write_model(dir, "m0.safetensors", {{"w", std::vector<float>(numel, 1.0f)}});
  const std::string m1 =
      fwtest::write_model(dir, "m1.safetensors", {{"w", std::vector<float>(numel, 2.0f)}});
  fw::Solver solver(fwtest::default_params());
  solver.set_base(base);
  solver.add_member(m0);
  solver.add_member(m1);

  const CountingCheckpoint first(*solver.pool()[0], &solver);
  const CountingCheckpoint second(*solver.pool()[1], nullptr);
  const std::vector<fw::Solver::Vertex> verts{{&first, 0}, {&second, 1}};
  const std::vector<at::Tensor> grad{at::ones({numel})};

  // Uninterrupted: every chunk of every vertex is read.
  fw::Solver::LmoScores scores;
  {
    const CountingCheckpoint plain0(*solver.pool()[0], nullptr);
    const CountingCheckpoint plain1(*solver.pool()[1], nullptr);
    scores = solver.lmo_pass(grad, {{&plain0, 0}, {&plain1, 1}});
    EXPECT_EQ(plain0.reads.load(), 16);
    EXPECT_EQ(plain1.reads.load(), 16);
    EXPECT_DOUBLE_EQ(scores.inner[1][0], 2.0 * static_cast<double>(numel));
  }
  try {
    solver.lmo_pass(grad, verts);
    FAIL() << "the interrupt was not honoured";
  } catch (const fw::Error &e) {
    EXPECT_EQ(fw::capi::to_public(e.code()), FW_ERR_ABORTED) << e.what();
  }
  EXPECT_EQ(first.reads.load(), 1);
  EXPECT_LE(second.reads.load(), 1);
  // Consumed: the next pass runs to the end.
  EXPECT_NO_THROW(solver.lmo_pass(grad, {{&second, 1}}));
}

}  // namespace
