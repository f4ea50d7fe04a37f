// Sharded solving (include/fwmerge.h, fw_dist_params): peak RSS per rank and LMO throughput for 1,
// 2 and 4 ranks (processes on this machine, loopback TCP rendezvous) on the same pool: base + 4
// members, bf16, 64 tensors. One hard FW step with the schedule (one objective evaluation, the LMO
// over 5 vertices, the update) per run; every rank holds theta and the gradient in fp32 for its
// shard only, so the per-rank RSS above an idle LibTorch process should fall about as 1 / ranks.
//
//   fw_bench_dist [--quick] [--dir DIR] [--threads N]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "fwmerge.h"

extern char **environ;

namespace {

constexpr int kTensors = 64, kMembers = 4, kCols = 1024;

struct Options {
  bool quick = false;
  std::string dir = "fw-bench-dist-pool";
  int threads = 1;
};

int64_t rows_per_tensor(bool quick) { return quick ? 512 : 2048; }  // 32 M or 128 M params

uint16_t to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return static_cast<uint16_t>((u + 0x7FFF + ((u >> 16) & 1)) >> 16);
}

void write_pool(const Options &o) {
  ::mkdir(o.dir.c_str(), 0755);
  const int64_t rows = rows_per_tensor(o.quick);
  std::vector<std::vector<uint16_t>> data(kTensors, std::vector<uint16_t>(rows * kCols));
  std::vector<std::string> names(kTensors);
  std::vector<int64_t> shape = {rows, kCols};
  uint64_t state = 1;
  for (int m = 0; m <= kMembers; ++m) {
    const std::string path =
        o.dir + "/" + (m == 0 ? std::string("base") : "m" + std::to_string(m)) + ".safetensors";
    struct stat st;
    if (::stat(path.c_str(), &st) == 0) continue;  // kept from an earlier run
    std::vector<fw_tensor> views(kTensors);
    for (int t = 0; t < kTensors; ++t) {
      for (uint16_t &x : data[t]) {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        x = to_bf16(static_cast<float>((state >> 40) * (1.0 / 16777216.0) - 0.5));
      }
      names[t] = "layers." + std::to_string(t) + ".weight";
      std::memset(&views[t], 0, sizeof(fw_tensor));
      views[t].name = names[t].c_str();
      views[t].dtype = FW_DTYPE_BF16;
      views[t].ndim = 2;
      views[t].shape = shape.data();
      views[t].numel = rows * kCols;
      views[t].data = data[t].data();
    }
    if (fw_save_tensors(path.c_str(), views.data(), views.size(), FW_DTYPE_DEFAULT, nullptr, 0) !=
        FW_OK) {
      std::fprintf(stderr, "writing %s: %s\n", path.c_str(), fw_last_error());
      std::exit(1);
    }
  }
}

// One rank: join, open the pool, one step; prints "seconds" to --report.
int child(int argc, char **argv) {
  int rank = 0, world = 1, threads = 1;
  std::string rendezvous, dir, report;
  bool baseline = false;
  for (int i = 2; i < argc; ++i) {
    const std::string k = argv[i];
    if (k == "--baseline") {
      baseline = true;
      continue;
    }
    if (i + 1 >= argc) return 2;
    const std::string v = argv[++i];
    if (k == "--rank")
      rank = std::atoi(v.c_str());
    else if (k == "--world")
      world = std::atoi(v.c_str());
    else if (k == "--threads")
      threads = std::atoi(v.c_str());
    else if (k == "--rendezvous")
      rendezvous = v;
    else if (k == "--dir")
      dir = v;
    else if (k == "--report")
      report = v;
  }
  fw_params p = fw_default_params();
  p.step_rule = FW_STEP_RULE_SCHEDULE;
  p.threads = threads;
  fw_solver *s = nullptr;
  if (fw_solver_new(&p, &s) != FW_OK) return 3;
  if (baseline) {  // an idle LibTorch process: what every rank pays before holding anything
    fw_solver_free(s);
    return 0;
  }
  if (world > 1) {
    fw_dist_params d = fw_default_dist_params();
    d.rank = rank;
    d.world_size = world;
    d.rendezvous = rendezvous.c_str();
    d.loss = FW_DIST_LOSS_SUM;
    if (fw_solver_set_distributed(s, &d) != FW_OK) {
      std::fprintf(stderr, "rank %d: %s\n", rank, fw_last_error());
      return 4;
    }
  }
  if (fw_solver_set_base(s, (dir + "/base.safetensors").c_str()) != FW_OK) return 5;
  for (int m = 1; m <= kMembers; ++m)
    if (fw_solver_pool_add(s, (dir + "/m" + std::to_string(m) + ".safetensors").c_str(), nullptr) !=
        FW_OK)
      return 6;
  // l = 1/2 |theta|^2 over this rank's tensors: gradient theta.
  fw_solver_set_objective_callback(
      s,
      [](const fw_tensor *x, size_t n, fw_tensor *g, double *loss, void *) {
        double total = 0;
        for (size_t t = 0; t < n; ++t) {
          const float *xs = static_cast<const float *>(x[t].data);
          float *gs = g ? static_cast<float *>(g[t].data) : nullptr;
          for (int64_t i = 0; i < x[t].numel; ++i) {
            total += 0.5 * static_cast<double>(xs[i]) * xs[i];
            if (gs) gs[i] = xs[i];
          }
        }
        *loss = total;
        return FW_OK;
      },
      nullptr);
  fw_step_info info;
  std::memset(&info, 0, sizeof info);
  info.struct_size = sizeof info;
  const auto start = std::chrono::steady_clock::now();
  if (fw_solver_step(s, &info) != FW_OK) {
    std::fprintf(stderr, "rank %d step: %s\n", rank, fw_last_error());
    return 7;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const fw_tensor *views = nullptr;
  size_t n = 0;
  fw_solver_current(s, &views, &n);
  int64_t params = 0;
  for (size_t t = 0; t < n; ++t) params += views[t].numel;
  std::ofstream(report) << seconds << " " << params << "\n";
  fw_solver_free(s);
  return 0;
}

int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &len);
  const int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

