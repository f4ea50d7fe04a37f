// One rank of a sharded merge, run by tests/dist (several at once, one process each), or the
// single-process reference of the same merge (--world 1). Objective: a separable quadratic per
// term j, l_j = sum over tensors t of 1/2 ||theta_t - (base_t + (j + 1) / 4 * (m_{j+1,t} -
// base_t))||^2 computed from the pool files themselves; each rank returns its own tensors' part
// (FW_DIST_LOSS_SUM), the reference adds the same parts in rank order (--owners), so both see the
// same losses bit for bit. Writes to --out: the tensors it holds (name, then the fp32 bytes, in
// base order) and the history (every number as a hex float).
//
//   fw_dist_rank --case hard_task|hard_layer|soft_task|soft_layer --pool DIR --out FILE
//                [--rank R --world W --rendezvous URL] [--owners FILE] [--timeout-ms N]
//                [--die-at-eval N] [--fail-at-eval N] [--steps N] [--loss sum|shared]
//                [--export DIR] [--rank-shards W] [--export-abort-at N] [--secret S]
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "fwmerge.h"

namespace {

struct Args {
  std::string kase, pool, out, rendezvous, owners, export_dir;
  bool has_secret = false;  // --secret given: fw_dist_params.secret (else NULL: the environment)
  std::string secret;
  int rank = 0, world = 1, steps = 3, die_at = -1, fail_at = -1, rank_shards = 0,
      export_abort_at = -1;
  long timeout_ms = 20000;
  bool shared = false;    // FW_DIST_LOSS_SHARED (see objective())
  bool start_ta = false;  // start from the task-arithmetic merge (fw_solver_set_start_merge)
  bool probe = false;     // report what a sharded solver refuses, then stop
};

struct Host {
  int n_terms = 2;
  int evals = 0;
  int die_at = -1, fail_at = -1;
  // target[j][name]
  std::vector<std::map<std::string, std::vector<float>>> target;
  std::map<std::string, int> owner;  // reference only: the rank holding each tensor
  int world = 1;
  bool shared = false;
  int rank = 0;
};

int die(const std::string &what) {
  std::fprintf(stderr, "fw_dist_rank: %s: %s\n", what.c_str(), fw_last_error());
  return 2;
}

// fp32 tensors of a safetensors file written by the tests (little-endian F32 only).
std::map<std::string, std::vector<float>> read_f32(const std::string &path) {
  fw_tensor_set *set = nullptr;
  std::map<std::string, std::vector<float>> out;
  if (fw_load_tensors(path.c_str(), 0, &set) != FW_OK) {
    std::fprintf(stderr, "load %s: %s\n", path.c_str(), fw_last_error());
    std::exit(2);
  }
  for (size_t i = 0; i < fw_tensor_set_count(set); ++i) {
    fw_tensor v;
    std::memset(&v, 0, sizeof v);
    fw_tensor_set_get(set, i, &v);
    const float *d = static_cast<const float *>(v.data);
    out[v.name] = std::vector<float>(d, d + v.numel);
  }
  fw_tensor_set_free(set);
  return out;
}

fw_status objective(int32_t term, const fw_tensor *params, size_t n, fw_tensor *grads, double *loss,
                    void *user_data) {
  Host &h = *static_cast<Host *>(user_data);
  ++h.evals;
  if (h.evals == h.die_at) _exit(3);  // a rank that dies in the middle of a step
  if (h.evals == h.fail_at) {
    fw_set_callback_error("planted failure");
    return FW_ERR_CALLBACK;
  }
  // part[r]: the loss over rank r's tensors, each tensor's part added in base order.
  std::vector<double> part(static_cast<size_t>(h.world), 0.0);
  for (size_t t = 0; t < n; ++t) {
    const float *x = static_cast<const float *>(params[t].data);
    float *g = grads ? static_cast<float *>(grads[t].data) : nullptr;
    const auto owner = h.owner.find(params[t].name);
    const size_t r = owner == h.owner.end() ? 0 : static_cast<size_t>(owner->second);
    double f = 0;
    for (int j = 0; j < h.n_terms; ++j) {
      if (term != FW_ALL_TERMS && term != j) continue;
      const std::vector<float> &c = h.target[static_cast<size_t>(j)].at(params[t].name);
      double fj = 0;
      for (int64_t i = 0; i < params[t].numel; ++i) {
        const double d = static_cast<double>(x[i]) - c[static_cast<size_t>(i)];
        fj += 0.5 * d * d;
        if (g) g[i] += static_cast<float>(d);
      }
      f += fj;
    }
    part[r] += f;
  }
  double total = 0;
  for (double p : part) total += p;  // rank order, as fwmerge adds FW_DIST_LOSS_SUM parts
  // FW_DIST_LOSS_SHARED: fwmerge uses rank 0's value on every rank. Rank 0 returns its part (the
  // reference: rank 0's part alone), the others a wrong value that must be ignored.
  if (h.shared) total = h.owner.empty() ? (h.rank == 0 ? part[0] : part[0] + 1e6) : part[0];
  *loss = total;
  return FW_OK;
}

}  // namespace

