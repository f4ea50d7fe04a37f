// A data-free merge at LLM scale, fwmerge against mergekit on the same files: a base and N
// LLaMA-shaped bf16 models (hidden 2048, 10 layers, vocab 32000: 0.57 G parameters, 1.14 GB each;
// --hidden scales the widths) as Hugging Face folders (model.safetensors + config.json), members =
// base + task vectors. --pool picks the task vectors: `spread` (default) adds small Gaussian
// updates in fp32 before rounding to bf16 (few equal magnitudes); `tie-heavy` moves each base
// value by 0 to 3 bf16 ulps, as an SFT run that changes weights by about 1 % does, so the task
// vectors hold many exact zeros and many exactly equal magnitudes (ties at every trim threshold).
//
//   fw_bench_merge [--dir DIR] [--members N (8)] [--method ties] [--density 0.5] [--threads T]
//                  [--mergekit PATH/mergekit-yaml] [--runs R (1)] [--pool spread | tie-heavy]
//                  [--hidden H (2048)]
//                  [--semantics mergekit (default) | mergekit-exact | fwmerge, or a comma list]
//                  [--reuse-mergekit]
//
// Builds the pool once (a marker file records its shape), then runs, each in a fresh process:
// fw_merge through the C API, and mergekit-yaml on the equivalent recipe when --mergekit is given
// or `mergekit-yaml` is on PATH. Prints wall time, CPU time (system time apart: page faults and
// reads), peak RSS and minor page faults of each, the ratios, and how far the two outputs agree
// (bit-identical elements, within one bf16 ulp), norm vectors apart. With --runs R > 1 the tools
// alternate, R runs each, and the medians are reported. Not a test: bench/results/merge.md.
#include <ATen/Parallel.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "fwmerge.h"
#include "io/checkpoint.h"
#include "io/safetensors_writer.h"
#include "spawn_self.h"

