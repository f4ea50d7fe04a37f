// What merging costs at a real model size: a pool shaped like TinyLlama-1.1B (bf16, sharded
// Hugging Face folders, ~2.2 GB per model) merged in each work dtype of 0.3.0.
//
//   fw_bench_scale [--dir DIR] [--quick] [--threads N (default: the cores)] [--steps S (default 2)]
//
// Figures: resident bytes per parameter of hard FW (line search, schedule) and soft FW for work
// dtypes F32, BF16 and F16; peak RSS against the pool size; LMO throughput against a plain
// sequential read of the same files, page cache warm and cold; on a GPU, the LMO against the
// pinned host-to-device bandwidth. Each figure comes from a fresh child process (re-exec of this
// binary, as in memory_bench.cpp), so one measurement's allocations cannot mask another's; one run
// prints them all, then a summary with the goals met or missed. --quick halves the widths (about
// 4x fewer parameters) for a run of minutes.
#include <ATen/Parallel.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "io/safetensors_writer.h"
#include "solver/evaluator.h"
#include "solver/placement.h"
#include "solver/solver.h"
#include "spawn_self.h"
#include "util/malloc_tuning.h"

namespace {

// TinyLlama-1.1B: 32 heads and 4 key/value heads, so k_proj and v_proj are [kv_dim, hidden].
struct Shape {
  int64_t hidden, intermediate, kv_dim, layers, vocab;
};
constexpr Shape kFull{2048, 5632, 256, 22, 32000};
constexpr Shape kQuick{1024, 2816, 128, 22, 32000};
constexpr int kMembers = 4;
// Shards as Hugging Face writes them (at most ~1 GiB); the quick models (~0.6 GB) get smaller
// shards so that they are sharded too and the index path is what both sizes measure.
constexpr uint64_t kFullShardBytes = uint64_t{1} << 30;
constexpr uint64_t kQuickShardBytes = uint64_t{256} << 20;
constexpr float kTarget = 0.01f;  // c of the objective 1/2 ||theta - c||^2

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
constexpr double kGB = 1e9;

struct Options {
  std::string dir;
  bool quick = false;
  int threads = static_cast<int>(std::thread::hardware_concurrency());
  int steps = 2;
  // Set by the parent for a child only.
  std::string child, result, config = "sched", dtype = "bf16";
  int n = kMembers;
  bool cold = false;