int main(int argc, char **argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--case")
      a.kase = v;
    else if (k == "--pool")
      a.pool = v;
    else if (k == "--out")
      a.out = v;
    else if (k == "--rendezvous")
      a.rendezvous = v;
    else if (k == "--owners")
      a.owners = v;
    else if (k == "--rank")
      a.rank = std::atoi(v.c_str());
    else if (k == "--world")
      a.world = std::atoi(v.c_str());
    else if (k == "--steps")
      a.steps = std::atoi(v.c_str());
    else if (k == "--die-at-eval")
      a.die_at = std::atoi(v.c_str());
    else if (k == "--fail-at-eval")
      a.fail_at = std::atoi(v.c_str());
    else if (k == "--timeout-ms")
      a.timeout_ms = std::atol(v.c_str());
    else if (k == "--export")
      a.export_dir = v;
    else if (k == "--loss")
      a.shared = v == "shared";
    else if (k == "--start")
      a.start_ta = v == "ta";
    else if (k == "--probe")
      a.probe = v == "unsupported";
    else if (k == "--secret")
      a.has_secret = true, a.secret = v;
    else if (k == "--rank-shards")
      a.rank_shards = std::atoi(v.c_str());
    else if (k == "--export-abort-at")
      a.export_abort_at = std::atoi(v.c_str());
    else
      return std::fprintf(stderr, "unknown argument %s\n", k.c_str()), 2;
  }
  fw_params p = fw_default_params();
  p.threads = 1;
  const bool soft = a.kase.rfind("soft", 0) == 0;
  p.lmo = soft ? FW_LMO_SOFT : FW_LMO_HARD;
  p.granularity = a.kase.find("layer") != std::string::npos ? FW_GRANULARITY_LAYERWISE
                                                            : FW_GRANULARITY_TASKWISE;
  p.block_depth =
      p.granularity == FW_GRANULARITY_LAYERWISE ? 2 : 0;  // "layers.N" blocks span the ranks
  p.soft_iters = 4;
  p.top_k = 2;
  fw_solver *raw = nullptr;
  if (fw_solver_new(&p, &raw) != FW_OK) return die("fw_solver_new");
  // Freed on every path: the sanitizer build's leak check runs at each exit.
  const std::unique_ptr<fw_solver, void (*)(fw_solver *)> solver(raw, fw_solver_free);
  fw_solver *s = solver.get();
  if (a.world > 1) {
    fw_dist_params d = fw_default_dist_params();
    d.rank = a.rank;
    d.world_size = a.world;
    d.rendezvous = a.rendezvous.c_str();
    d.timeout_ms = a.timeout_ms;
    d.loss = a.shared ? FW_DIST_LOSS_SHARED : FW_DIST_LOSS_SUM;
    d.secret = a.has_secret ? a.secret.c_str() : nullptr;
    const fw_status joined = fw_solver_set_distributed(s, &d);
    if (joined != FW_OK) {
      std::fprintf(stderr, "join: %s: %s\n", fw_status_name(joined), fw_last_error());
      std::ofstream(a.out) << "join_failed " << fw_status_name(joined) << " " << fw_last_error()
                           << "\n";
      return 4;
    }
  }
  const std::string base = a.pool + "/base.safetensors";
  if (fw_solver_set_base(s, base.c_str()) != FW_OK) return die("fw_solver_set_base");
  Host h;
  h.world = a.world;
  h.shared = a.shared;
  h.rank = a.rank;
  h.die_at = a.die_at;
  h.fail_at = a.fail_at;
  const auto b = read_f32(base);
  for (int m = 0; m < 4; ++m) {
    const std::string path = a.pool + "/m" + std::to_string(m) + ".safetensors";
    if (fw_solver_pool_add(s, path.c_str(), nullptr) != FW_OK) return die("fw_solver_pool_add");
  }
  if (a.probe) {
    std::ofstream probe(a.out);
    const fw_merge_params dare = fw_default_merge_params(FW_MERGE_METHOD_DARE_TIES);
    probe << "dare_start " << fw_status_name(fw_solver_set_start_merge(s, &dare)) << "\n";
    const fw_torchscript_objective ts = fw_default_torchscript_objective();
    probe << "torchscript " << fw_status_name(fw_solver_set_objective_torchscript(s, &ts)) << "\n";
    probe << "state_save " << fw_status_name(fw_solver_state_save(s, (a.out + ".state").c_str()))
          << "\n";
    fw_export_options o = fw_default_export_options();
    o.rank_shards = a.world + 1;
    probe << "export_other_count "
          << fw_status_name(fw_solver_export(s, (a.out + ".x").c_str(), &o)) << "\n";
    return 0;
  }
  if (a.start_ta) {
    const fw_merge_params ta = fw_default_merge_params(FW_MERGE_METHOD_TASK_ARITHMETIC);
    if (fw_solver_set_start_merge(s, &ta) != FW_OK) return die("fw_solver_set_start_merge");
  }
  for (int j = 0; j < h.n_terms; ++j) {
    const auto m = read_f32(a.pool + "/m" + std::to_string(j + 1) + ".safetensors");
    std::map<std::string, std::vector<float>> c;
    for (const auto &[name, v] : b) {
      std::vector<float> x(v.size());
      for (size_t i = 0; i < v.size(); ++i)
        x[i] = v[i] + static_cast<float>(j + 1) / 4.0f * (m.at(name)[i] - v[i]);
      c[name] = x;
    }
    h.target.push_back(c);
  }
  if (!a.owners.empty()) {
    std::ifstream in(a.owners);
    std::string name;
    int r;
    while (in >> name >> r) h.owner[name] = r;
    h.world = 0;
    for (const auto &o : h.owner) h.world = std::max(h.world, o.second + 1);
  } else {
    h.world = 1;  // a rank's own tensors are all its part
  }
  if (soft) {
    if (fw_solver_set_objective_terms_callback(s, objective, h.n_terms, &h) != FW_OK)
      return die("fw_solver_set_objective_terms_callback");
  } else if (fw_solver_set_objective_callback(
                 s,
                 [](const fw_tensor *x, size_t n, fw_tensor *g, double *l, void *u) {
                   return objective(FW_ALL_TERMS, x, n, g, l, u);
                 },
                 &h) != FW_OK) {
    return die("fw_solver_set_objective_callback");
  }
  std::ofstream out(a.out, std::ios::binary);
  for (int step = 0; step < a.steps; ++step) {
    fw_step_info info;
    std::memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    const fw_status st = fw_solver_step(s, &info);
    if (st != FW_OK) {
      out << "step_failed " << fw_status_name(st) << " " << fw_last_error() << "\n";
      std::fprintf(stderr, "rank %d step %d: %s %s\n", a.rank, step, fw_status_name(st),
                   fw_last_error());
      out << "history " << fw_solver_history_size(s) << "\n";  // the failed step left no record
      return 5;
    }
    char line[128];
    std::snprintf(line, sizeof line, "step %d loss %a gap %a gamma %a k %d\n", info.iteration,
                  info.loss, info.gap, info.gamma, info.k);
    out << line;
    for (int32_t i = 0; i < info.k * info.n_blocks; ++i) {
      std::snprintf(line, sizeof line, " %d:%a", info.chosen[i], info.lambdas[i]);
      out << line;
    }
    out << "\n";
  }
  if (!a.export_dir.empty()) {
    // The abort hook fires at its Nth poll (counted from here): a rank failing inside
    // fw_solver_export.
    static int polls = 0, abort_at = a.export_abort_at;
    fw_solver_set_abort_callback(
        s, [](void *) -> int { return ++polls == abort_at ? 1 : 0; }, nullptr);
    fw_export_options o = fw_default_export_options();
    o.rank_shards = a.rank_shards;
    const fw_status st = fw_solver_export(s, a.export_dir.c_str(), &o);
    if (st != FW_OK) {
      out << "export_failed " << fw_status_name(st) << " " << fw_last_error() << "\n";
      return 6;
    }
    out << "exported\n";
  }
  const fw_tensor *views = nullptr;
  size_t n = 0;
  if (fw_solver_current(s, &views, &n) != FW_OK) return die("fw_solver_current");
  for (size_t t = 0; t < n; ++t) {
    out << "tensor " << views[t].name << " " << views[t].numel << "\n";
    out.write(static_cast<const char *>(views[t].data),
              static_cast<std::streamsize>(views[t].numel * 4));
    out << "\n";
  }
  return 0;
}