namespace {

struct Shape {
  int64_t hidden = 2048, intermediate = 5632, kv_dim = 256, layers = 10, vocab = 32000;
};

// The LLaMA shape at another width: intermediate 11/4 and key-value width 1/8 of hidden.
Shape shape_of(int64_t hidden) {
  Shape s;
  s.hidden = hidden;
  s.intermediate = hidden * 11 / 4;
  s.kv_dim = hidden / 8;
  return s;
}

struct Options {
  std::string dir = "fw_bench_merge_pool";
  int members = 8;
  std::string method = "ties";
  double density = 0.5;
  int threads = static_cast<int>(std::thread::hardware_concurrency());
  std::string mergekit;  // mergekit-yaml to run; "" = look in PATH
  int runs = 1;
  // fw_merge_params.mergekit_compat, one fwmerge run each (per --runs round, next to one mergekit
  // run): 1 as `fwmerge merge` uses it, 2 exact ties, 0 fwmerge's fp32.
  std::vector<int> compats = {1};
  bool reuse_mergekit = false;  // compare against the mergekit output of an earlier run
  std::string child;            // "write" or "fwmerge": what a child process does
  std::string pool = "spread";  // the task vectors: "spread" or "tie-heavy"
  int64_t hidden = 2048;        // the models' width (shape_of)
};

// --semantics: fwmerge (0), mergekit (1, `fwmerge merge`'s default), mergekit-exact (2: also
// mergekit's order among equal magnitudes, `fwmerge merge --exact-ties`).
int compat_of(const std::string &name) {
  return name == "fwmerge" ? 0 : name == "mergekit-exact" ? 2 : 1;
}
const char *semantics_name(int compat) {
  return compat == 0 ? "fwmerge" : compat == 2 ? "mergekit-exact" : "mergekit";
}

struct Spec {
  std::string name;
  std::vector<int64_t> shape;
  int64_t numel;
};

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

std::string config_json(const Shape &s) {
  const nlohmann::json config = {{"architectures", {"LlamaForCausalLM"}},
                                 {"model_type", "llama"},
                                 {"hidden_size", s.hidden},
                                 {"intermediate_size", s.intermediate},
                                 {"num_hidden_layers", s.layers},
                                 {"num_attention_heads", 32},
                                 {"num_key_value_heads", 4},
                                 {"vocab_size", s.vocab},
                                 {"max_position_embeddings", 2048},
                                 {"rms_norm_eps", 1e-5},
                                 {"hidden_act", "silu"},
                                 {"tie_word_embeddings", false},
                                 {"torch_dtype", "bfloat16"}};
  return config.dump(2) + "\n";
}

std::string model_dir(const Options &o, int model) {
  return o.dir + (model < 0 ? "/base" : "/member" + std::to_string(model));
}

std::string marker_path(const Options &o) { return o.dir + "/pool-shape.txt"; }
std::string marker_text(const Options &o) {
  // The spread pool at hidden 2048 keeps v1's text, so pools built before --pool stay valid.
  if (o.pool == "spread" && o.hidden == 2048)
    return "fw_bench_merge pool v1: hidden 2048, 10 layers, vocab 32000, bf16, members " +
           std::to_string(o.members) + "\n";
  return "fw_bench_merge pool v2: " + o.pool + ", hidden " + std::to_string(o.hidden) +
         ", 10 layers, vocab 32000, bf16, members " + std::to_string(o.members) + "\n";
}

std::string read_text(const std::string &path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

uint64_t splitmix64(uint64_t z) {
  z += 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// About N(0, 1): the sum of four 16-bit uniforms of one hash, centred and scaled (Irwin-Hall).
float gaussish(uint64_t h) {
  double sum = 0;
  for (int k = 0; k < 4; ++k) sum += static_cast<double>((h >> (16 * k)) & 0xFFFF) / 65536.0;
  return static_cast<float>((sum - 2.0) * std::sqrt(3.0));
}

uint16_t to_bf16(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  bits += 0x7FFF + ((bits >> 16) & 1);  // round to nearest even (values here are finite)
  return static_cast<uint16_t>(bits >> 16);
}

// Element e of tensor t of model m (-1: base): base ~ N(0, 0.02) (norm weights 1 + N(0, 0.02)),
// member = base + its task vector ~ N(0, s_m), s_m from 0.0005 to 0.002, sparse-ish: a quarter of
// the entries carry 4x larger updates.
float value(int model, size_t t, bool norm, int64_t e) {
  const uint64_t key = (static_cast<uint64_t>(t) << 40) ^ static_cast<uint64_t>(e);
  float x = (norm ? 1.0f : 0.0f) + 0.02f * gaussish(splitmix64(key));
  if (model >= 0) {
    const uint64_t h = splitmix64(key ^ (static_cast<uint64_t>(model + 1) << 56));
    const float scale = 0.0005f * static_cast<float>(1 + model % 4) * ((h & 3) == 0 ? 4.0f : 1.0f);
    x += scale * gaussish(h >> 2 | h << 62);
  }
  return x;
}

// The tie-heavy pool's member m: the base's bf16 value moved by d ulps of magnitude (its bits
// plus d; the sign bit is untouched), d in 0..3: 0 for 40 % of the entries, 1 for 30 %, 2 for 20 %,
// 3 for 10 %, the direction random. In bf16 the task vector member - base is then exactly
// +-d ulps of the base's exponent: a handful of magnitudes per exponent, all of them ties.
uint16_t tie_heavy_bits(uint16_t base, int model, size_t t, int64_t e) {
  const uint64_t key = (static_cast<uint64_t>(t) << 40) ^ static_cast<uint64_t>(e);
  const uint64_t h = splitmix64(key ^ (static_cast<uint64_t>(model + 1) << 56) ^ 0x5A5A);
  const int r = static_cast<int>(h % 10);
  const int d = r < 4 ? 0 : r < 7 ? 1 : r < 9 ? 2 : 3;
  const int magnitude = static_cast<int>(base & 0x7FFF);
  const int moved = (h >> 8) & 1 ? magnitude + d : std::max(0, magnitude - d);
  return static_cast<uint16_t>((base & 0x8000) | std::min(moved, 0x7F7F));  // stays finite
}

// Child: writes every model, one tensor chunk at a time (streamed writer).
int child_write(const Options &o, const Shape &s) {
  const std::vector<Spec> specs = model_specs(s);
  const bool tie_heavy = o.pool == "tie-heavy";
  std::remove(marker_path(o).c_str());
  mkdir(o.dir.c_str(), 0755);
  std::vector<fw::OutTensor> metas;
  for (const Spec &spec : specs)
    metas.push_back(
        {spec.name, fw::DType::BF16, spec.shape, nullptr, static_cast<uint64_t>(spec.numel) * 2});
  for (int model = -1; model < o.members; ++model) {
    mkdir(model_dir(o, model).c_str(), 0755);
    std::ofstream(model_dir(o, model) + "/config.json") << config_json(s);
    constexpr int64_t kChunk = int64_t{1} << 20;
    std::vector<uint16_t> buf(kChunk);
    fw::write_safetensors(model_dir(o, model) + "/model.safetensors", metas, {{"format", "pt"}},
                          [&](size_t t, const fw::ByteEmitter &emit) {
                            const bool norm = specs[t].shape.size() == 1;
                            for (int64_t begin = 0; begin < specs[t].numel; begin += kChunk) {
                              const int64_t len = std::min(kChunk, specs[t].numel - begin);
                              at::parallel_for(0, len, 1 << 14, [&](int64_t b, int64_t e) {
                                for (int64_t k = b; k < e; ++k)
                                  buf[static_cast<size_t>(k)] =
                                      tie_heavy && model >= 0
                                          ? tie_heavy_bits(to_bf16(value(-1, t, norm, begin + k)),
                                                           model, t, begin + k)
                                          : to_bf16(value(model, t, norm, begin + k));
                              });
                              emit(buf.data(), static_cast<size_t>(len) * 2);
                            }
                          });
    std::printf("  wrote %s\n", model_dir(o, model).c_str());
    std::fflush(stdout);
  }
  std::ofstream(marker_path(o)) << marker_text(o);
  return 0;
}

fw_merge_method method_of(const std::string &name) {
  static const std::map<std::string, fw_merge_method> methods = {
      {"linear", FW_MERGE_METHOD_LINEAR},
      {"task_arithmetic", FW_MERGE_METHOD_TASK_ARITHMETIC},
      {"ties", FW_MERGE_METHOD_TIES},
      {"dare_linear", FW_MERGE_METHOD_DARE_LINEAR},
      {"dare_ties", FW_MERGE_METHOD_DARE_TIES},
      {"breadcrumbs", FW_MERGE_METHOD_BREADCRUMBS},
      {"breadcrumbs_ties", FW_MERGE_METHOD_BREADCRUMBS_TIES},
      {"model_stock", FW_MERGE_METHOD_MODEL_STOCK}};
  const auto it = methods.find(name);
  if (it == methods.end()) {
    std::fprintf(stderr, "fw_bench_merge: unknown method %s\n", name.c_str());
    std::exit(2);
  }
  return it->second;
}

bool uses_density(fw_merge_method m) {
  return m == FW_MERGE_METHOD_TIES || m == FW_MERGE_METHOD_DARE_LINEAR ||
         m == FW_MERGE_METHOD_DARE_TIES || m == FW_MERGE_METHOD_BREADCRUMBS ||
         m == FW_MERGE_METHOD_BREADCRUMBS_TIES;
}

std::string fw_out(const Options &o, int compat) {
  return o.dir + (compat == 1
                      ? std::string("/out-fwmerge.safetensors")
                      : "/out-fwmerge-" + std::string(semantics_name(compat)) + ".safetensors");
}
std::string mk_out(const Options &o) { return o.dir + "/out-mergekit"; }

// Child: the merge through the public C API, as a host would call it. Weights 1, normalize, the
// method's density for every member; mergekit's defaults for the rest (scaling 1).
int child_fwmerge(const Options &o) {
  const fw_merge_method method = method_of(o.method);
  fw_merge_params p = fw_default_merge_params(method);
  p.scaling = 1.0;
  p.normalize = 1;
  p.threads = o.threads;
  const int compat = o.compats.front();
  if (compat) {
    p.mergekit_compat = compat;
    p.compute_dtype = FW_DTYPE_BF16;  // the recipe's dtype: bfloat16
  }
  if (uses_density(method)) {
    if (method == FW_MERGE_METHOD_DARE_LINEAR || method == FW_MERGE_METHOD_DARE_TIES)
      p.drop_rate = 1.0 - o.density;
    else
      p.density = o.density;
  }
  std::vector<std::string> paths;
  for (int m = 0; m < o.members; ++m) paths.push_back(model_dir(o, m));
  std::vector<const char *> c_paths;
  for (const std::string &path : paths) c_paths.push_back(path.c_str());
  const fw_status st = fw_merge(&p, model_dir(o, -1).c_str(), c_paths.data(), c_paths.size(),
                                fw_out(o, compat).c_str(), nullptr);
  if (st != FW_OK) {
    std::fprintf(stderr, "fw_merge: %s: %s\n", fw_status_name(st), fw_last_error());
    return 1;
  }
  return 0;
}

std::string mergekit_recipe(const Options &o) {
  const fw_merge_method method = method_of(o.method);
  std::string y = "merge_method: " + o.method + "\nbase_model: " + model_dir(o, -1) + "\nmodels:\n";
  for (int m = 0; m < o.members; ++m) {
    y += "  - model: " + model_dir(o, m) + "\n    parameters:\n      weight: 1.0\n";
    if (uses_density(method)) y += "      density: " + std::to_string(o.density) + "\n";
  }
  y += "parameters:\n  normalize: true\ndtype: bfloat16\nout_dtype: bfloat16\n";
  return y;
}

std::string find_mergekit(const Options &o) {
  if (!o.mergekit.empty()) return o.mergekit;
  const char *path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "");
  std::string d;
  while (std::getline(dirs, d, ':'))
    if (access((d + "/mergekit-yaml").c_str(), X_OK) == 0) return d + "/mergekit-yaml";
  return "";
}

struct Figures {
  double wall_s = 0, cpu_s = 0, system_s = 0, rss = 0, faults = 0;
};

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

Figures timed(const std::string &program, const std::vector<std::string> &args) {
  const auto start = std::chrono::steady_clock::now();
  const bench::ChildExit e = bench::spawn_program(program, args);
  Figures f;
  f.wall_s = seconds_since(start);
  if (!e.ok) {
    std::fprintf(stderr, "fw_bench_merge: %s failed\n", program.c_str());
    std::exit(1);
  }
  f.cpu_s = e.cpu_s;
  f.system_s = e.system_s;
  f.rss = e.peak_rss_kib * 1024.0;
  f.faults = e.minor_faults;
  return f;
}

Figures median(std::vector<Figures> runs) {
  auto med = [&](double Figures::*field) {
    std::vector<double> v;
    for (const Figures &f : runs) v.push_back(f.*field);
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  Figures m;
  m.wall_s = med(&Figures::wall_s);
  m.cpu_s = med(&Figures::cpu_s);
  m.system_s = med(&Figures::system_s);
  m.rss = med(&Figures::rss);
  m.faults = med(&Figures::faults);
  return m;
}

// bf16 bits as an integer whose order is the value's order (so ulps apart = difference).
int32_t ordered(uint16_t b) { return (b & 0x8000) ? -static_cast<int32_t>(b & 0x7FFF) : b; }

// Agreement of the two outputs, element by element, read in chunks.
void compare_outputs(const Options &o, int compat) {
  const auto a = fw::open_checkpoint(fw_out(o, compat), nullptr);
  const auto b = fw::open_checkpoint(mk_out(o), nullptr);
  double same[2] = {0, 0}, within1[2] = {0, 0}, total[2] = {0, 0}, max_ulps = 0;
  constexpr int64_t kChunk = int64_t{1} << 20;
  std::vector<uint16_t> x(kChunk), y(kChunk);
  for (const fw::TensorMeta &meta : a->tensors()) {
    const fw::TensorMeta *other = b->find(meta.name);
    if (other == nullptr || other->dtype != fw::DType::BF16 || meta.dtype != fw::DType::BF16) {
      std::printf("  %s: missing or not bf16 in mergekit's output\n", meta.name.c_str());
      continue;
    }
    const int kind = meta.shape.size() == 1 ? 1 : 0;
    for (int64_t begin = 0; begin < meta.numel; begin += kChunk) {
      const int64_t end = std::min(meta.numel, begin + kChunk);
      a->read_raw_range(meta.name, begin, end, x.data());
      b->read_raw_range(meta.name, begin, end, y.data());
      for (int64_t k = 0; k < end - begin; ++k) {
        const int32_t d = std::abs(ordered(x[k]) - ordered(y[k]));
        same[kind] += d == 0;
        within1[kind] += d <= 1;
        max_ulps = std::max(max_ulps, static_cast<double>(d));
      }
      total[kind] += static_cast<double>(end - begin);
    }
  }
  const char *names[2] = {"matrices", "norm vectors"};
  for (int kind = 0; kind < 2; ++kind)
    std::printf(
        "  agreement, %-12s: %.2f %% bit-identical, %.2f %% within 1 bf16 ulp (%.0f elements)\n",
        names[kind], 100.0 * same[kind] / total[kind], 100.0 * within1[kind] / total[kind],
        total[kind]);
  std::printf("  largest difference: %.0f ulps\n", max_ulps);
}

void print(const char *tool, const Figures &f) {
  std::printf("| %-23s | %8.1f | %8.1f | %8.1f | %8.2f | %10.2f |\n", tool, f.wall_s, f.cpu_s,
              f.system_s, f.rss / 1e9, f.faults / 1e6);
}

std::string semantics_list(const Options &o) {
  std::string names;
  for (const int c : o.compats)
    names += (names.empty() ? "" : ", ") + std::string(semantics_name(c));
  return names;
}

int parent(const Options &o, const Shape &s) {
  double params = 0;
  for (const Spec &spec : model_specs(s)) params += static_cast<double>(spec.numel);
  std::printf(
      "# fwmerge data-free merge benchmark: %s, semantics %s, base + %d bf16 models of %.2f G "
      "params (%.2f GB, hidden %lld), %s pool, %d threads, %s\n\n",
      o.method.c_str(), semantics_list(o).c_str(), o.members, params / 1e9, params * 2 / 1e9,
      static_cast<long long>(o.hidden), o.pool.c_str(), o.threads, fw_version());
  if (read_text(marker_path(o)) != marker_text(o)) {
    std::printf("building the pool in %s ...\n", o.dir.c_str());
    std::fflush(stdout);
    timed("/proc/self/exe",
          {"fw_bench_merge", "--dir", o.dir, "--members", std::to_string(o.members), "--pool",
           o.pool, "--hidden", std::to_string(o.hidden), "--child", "write"});
  }
  const std::string mergekit = find_mergekit(o);
  const std::string recipe = o.dir + "/recipe-" + o.method + ".yml";
  std::ofstream(recipe) << mergekit_recipe(o);
  // Each round runs every semantics, then mergekit, back to back: on a shared machine the ratios
  // of one round compare runs under about the same load.
  std::vector<std::vector<Figures>> fw_runs(o.compats.size());
  std::vector<Figures> mk_runs;
  for (int r = 0; r < o.runs; ++r) {
    std::printf("  run %d:", r + 1);
    for (size_t c = 0; c < o.compats.size(); ++c) {
      std::remove(fw_out(o, o.compats[c]).c_str());
      fw_runs[c].push_back(timed(
          "/proc/self/exe",
          {"fw_bench_merge", "--dir", o.dir, "--members", std::to_string(o.members), "--method",
           o.method, "--density", std::to_string(o.density), "--threads", std::to_string(o.threads),
           "--semantics", semantics_name(o.compats[c]), "--child", "fwmerge"}));
      std::printf(" fwmerge (%s) %.1f s,", semantics_name(o.compats[c]), fw_runs[c].back().wall_s);
      std::fflush(stdout);
    }
    if (!mergekit.empty() && o.reuse_mergekit) {
      std::printf(" (reusing %s)", mk_out(o).c_str());
    } else if (!mergekit.empty()) {
      std::system(("rm -rf '" + mk_out(o) + "'").c_str());
      mk_runs.push_back(timed(mergekit, {"mergekit-yaml", recipe, mk_out(o), "--num-threads",
                                         std::to_string(o.threads), "--quiet"}));
      std::printf(" mergekit %.1f s", mk_runs.back().wall_s);
    }
    std::printf("\n");
    std::fflush(stdout);
  }
  std::printf(
      "\n| tool                    |   wall s |    CPU s | system s | peak GB | minflt (M) |\n"
      "|-------------------------|----------|----------|----------|---------|------------|\n");
  for (size_t c = 0; c < o.compats.size(); ++c)
    print(("fwmerge " + std::string(semantics_name(o.compats[c]))).c_str(), median(fw_runs[c]));
  if (!mk_runs.empty()) print("mergekit", median(mk_runs));
  for (size_t c = 0; c < o.compats.size(); ++c) {
    const Figures fw = median(fw_runs[c]);
    std::printf("\nfwmerge (%s semantics):\n", semantics_name(o.compats[c]));
    if (!mk_runs.empty()) {
      const Figures mk = median(mk_runs);
      std::printf("  fwmerge / mergekit: wall %.3f, CPU %.3f, peak RSS %.3f\n",
                  fw.wall_s / mk.wall_s, fw.cpu_s / mk.cpu_s, fw.rss / mk.rss);
      // Issue 24: the default <= 0.15 x mergekit's wall, --exact-ties (its sort order) <= 0.5 x.
      const double goal = o.compats[c] == 2 ? 0.5 : 0.15;
      std::printf("  goals: wall <= %.2f x mergekit: %s; peak RSS <= 1 GB: %s\n", goal,
                  fw.wall_s <= goal * mk.wall_s ? "met" : "MISSED",
                  fw.rss <= 1e9 ? "met" : "MISSED");
    } else {
      std::printf("  goal: peak RSS <= 1 GB: %s\n", fw.rss <= 1e9 ? "met" : "MISSED");
    }
    if (!mergekit.empty() && (o.reuse_mergekit || !mk_runs.empty()))
      compare_outputs(o, o.compats[c]);
  }
  if (mergekit.empty())
    std::printf("\n(mergekit-yaml not found: pass --mergekit PATH for the side-by-side figures)\n");
  return 0;
}

}  // namespace

int main(int argc, char **argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "fw_bench_merge: %s needs a value\n", arg.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--dir")
      o.dir = next();
    else if (arg == "--members")
      o.members = std::stoi(next());
    else if (arg == "--method")
      o.method = next();
    else if (arg == "--density")
      o.density = std::stod(next());
    else if (arg == "--threads")
      o.threads = std::stoi(next());
    else if (arg == "--mergekit")
      o.mergekit = next();
    else if (arg == "--runs")
      o.runs = std::stoi(next());
    else if (arg == "--semantics") {
      // A comma-separated list: each is run, side by side with one mergekit run.
      o.compats.clear();
      std::stringstream names(next());
      std::string name;
      while (std::getline(names, name, ',')) o.compats.push_back(compat_of(name));
    } else if (arg == "--reuse-mergekit")
      o.reuse_mergekit = true;
    else if (arg == "--child")
      o.child = next();
    else if (arg == "--pool")
      o.pool = next();
    else if (arg == "--hidden")
      o.hidden = std::stoll(next());
    else {
      std::fprintf(stderr,
                   "usage: %s [--dir DIR] [--members N] [--method M] [--density D] [--threads T] "
                   "[--mergekit PATH] [--runs R] [--semantics mergekit|mergekit-exact|fwmerge] "
                   "[--reuse-mergekit] [--pool spread|tie-heavy] [--hidden H]\n",
                   argv[0]);
      return 2;
    }
  }
  if (o.pool != "spread" && o.pool != "tie-heavy") {
    std::fprintf(stderr, "fw_bench_merge: --pool is spread or tie-heavy, not %s\n", o.pool.c_str());
    return 2;
  }
  if (o.compats.empty()) {
    std::fprintf(stderr, "fw_bench_merge: --semantics names none\n");
    return 2;
  }
  if (o.hidden < 64 || o.hidden % 64 != 0) {
    std::fprintf(stderr, "fw_bench_merge: --hidden must be a positive multiple of 64\n");
    return 2;
  }
  const Shape s = shape_of(o.hidden);
  if (o.child == "write") return child_write(o, s);
  if (o.child == "fwmerge") return child_fwmerge(o);
  return parent(o, s);
}