  Shape shape() const { return quick ? kQuick : kFull; }
};

// Figures a child hands to the parent (key/value lines in a small file).
using Results = std::map<std::string, double>;

struct Spec {
  std::string name;
  std::vector<int64_t> shape;
  int64_t numel;
};

// The tensors of one model, in the order of the checkpoint files.
std::vector<Spec> model_specs(const Shape &s) {
  std::vector<Spec> specs;
  auto add = [&](std::string name, std::vector<int64_t> shape) {
    int64_t numel = 1;
    for (const int64_t d : shape) numel *= d;
    specs.push_back({std::move(name), std::move(shape), numel});
  };
  add("model.embed_tokens.weight", {s.vocab, s.hidden});
  for (int64_t i = 0; i < s.layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    add(p + "self_attn.q_proj.weight", {s.hidden, s.hidden});
    add(p + "self_attn.k_proj.weight", {s.kv_dim, s.hidden});
    add(p + "self_attn.v_proj.weight", {s.kv_dim, s.hidden});
    add(p + "self_attn.o_proj.weight", {s.hidden, s.hidden});
    add(p + "mlp.gate_proj.weight", {s.intermediate, s.hidden});
    add(p + "mlp.up_proj.weight", {s.intermediate, s.hidden});
    add(p + "mlp.down_proj.weight", {s.hidden, s.intermediate});
    add(p + "input_layernorm.weight", {s.hidden});
    add(p + "post_attention_layernorm.weight", {s.hidden});
  }
  add("model.norm.weight", {s.hidden});
  add("lm_head.weight", {s.vocab, s.hidden});
  return specs;
}

int64_t params_per_model(const Shape &s) {
  int64_t total = 0;
  for (const Spec &spec : model_specs(s)) total += spec.numel;
  return total;
}

// Greedy packing in file order, as Hugging Face's save_pretrained does: spec indices per shard.
std::vector<std::vector<size_t>> shard_plan(const Options &o) {
  const std::vector<Spec> specs = model_specs(o.shape());
  const uint64_t max_bytes = o.quick ? kQuickShardBytes : kFullShardBytes;
  std::vector<std::vector<size_t>> shards(1);
  uint64_t bytes = 0;
  for (size_t i = 0; i < specs.size(); ++i) {
    const uint64_t nbytes = static_cast<uint64_t>(specs[i].numel) * 2;
    if (!shards.back().empty() && bytes + nbytes > max_bytes) {
      shards.emplace_back();
      bytes = 0;
    }
    shards.back().push_back(i);
    bytes += nbytes;
  }
  return shards;
}

std::string shard_name(size_t i, size_t count) {
  char name[64];
  std::snprintf(name, sizeof name, "model-%05zu-of-%05zu.safetensors", i + 1, count);
  return name;
}

// Model -1 is the base, 0..kMembers-1 the pool members.
std::string model_dir(const Options &o, int model) {
  return o.dir + (model < 0 ? "/base" : "/member" + std::to_string(model));
}

std::vector<std::string> model_files(const Options &o, int model) {
  const size_t count = shard_plan(o).size();
  std::vector<std::string> files;
  for (size_t i = 0; i < count; ++i)
    files.push_back(model_dir(o, model) + "/" + shard_name(i, count));
  return files;
}

// The base and the first n members: the files of the LMO's vertices.
std::vector<std::string> pool_files(const Options &o, int n) {
  std::vector<std::string> files = model_files(o, -1);
  for (int m = 0; m < n; ++m) {
    const std::vector<std::string> more = model_files(o, m);
    files.insert(files.end(), more.begin(), more.end());
  }
  return files;
}

std::string marker_path(const Options &o) { return o.dir + "/pool-shape.txt"; }

std::string marker_text(const Options &o) {
  const Shape s = o.shape();
  return "fw_bench_scale pool v1: hidden " + std::to_string(s.hidden) + ", intermediate " +
         std::to_string(s.intermediate) + ", kv_dim " + std::to_string(s.kv_dim) + ", layers " +
         std::to_string(s.layers) + ", vocab " + std::to_string(s.vocab) + ", members " +
         std::to_string(kMembers) + ", bf16, shards " + std::to_string(shard_plan(o).size()) + "\n";
}

std::string read_text(const std::string &path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

uint64_t file_size(const std::string &path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

// The marker is written last, so a run killed while writing leaves no marker and is redone.
bool pool_complete(const Options &o) {
  if (read_text(marker_path(o)) != marker_text(o)) return false;
  for (const std::string &file : pool_files(o, kMembers))
    if (file_size(file) == 0) return false;
  return true;
}

uint64_t splitmix64(uint64_t z) {
  z += 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// Raw bf16 bits, one hash per element: random sign, exponent 2^-10..2^-7 and mantissa, so values
// are small, finite and differ per model and tensor; no float arithmetic, so writing ~5.5 G
// elements takes seconds.
void fill_bf16(uint16_t *out, int64_t numel, uint64_t seed) {
  at::parallel_for(0, numel, int64_t{1} << 16, [&](int64_t begin, int64_t end) {
    for (int64_t k = begin; k < end; ++k) {
      const uint64_t h = splitmix64(seed + static_cast<uint64_t>(k));
      out[k] =
          static_cast<uint16_t>(((h >> 9) & 1) << 15 | (117 + ((h >> 7) & 3)) << 7 | (h & 0x7F));
    }
  });
}

// Child: writes the base and the members one shard at a time (memory: one shard), then the index
// of each model and the marker. Runs in a child because ru_maxrss of a child started with
// posix_spawn (vfork-style) starts from its parent's high-water mark: the parent must stay small.
Results child_write(const Options &o) {
  const std::vector<Spec> specs = model_specs(o.shape());
  const std::vector<std::vector<size_t>> plan = shard_plan(o);
  std::remove(marker_path(o).c_str());
  mkdir(o.dir.c_str(), 0755);
  for (int model = -1; model < kMembers; ++model) {
    mkdir(model_dir(o, model).c_str(), 0755);
    nlohmann::json weight_map = nlohmann::json::object();
    uint64_t total = 0;
    for (size_t s = 0; s < plan.size(); ++s) {
      int64_t numel = 0;
      for (const size_t i : plan[s]) numel += specs[i].numel;
      std::vector<uint16_t> values(static_cast<size_t>(numel));
      std::vector<fw::OutTensor> tensors;
      int64_t at = 0;
      for (const size_t i : plan[s]) {
        const uint64_t seed = splitmix64(static_cast<uint64_t>(model + 2) << 32 | i) << 20;
        fill_bf16(values.data() + at, specs[i].numel, seed);
        const uint64_t nbytes = static_cast<uint64_t>(specs[i].numel) * 2;
        tensors.push_back(
            {specs[i].name, fw::DType::BF16, specs[i].shape, values.data() + at, nbytes});
        weight_map[specs[i].name] = shard_name(s, plan.size());
        total += nbytes;
        at += specs[i].numel;
      }
      fw::write_safetensors(model_dir(o, model) + "/" + shard_name(s, plan.size()), tensors,
                            {{"format", "pt"}});
    }
    const nlohmann::json index = {{"metadata", {{"total_size", total}}},
                                  {"weight_map", weight_map}};
    const std::string index_path = model_dir(o, model) + "/model.safetensors.index.json";
    std::ofstream(index_path + ".tmp") << index.dump(2) << "\n";
    std::rename((index_path + ".tmp").c_str(), index_path.c_str());
  }
  std::ofstream(marker_path(o)) << marker_text(o);
  return {};
}

// l(theta) = 1/2 ||theta - c||^2 over 1M-element fp32 slices: the objective holds no model-sized
// memory of its own, so RSS above the baseline is the solver's.
class ConstantTarget : public fw::Evaluator {
 public:
  double evaluate(const std::vector<at::Tensor> &point, std::vector<at::Tensor> *grad) override {
    constexpr int64_t kSlice = int64_t{1} << 17;  // 512 KiB temporaries: below the mmap threshold
    double loss = 0;
    for (size_t t = 0; t < point.size(); ++t) {
      const at::Tensor p = point[t].reshape(-1);
      // view, not reshape: a copy would take the gradient away from the solver's tensor
      const at::Tensor g = grad ? (*grad)[t].view(-1) : at::Tensor();
      for (int64_t begin = 0; begin < p.numel(); begin += kSlice) {
        const int64_t end = std::min(p.numel(), begin + kSlice);
        const at::Tensor d = p.slice(0, begin, end).to(at::kFloat) - kTarget;
        loss += 0.5 * at::dot(d, d).item<double>();
        if (grad) g.slice(0, begin, end).copy_(d);  // converts to the work dtype
      }
    }
    return loss;
  }
};

fw_dtype dtype_of(const std::string &name) {
  if (name == "f32") return FW_DTYPE_F32;
  if (name == "f16") return FW_DTYPE_F16;
  return FW_DTYPE_BF16;
}

int itemsize_of(const std::string &name) { return name == "f32" ? 4 : 2; }

std::unique_ptr<fw::Solver> make_solver(const Options &o, fw_device_type device) {
  fw_params p = fw::default_params();
  p.granularity = FW_GRANULARITY_LAYERWISE;
  p.epsilon = 0;  // never stop early: a converged step builds no next iterate
  p.threads = o.threads;
  p.device = device;
  p.work_dtype = dtype_of(o.dtype);
  if (o.config == "ls") {
    p.step_rule = FW_STEP_RULE_LINE_SEARCH;
    p.line_search_evals = 3;
  } else if (o.config == "sched") {
    p.step_rule = FW_STEP_RULE_SCHEDULE;
  } else {
    p.lmo = FW_LMO_SOFT;
    p.top_k = 2;
    p.soft_solver = FW_SOFT_SOLVER_CAPPED;
    p.soft_iters = 3;
  }
  auto solver = std::make_unique<fw::Solver>(p);
  solver->set_base(model_dir(o, -1));
  for (int i = 0; i < o.n; ++i) solver->add_member(model_dir(o, i));
  return solver;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void write_results(const Options &o, const Results &results) {
  std::ofstream out(o.result);
  out.precision(17);
  for (const auto &kv : results) out << kv.first << " " << kv.second << "\n";
}

Results read_results(const std::string &path) {
  Results results;
  std::ifstream in(path);
  std::string key;
  double value;
  while (in >> key >> value) results[key] = value;
  return results;
}

// Byte offset of a safetensors file's data section: 8 + the header length stored in front.
uint64_t data_offset(int fd) {
  unsigned char len[8] = {};
  if (pread(fd, len, 8, 0) != 8) return 0;
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = n << 8 | len[i];
  return 8 + n;
}

// Plain sequential pread of the files' data sections through one 1 MiB buffer, one thread, file by
// file: what the disk and page cache deliver without the LMO's work. Returns seconds.
double plain_read(const std::vector<std::string> &paths, uint64_t *bytes) {
  std::vector<char> buffer(1 << 20);
  *bytes = 0;
  const auto start = std::chrono::steady_clock::now();
  for (const std::string &path : paths) {
    const int fd = open(path.c_str(), O_RDONLY);
    if (fd < 0) throw std::runtime_error("cannot open " + path);
    uint64_t offset = data_offset(fd);
    ssize_t got;
    while ((got = pread(fd, buffer.data(), buffer.size(), static_cast<off_t>(offset))) > 0) {
      offset += static_cast<uint64_t>(got);
      *bytes += static_cast<uint64_t>(got);
    }
    close(fd);
  }
  return seconds_since(start);
}

// Evicts the files from the page cache. They are clean (written with fsync), so DONTNEED drops
// them without writeback.
void drop_from_cache(const std::vector<std::string> &paths) {
  for (const std::string &path : paths) {
    const int fd = open(path.c_str(), O_RDONLY);
    if (fd < 0) continue;
    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    close(fd);
  }
}

// Fraction of the files' pages in the page cache (mincore over a mapping that is never touched):
// checks that a "cold" figure was measured cold.
double cached_fraction(const std::vector<std::string> &paths) {
  const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  uint64_t cached = 0, total = 0;
  for (const std::string &path : paths) {
    const int fd = open(path.c_str(), O_RDONLY);
    if (fd < 0) continue;
    const uint64_t size = file_size(path);
    void *map = size > 0 ? mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0) : MAP_FAILED;
    if (map != MAP_FAILED) {
      std::vector<unsigned char> resident((size + page - 1) / page);
      if (mincore(map, size, resident.data()) == 0)
        for (const unsigned char r : resident) cached += r & 1;
      total += resident.size();
      munmap(map, size);
    }
    close(fd);
  }
  return total > 0 ? static_cast<double>(cached) / static_cast<double>(total) : 0.0;
}

// Child: the set-up only (solver, base, pool; theta resident), the baseline of its dtype.
Results child_setup(const Options &o) {
  at::set_num_threads(o.threads);
  auto solver = make_solver(o, FW_DEVICE_TYPE_CPU);
  return {};
}

// Child: LibTorch loaded and its thread pool started, nothing else: what a process costs before
// the solver holds anything (the reference for bytes per parameter including theta).
Results child_empty(const Options &o) {
  at::set_num_threads(o.threads);
  at::parallel_for(0, 1 << 20, 1 << 10, [](int64_t, int64_t) {});
  return {};
}

// Child: S FW steps of one configuration; also the loss before and after them (one loss-only
// evaluation, no model-sized memory) to show the steps did descend.
Results child_steps(const Options &o) {
  at::set_num_threads(o.threads);
  auto solver = make_solver(o, FW_DEVICE_TYPE_CPU);
  ConstantTarget objective;
  Results r;
  double seconds = 0;
  int converged = 0;
  for (int t = 0; t < o.steps; ++t) {
    const auto start = std::chrono::steady_clock::now();
    converged += solver->step(objective).converged ? 1 : 0;
    seconds += seconds_since(start);
  }
  r["seconds_per_step"] = seconds / o.steps;
  r["converged"] = converged;
  r["loss_first"] = solver->history().front().loss;
  r["loss_end"] = objective.evaluate(solver->theta(), nullptr);
  return r;
}

// A gradient of the right shapes in the work dtype on the solver's device: the LMO reads only it.
std::vector<at::Tensor> constant_gradient(const fw::Solver &solver) {
  std::vector<at::Tensor> grad;
  for (const at::Tensor &t : solver.theta()) grad.push_back(at::full_like(t, 0.5));
  return grad;
}

// Warm: best of 3 after one read of every file. Cold: best of 2, each after evicting the files.
// "cached" is the page-cache share of the files at the start of a pass, the one least warm (warm)
// or least cold (cold): it shows each figure was measured in the state its label says.
template <typename Pass>
double timed_passes(const Options &o, const std::vector<std::string> &files, Results *r,
                    Pass pass) {
  uint64_t ignored = 0;
  if (!o.cold) plain_read(files, &ignored);
  double best = 1e30, cached = o.cold ? 0.0 : 1.0;
  for (int rep = 0; rep < (o.cold ? 2 : 3); ++rep) {
    if (o.cold) drop_from_cache(files);
    const double now = cached_fraction(files);
    cached = o.cold ? std::max(cached, now) : std::min(cached, now);
    const auto start = std::chrono::steady_clock::now();
    pass();
    best = std::min(best, seconds_since(start));
  }
  (*r)["cached"] = cached;
  return best;
}

// Child A: one LMO pass over solver.vertices() (the pool and the base), BF16 gradient.
Results child_lmo(const Options &o) {
  at::set_num_threads(o.threads);
  auto solver = make_solver(o, FW_DEVICE_TYPE_CPU);
  const std::vector<at::Tensor> grad = constant_gradient(*solver);
  const auto verts = solver->vertices();
  const std::vector<std::string> files = pool_files(o, o.n);
  Results r;
  uint64_t bytes = 0;
  plain_read(files, &bytes);  // counts the data bytes (and warms; the cold passes evict again)
  r["bytes"] = static_cast<double>(bytes);
  r["vertices"] = static_cast<double>(verts.size());
  r["seconds"] = timed_passes(o, files, &r, [&] { solver->lmo_pass(grad, verts); });
  return r;
}

// Child B: the plain sequential read of the same files.
Results child_read(const Options &o) {
  const std::vector<std::string> files = pool_files(o, o.n);
  Results r;
  uint64_t bytes = 0;
  r["seconds"] = timed_passes(o, files, &r, [&] { plain_read(files, &bytes); });
  r["bytes"] = static_cast<double>(bytes);
  return r;
}

// Child: on a GPU, the LMO pass with the solver on CUDA (page cache warm) and the pinned
// host-to-device bandwidth, the bound the GPU path should approach. LibTorch's generic API only:
// this compiles against a CPU-only LibTorch, where it reports no device.
Results child_cuda(const Options &o) {
  Results r;
  r["devices"] = fw::cuda_device_count();
  if (fw::cuda_device_count() == 0) return r;
  at::set_num_threads(o.threads);
  auto solver = make_solver(o, FW_DEVICE_TYPE_CUDA);
  const std::vector<at::Tensor> grad = constant_gradient(*solver);
  const auto verts = solver->vertices();
  const std::vector<std::string> files = pool_files(o, o.n);
  uint64_t bytes = 0;
  plain_read(files, &bytes);
  r["bytes"] = static_cast<double>(bytes);
  r["seconds"] = timed_passes(o, files, &r, [&] { solver->lmo_pass(grad, verts); });

  constexpr int64_t kBytes = int64_t{256} << 20;
  constexpr int kCopies = 8;
  const at::Tensor host =
      at::empty({kBytes}, at::TensorOptions().dtype(at::kByte).pinned_memory(true)).fill_(1);
  at::Tensor device =
      at::empty({kBytes}, at::TensorOptions().dtype(at::kByte).device(solver->placement().device));
  device.copy_(host, /*non_blocking=*/true);
  device[0].item<uint8_t>();  // a copy back on the same stream waits for the ones before it
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kCopies; ++i) device.copy_(host, /*non_blocking=*/true);
  device[0].item<uint8_t>();
  r["h2d_bytes_per_s"] = static_cast<double>(kBytes) * kCopies / seconds_since(start);
  return r;
}

// VmHWM of this process, in bytes: cross-checks ru_maxrss, which a spawned child inherits from its
// parent's high-water mark (see child_write).
double own_peak_rss() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) * 1024.0;
  return 0;
}

struct ChildRun {
  double peak_rss = 0;  // bytes
  double wall_s = 0;
  Results results;
};

// Runs this binary with extra arguments; returns the child's peak RSS, wall time and figures.
ChildRun run_child(const Options &o, const std::vector<std::string> &extra) {
  const std::string result = o.dir + "/.result";
  std::remove(result.c_str());
  std::vector<std::string> args{
      "fw_bench_scale",        "--dir",    o.dir, "--threads", std::to_string(o.threads), "--steps",
      std::to_string(o.steps), "--result", result};
  if (o.quick) args.push_back("--quick");
  args.insert(args.end(), extra.begin(), extra.end());
  const auto start = std::chrono::steady_clock::now();
  const bench::ChildExit e = bench::spawn_self(args);
  ChildRun run;
  run.wall_s = seconds_since(start);
  if (!e.ok) {
    std::string what;
    for (const std::string &e : extra) what += " " + e;
    std::fprintf(stderr, "fw_bench_scale: child failed:%s\n", what.c_str());
    std::exit(1);
  }
  run.peak_rss = e.peak_rss_kib * 1024.0;  // KiB
  run.results = read_results(result);
  std::remove(result.c_str());
  const auto own = run.results.find("own_peak_rss");
  if (own != run.results.end() && run.peak_rss > own->second * 1.02 + (16 << 20))
    std::fprintf(stderr, "note: ru_maxrss %.2f GiB > the child's own VmHWM %.2f GiB\n",
                 run.peak_rss / kGiB, own->second / kGiB);
  return run;
}

std::string machine() {
  std::string cpu = "unknown CPU";
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line))
    if (line.rfind("model name", 0) == 0) {
      cpu = line.substr(line.find(':') + 2);
      break;
    }
  double ram_kib = 0;
  std::ifstream meminfo("/proc/meminfo");
  while (std::getline(meminfo, line))
    if (line.rfind("MemTotal:", 0) == 0) ram_kib = std::stod(line.substr(9));
  char text[256];
  std::snprintf(text, sizeof text, "%u cores (%s), %.1f GiB RAM",
                std::thread::hardware_concurrency(), cpu.c_str(), ram_kib / 1024.0 / 1024.0);
  return text;
}

