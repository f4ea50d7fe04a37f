// The paper's central claim, measured: peak RSS of FW steps is flat in the pool size, and the LMO
// pass streams checkpoints nearly as fast as a plain sequential read of the same files.
//
//   fw_bench_memory [--dir DIR] [--mib 64] [--max-n 32] [--threads N (default: the cores)]
//
// Each figure comes from a fresh child process (re-exec of this binary), so one measurement's
// allocations cannot mask another's; all figures and ratios are printed by one run.
#include <ATen/Parallel.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "io/safetensors_writer.h"
#include "solver/evaluator.h"
#include "solver/solver.h"
#include "spawn_self.h"
#include "util/malloc_tuning.h"

namespace {

constexpr int kTensors = 8;  // per checkpoint; each mib/8 MiB

struct Options {
  std::string dir = "fw_bench_pool";
  int mib = 64;
  int max_n = 32;
  int threads = static_cast<int>(std::thread::hardware_concurrency());
};

std::string member_path(const Options &o, int i) {
  return o.dir + "/member" + std::to_string(i) + ".safetensors";
}
std::string base_path(const Options &o) { return o.dir + "/base.safetensors"; }

int64_t tensor_numel(const Options &o) {
  return static_cast<int64_t>(o.mib) * 1024 * 1024 / kTensors / 4;
}

uint64_t file_size(const std::string &path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

// Writes the base and max_n members (F32), reusing files of the right size from an earlier run.
void write_pool(const Options &o) {
  mkdir(o.dir.c_str(), 0755);
  const int64_t numel = tensor_numel(o);
  std::vector<float> values(numel);
  for (int i = -1; i < o.max_n; ++i) {
    const std::string path = i < 0 ? base_path(o) : member_path(o, i);
    if (file_size(path) > static_cast<uint64_t>(o.mib) * 1024 * 1024) continue;
    std::vector<fw::OutTensor> tensors;
    for (int64_t k = 0; k < numel; ++k) values[k] = 0.001f * static_cast<float>((k * 7 + i) % 97);
    for (int t = 0; t < kTensors; ++t)
      tensors.push_back({"layer" + std::to_string(t) + ".weight",
                         fw::DType::F32,
                         {numel},
                         values.data(),
                         static_cast<uint64_t>(numel) * 4});
    fw::write_safetensors(path, tensors, {{"format", "pt"}});
  }
}

// l = 1/2 ||theta - 0.05||^2: needs no memory of its own, so RSS is the solver's.
class ConstantTarget : public fw::Evaluator {
 public:
  double evaluate(const std::vector<at::Tensor> &point, std::vector<at::Tensor> *grad) override {
    double loss = 0;
    for (size_t t = 0; t < point.size(); ++t) {
      at::Tensor d = point[t] - 0.05f;
      loss += 0.5 * at::dot(d, d).item<double>();
      if (grad) (*grad)[t].copy_(d);
    }
    return loss;
  }
};

std::unique_ptr<fw::Solver> make_solver(const Options &o, int n, fw_lmo lmo) {
  fw_params p = fw::default_params();
  p.lmo = lmo;
  p.granularity = FW_GRANULARITY_LAYERWISE;
  p.soft_iters = 3;
  p.epsilon = 0;
  p.threads = o.threads;
  auto solver = std::make_unique<fw::Solver>(p);
  solver->set_base(base_path(o));
  for (int i = 0; i < n; ++i) solver->add_member(member_path(o, i));
  return solver;
}

// Child: two FW steps with a pool of n; the parent reads the peak RSS.
int child_steps(const Options &o, int n, fw_lmo lmo) {
  auto solver = make_solver(o, n, lmo);
  ConstantTarget objective;
  for (int t = 0; t < 2; ++t) solver->step(objective);
  return 0;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Plain sequential read() of the files into one buffer, summing a byte per page so the copy is
// not optimized away. Returns seconds.
double plain_read(const std::vector<std::string> &paths, uint64_t *bytes) {
  std::vector<char> buffer(16 << 20);
  volatile unsigned sink = 0;
  *bytes = 0;
  const auto start = std::chrono::steady_clock::now();
  for (const std::string &path : paths) {
    const int fd = open(path.c_str(), O_RDONLY);
    ssize_t got;
    while ((got = read(fd, buffer.data(), buffer.size())) > 0) {
      for (ssize_t k = 0; k < got; k += 4096) sink = sink + static_cast<unsigned char>(buffer[k]);
      *bytes += static_cast<uint64_t>(got);
    }
    close(fd);
  }
  return seconds_since(start);
}

// Child: read throughput of a plain read vs the LMO pass over the same n+1 files (best of 3).
int child_throughput(const Options &o, int n) {
  if (o.threads > 0) at::set_num_threads(o.threads);
  std::vector<std::string> paths{base_path(o)};
  for (int i = 0; i < n; ++i) paths.push_back(member_path(o, i));
  uint64_t bytes = 0;
  plain_read(paths, &bytes);  // warm the page cache
  auto solver = make_solver(o, n, FW_LMO_HARD);
  std::vector<at::Tensor> grad;
  for (const at::Tensor &t : solver->theta()) grad.push_back(at::full_like(t, 0.5f));
  const auto verts = solver->vertices();
  double best_read = 1e9, best_lmo = 1e9;
  for (int rep = 0; rep < 3; ++rep) {
    best_read = std::min(best_read, plain_read(paths, &bytes));
    const auto start = std::chrono::steady_clock::now();
    solver->lmo_pass(grad, verts);
    best_lmo = std::min(best_lmo, seconds_since(start));
  }
  const double gib = static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0);
  std::printf("| plain sequential read | %.2f GiB | %.3f s | %.2f GiB/s |\n", gib, best_read,
              gib / best_read);
  std::printf("| LMO pass (%d vertices) | %.2f GiB | %.3f s | %.2f GiB/s |\n", n + 1, gib, best_lmo,
              gib / best_lmo);
  std::printf("\nLMO / plain read throughput: %.1f %% (target >= 85 %%)\n",
              100.0 * best_read / best_lmo);
  return 0;
}

// Runs this binary with extra arguments; returns the child's peak RSS in MiB.
double run_child(const std::vector<std::string> &args) {
  const bench::ChildExit e = bench::spawn_self(args);
  if (!e.ok) {
    std::fprintf(stderr, "child failed\n");
    std::exit(1);
  }
  return e.peak_rss_kib / 1024.0;  // KiB -> MiB
}

}  // namespace

int main(int argc, char **argv) {
  // What a host merging at scale is told to do (fw_set_malloc_mmap_threshold): peak RSS then
  // depends on the buffers held, not on the heap's history.
  fw::set_malloc_mmap_threshold(1 << 20);
  Options o;
  std::string mode;
  int n = 0;
  fw_lmo lmo = FW_LMO_HARD;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto next = [&] { return std::string(i + 1 < argc ? argv[++i] : ""); };
    if (arg == "--dir")
      o.dir = next();
    else if (arg == "--mib")
      o.mib = std::stoi(next());
    else if (arg == "--max-n")
      o.max_n = std::stoi(next());
    else if (arg == "--threads")
      o.threads = std::stoi(next());
    else if (arg == "--child-steps")
      mode = "steps", n = std::stoi(next());
    else if (arg == "--child-throughput")
      mode = "throughput", n = std::stoi(next());
    else if (arg == "--soft")
      lmo = FW_LMO_SOFT;
    else {
      std::fprintf(stderr, "usage: %s [--dir DIR] [--mib 64] [--max-n 32] [--threads N]\n",
                   argv[0]);
      return 2;
    }
  }
  try {
    if (mode == "steps") return child_steps(o, n, lmo);
    if (mode == "throughput") return child_throughput(o, n);

    write_pool(o);
    const std::vector<std::string> common{argv[0],
                                          "--dir",
                                          o.dir,
                                          "--mib",
                                          std::to_string(o.mib),
                                          "--max-n",
                                          std::to_string(o.max_n),
                                          "--threads",
                                          std::to_string(o.threads)};
    std::printf("# fwmerge memory benchmark: %d MiB checkpoints (F32), layer-wise FW, 2 steps\n\n",
                o.mib);
    std::printf(
        "| pool size n | peak RSS hard FW (MiB) | peak RSS soft FW k=2 (MiB) |\n|---|---|---|\n");
    std::vector<double> hard, soft;
    for (int size = 4; size <= o.max_n; size *= 2) {
      std::vector<std::string> args = common;
      args.push_back("--child-steps");
      args.push_back(std::to_string(size));
      hard.push_back(run_child(args));
      args.push_back("--soft");
      soft.push_back(run_child(args));
      std::printf("| %d | %.1f | %.1f |\n", size, hard.back(), soft.back());
      std::fflush(stdout);
    }
    std::printf("\nRSS(n=%d) / RSS(n=4): hard %.3f, soft %.3f (target <= 1.05)\n\n", o.max_n,
                hard.back() / hard.front(), soft.back() / soft.front());
    std::printf("| pass | bytes | best of 3 | throughput |\n|---|---|---|---|\n");
    std::fflush(stdout);
    std::vector<std::string> args = common;
    args.push_back("--child-throughput");
    args.push_back(std::to_string(o.max_n));
    run_child(args);
  } catch (const std::exception &e) {
    std::fprintf(stderr, "fw_bench_memory: %s\n", e.what());
    return 1;
  }
  return 0;
}