struct RankResult {
  double peak_rss_gib = 0, seconds = 0;
  int64_t params = 0;
  bool ok = false;
};

// Starts `world` ranks at once and waits for all of them.
std::vector<RankResult> run(const Options &o, int world, bool baseline) {
  const std::string rendezvous = "tcp://127.0.0.1:" + std::to_string(free_port());
  std::vector<pid_t> pids;
  std::vector<std::string> reports;
  for (int r = 0; r < world; ++r) {
    reports.push_back(o.dir + "/report." + std::to_string(r));
    std::vector<std::string> args = {"fw_bench_dist", "--child",
                                     "--rank",        std::to_string(r),
                                     "--world",       std::to_string(world),
                                     "--threads",     std::to_string(o.threads),
                                     "--rendezvous",  rendezvous,
                                     "--dir",         o.dir,
                                     "--report",      reports.back()};
    if (baseline) args.push_back("--baseline");
    std::vector<char *> argv;
    for (std::string &a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid;
    if (posix_spawn(&pid, "/proc/self/exe", nullptr, nullptr, argv.data(), environ) != 0) {
      std::perror("posix_spawn");
      std::exit(1);
    }
    pids.push_back(pid);
  }
  std::vector<RankResult> out(static_cast<size_t>(world));
  for (int r = 0; r < world; ++r) {
    int status = 0;
    struct rusage usage;
    wait4(pids[static_cast<size_t>(r)], &status, 0, &usage);
    RankResult &res = out[static_cast<size_t>(r)];
    res.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    res.peak_rss_gib = static_cast<double>(usage.ru_maxrss) / (1024.0 * 1024.0);
    std::ifstream in(reports[static_cast<size_t>(r)]);
    in >> res.seconds >> res.params;
  }
  return out;
}

}  // namespace

int main(int argc, char **argv) {
  if (argc > 1 && std::string(argv[1]) == "--child") return child(argc, argv);
  if (argc > 3 && std::string(argv[1]) == "--write-pool") {
    Options o;
    o.dir = argv[2];
    o.quick = std::string(argv[3]) == "quick";
    write_pool(o);
    return 0;
  }
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (k == "--quick")
      o.quick = true;
    else if (k == "--dir" && i + 1 < argc)
      o.dir = argv[++i];
    else if (k == "--threads" && i + 1 < argc)
      o.threads = std::atoi(argv[++i]);
    else
      return std::fprintf(stderr, "usage: fw_bench_dist [--quick] [--dir DIR] [--threads N]\n"), 2;
  }
  const int64_t params = int64_t{kTensors} * rows_per_tensor(o.quick) * kCols;
  const double pool_gb = static_cast<double>(params) * 2 * (kMembers + 1) / 1e9;
  std::printf(
      "# fwmerge sharded-solving benchmark%s: %d tensors, %.3f G parameters per model, "
      "bf16, base + %d members (%.2f GB); %u hardware threads, %d intra-op thread(s) per "
      "rank\n\n",
      o.quick ? " (--quick)" : "", kTensors, static_cast<double>(params) / 1e9, kMembers, pool_gb,
      std::thread::hardware_concurrency(), o.threads);
  // In a child: a posix_spawn child's peak RSS starts from the parent's, so the parent stays small.
  {
    std::vector<std::string> args = {"fw_bench_dist", "--write-pool", o.dir,
                                     o.quick ? "quick" : "full"};
    std::vector<char *> argv_w;
    for (std::string &a : args) argv_w.push_back(a.data());
    argv_w.push_back(nullptr);
    pid_t pid;
    int status = 0;
    if (posix_spawn(&pid, "/proc/self/exe", nullptr, nullptr, argv_w.data(), environ) != 0 ||
        waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      std::fprintf(stderr, "writing the pool failed\n");
      return 1;
    }
  }
  const double idle = run(o, 1, true)[0].peak_rss_gib;
  run(o, 1, false);  // warms the page cache: every figure below reads the pool from memory
  std::printf(
      "| ranks | parameters per rank (M) | peak RSS per rank, max (GiB) | above an idle "
      "LibTorch process (GiB) | vs 1 rank | step s (slowest rank) | pool read GB/s |\n");
  std::printf("|---|---|---|---|---|---|---|\n");
  double above_one = 0;
  for (const int world : {1, 2, 4}) {
    const std::vector<RankResult> ranks = run(o, world, false);
    double rss = 0, seconds = 0;
    int64_t most = 0;
    for (const RankResult &r : ranks) {
      if (!r.ok) {
        std::fprintf(stderr, "a rank of the %d-rank run failed\n", world);
        return 1;
      }
      rss = std::max(rss, r.peak_rss_gib);
      seconds = std::max(seconds, r.seconds);
      most = std::max(most, r.params);
    }
    const double above = rss - idle;
    if (world == 1) above_one = above;
    // The LMO reads every vertex's bytes once (the update one more vertex): 6 passes of bf16.
    const double gbps = static_cast<double>(params) * 2 * (kMembers + 2) / 1e9 / seconds;
    std::printf("| %d | %.1f | %.3f | %.3f | %.2f (1/ranks %.2f) | %.2f | %.2f |\n", world,
                static_cast<double>(most) / 1e6, rss, above, above / above_one, 1.0 / world,
                seconds, gbps);
  }
  std::printf("\nidle LibTorch process (fw_solver_new only): %.3f GiB peak RSS\n", idle);
  return 0;
}