const char *verdict(bool met) { return met ? "met" : "MISSED"; }

struct StepFigure {
  std::string config, dtype;
  ChildRun run;
  double above = 0;  // bytes above the dtype's set-up baseline
};

int parent(const Options &o) {
  const auto run_start = std::chrono::steady_clock::now();
  const Shape s = o.shape();
  const double params = static_cast<double>(params_per_model(s));
  std::printf(
      "# fwmerge scale benchmark%s: TinyLlama-1.1B shapes%s, %.3f G parameters per model\n\n",
      o.quick ? " (--quick)" : "", o.quick ? " at half width" : "", params / 1e9);
  std::printf("pool: %s (base + %d members, bf16, %zu shards each, %.2f GB per model)\n",
              o.dir.c_str(), kMembers, shard_plan(o).size(), params * 2 / kGB);
  std::printf("threads %d, %d FW steps per figure, layer-wise blocks\n", o.threads, o.steps);
  std::fflush(stdout);
  if (pool_complete(o)) {
    std::printf("reusing the pool written by an earlier run\n\n");
  } else {
    const ChildRun w = run_child(o, {"--child", "write"});
    std::printf("wrote the pool in %.1f s\n\n", w.wall_s);
  }
  std::fflush(stdout);

  const ChildRun empty = run_child(o, {"--child", "empty"});
  const std::vector<std::string> dtypes{"f32", "bf16", "f16"};
  const std::vector<std::pair<std::string, std::string>> configs{
      {"ls", "hard FW, line search (3 evals)"},
      {"sched", "hard FW, schedule"},
      {"soft", "soft FW, top-2, capped (3 iters)"}};
  std::map<std::string, ChildRun> baselines;
  std::vector<StepFigure> figures;
  std::printf("Baselines (peak RSS): empty process %.2f GiB", empty.peak_rss / kGiB);
  for (const std::string &dtype : dtypes) {
    baselines[dtype] = run_child(o, {"--child", "setup", "--dtype", dtype});
    std::printf("; set-up %s %.2f GiB", dtype.c_str(), baselines[dtype].peak_rss / kGiB);
  }
  std::printf("\n\n");
  std::printf(
      "| config | work dtype | peak RSS above set-up (GiB) | bytes/param | model copies | "
      "bytes/param incl. theta | s/step | loss start -> end |\n"
      "|---|---|---|---|---|---|---|---|\n");
  std::fflush(stdout);
  for (const auto &config : configs)
    for (const std::string &dtype : dtypes) {
      StepFigure f{config.first, dtype,
                   run_child(o, {"--child", "steps", "--config", config.first, "--dtype", dtype}),
                   0};
      f.above = f.run.peak_rss - baselines[dtype].peak_rss;
      const double per_param = f.above / params;
      std::printf("| %s | %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.4g -> %.4g%s |\n",
                  config.second.c_str(), dtype.c_str(), f.above / kGiB, per_param,
                  per_param / itemsize_of(dtype), (f.run.peak_rss - empty.peak_rss) / params,
                  f.run.results["seconds_per_step"], f.run.results["loss_first"],
                  f.run.results["loss_end"], f.run.results["converged"] > 0 ? " (converged)" : "");
      std::fflush(stdout);
      figures.push_back(f);
    }
  std::printf(
      "\nbytes/param: (peak RSS - the set-up child's peak RSS, same dtype) / parameters per model; "
      "model copies: that over the work dtype's size; incl. theta: over an empty process "
      "instead\n");

  // Pool-size independence: the same step with one member instead of four.
  const ChildRun one =
      run_child(o, {"--child", "steps", "--config", "sched", "--dtype", "bf16", "--n", "1"});
  double rss4 = 0;
  for (const StepFigure &f : figures)
    if (f.config == "sched" && f.dtype == "bf16") rss4 = f.run.peak_rss;
  const double pool_ratio = rss4 / one.peak_rss;
  std::printf(
      "\nPool size (hard FW, schedule, bf16): peak RSS n=1 %.3f GiB, n=4 %.3f GiB, "
      "RSS(4)/RSS(1) = %.3f (goal <= 1.05)\n\n",
      one.peak_rss / kGiB, rss4 / kGiB, pool_ratio);
  std::fflush(stdout);

  // Throughput: LMO pass vs plain read of the same bytes.
  std::printf(
      "| page cache | pass | GB | seconds (best) | GB/s | in page cache at start "
      "|\n|---|---|---|---|---|---|\n");
  double ratio[2] = {0, 0};
  double lmo_gbps[2] = {0, 0}, read_gbps[2] = {0, 0};
  for (int cold = 0; cold < 2; ++cold) {
    std::vector<std::string> flag;
    if (cold) flag.push_back("--cold");
    std::vector<std::string> args{"--child", "lmo", "--dtype", "bf16"};
    args.insert(args.end(), flag.begin(), flag.end());
    ChildRun lmo = run_child(o, args);
    args[1] = "read";
    ChildRun read = run_child(o, args);
    lmo_gbps[cold] = lmo.results["bytes"] / lmo.results["seconds"] / kGB;
    read_gbps[cold] = read.results["bytes"] / read.results["seconds"] / kGB;
    ratio[cold] = lmo_gbps[cold] / read_gbps[cold];
    const char *cache = cold ? "cold" : "warm";
    std::printf("| %s | LMO pass (%.0f vertices, bf16) | %.2f | %.3f | %.2f | %.0f %% |\n", cache,
                lmo.results["vertices"], lmo.results["bytes"] / kGB, lmo.results["seconds"],
                lmo_gbps[cold], 100 * lmo.results["cached"]);
    std::printf("| %s | plain sequential pread | %.2f | %.3f | %.2f | %.0f %% |\n", cache,
                read.results["bytes"] / kGB, read.results["seconds"], read_gbps[cold],
                100 * read.results["cached"]);
    std::fflush(stdout);
  }
  std::printf("\nLMO / plain read: warm %.2f, cold %.2f (goal >= 0.85)\n\n", ratio[0], ratio[1]);

  // GPU: the LMO against the pinned host-to-device bandwidth.
  ChildRun cuda = run_child(o, {"--child", "cuda", "--dtype", "bf16"});
  double cuda_ratio = 0, cuda_gbps = 0, h2d_gbps = 0;
  const bool has_cuda = cuda.results["devices"] > 0;
  if (has_cuda) {
    cuda_gbps = cuda.results["bytes"] / cuda.results["seconds"] / kGB;
    h2d_gbps = cuda.results["h2d_bytes_per_s"] / kGB;
    cuda_ratio = cuda_gbps / h2d_gbps;
    std::printf(
        "CUDA: LMO pass %.2f GB/s (page cache warm), pinned host-to-device %.2f GB/s, "
        "ratio %.2f (goal >= 0.80)\n\n",
        cuda_gbps, h2d_gbps, cuda_ratio);
  } else {
    std::printf("CUDA: not available, skipped\n\n");
  }

  std::printf("## Summary\n\n");
  std::printf("machine: %s; threads %d\n", machine().c_str(), o.threads);
  std::printf("model: %.3f G parameters (%s), pool of %d + base, %d steps per figure\n",
              params / 1e9, o.quick ? "--quick" : "full size", kMembers, o.steps);
  for (const StepFigure &f : figures)
    std::printf("  %-5s %-4s: %.2f bytes/param above set-up (%.2f incl. theta), %.2f s/step\n",
                f.config.c_str(), f.dtype.c_str(), f.above / params,
                (f.run.peak_rss - empty.peak_rss) / params, f.run.results.at("seconds_per_step"));
  std::printf("  RSS(4)/RSS(1) %.3f: goal <= 1.05 %s\n", pool_ratio, verdict(pool_ratio <= 1.05));
  std::printf("  LMO/plain warm %.2f (%.2f vs %.2f GB/s): goal >= 0.85 %s\n", ratio[0], lmo_gbps[0],
              read_gbps[0], verdict(ratio[0] >= 0.85));
  std::printf("  LMO/plain cold %.2f (%.2f vs %.2f GB/s): goal >= 0.85 %s\n", ratio[1], lmo_gbps[1],
              read_gbps[1], verdict(ratio[1] >= 0.85));
  if (has_cuda)
    std::printf("  CUDA LMO/H2D %.2f (%.2f vs %.2f GB/s): goal >= 0.80 %s\n", cuda_ratio, cuda_gbps,
                h2d_gbps, verdict(cuda_ratio >= 0.80));
  else
    std::printf("  CUDA: not available, skipped\n");
  std::printf("  total time %.1f s\n", seconds_since(run_start));
  return 0;
}

}  // namespace

int main(int argc, char **argv) {
  // What a host merging at scale is told to do (fw_set_malloc_mmap_threshold): peak RSS then
  // depends on the buffers held, not on the heap's history. Every child runs this too.
  fw::set_malloc_mmap_threshold(1 << 20);
  Options o;
  std::string dir;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto next = [&] { return std::string(i + 1 < argc ? argv[++i] : ""); };
    if (arg == "--dir")
      dir = next();
    else if (arg == "--quick")
      o.quick = true;
    else if (arg == "--threads")
      o.threads = std::stoi(next());
    else if (arg == "--steps")
      o.steps = std::stoi(next());
    else if (arg == "--child")
      o.child = next();
    else if (arg == "--result")
      o.result = next();
    else if (arg == "--config")
      o.config = next();
    else if (arg == "--dtype")
      o.dtype = next();
    else if (arg == "--n")
      o.n = std::stoi(next());
    else if (arg == "--cold")
      o.cold = true;
    else {
      std::fprintf(stderr, "usage: %s [--dir DIR] [--quick] [--threads N] [--steps S]\n", argv[0]);
      return 2;
    }
  }
  if (o.threads < 1 || o.steps < 1) {
    std::fprintf(stderr, "fw_bench_scale: --threads and --steps must be >= 1\n");
    return 2;
  }
  o.dir = !dir.empty() ? dir : o.quick ? "fw_bench_scale_pool_quick" : "fw_bench_scale_pool";
  try {
    if (o.child.empty()) return parent(o);
    Results r;
    if (o.child == "write")
      r = child_write(o);
    else if (o.child == "empty")
      r = child_empty(o);
    else if (o.child == "setup")
      r = child_setup(o);
    else if (o.child == "steps")
      r = child_steps(o);
    else if (o.child == "lmo")
      r = child_lmo(o);
    else if (o.child == "read")
      r = child_read(o);
    else if (o.child == "cuda")
      r = child_cuda(o);
    else
      throw std::runtime_error("unknown child mode");
    r["own_peak_rss"] = own_peak_rss();
    write_results(o, r);
    return 0;
  } catch (const std::exception &e) {
    std::fprintf(stderr, "fw_bench_scale%s%s: %s\n", o.child.empty() ? "" : " child ",
                 o.child.c_str(), e.what());
    return 1;
  }
}
