#include "zoo.h"

#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <stdexcept>

#include "progress.h"
#include "tensor_file.h"

namespace lm {

std::vector<std::string> BenchConfig::domains() const {
  std::vector<std::string> d = eval_domains;
  d.insert(d.end(), irrelevant_domains.begin(), irrelevant_domains.end());
  return d;
}

std::string BenchConfig::tag() const {
  std::string t = model.tag() + "-p" + std::to_string(pretrain.steps) + "x" +
                  std::to_string(pretrain.batch) + "-a" + std::to_string(adapter.steps) + "x" +
                  std::to_string(adapter.batch) + "-r" + std::to_string(lora.r) + "-t" +
                  std::to_string(split.train / 1024) + "k";
  // The pre-training mixture is every domain of the configuration.
  t += "-n" + std::to_string(domains().size());
  return t;
}

BenchConfig full_config() {
  BenchConfig c;
  c.eval_domains = {"python", "c_headers", "licenses", "cmake_modules"};
  // Interleaved so that each k adds adapters of different kinds.
  c.irrelevant_domains = {
      "perl",       "maven_pom",        "swig",        "pkgconfig", "cpp_stdlib",
      "cmake_docs", "debian_copyright", "aten_headers"};
  c.irrelevant_counts = {0, 2, 4, 6, 8};
  c.model = LmConfig{2, 128, 4, 64, 512};
  c.split = SplitBudget{256 * 1024, 8 * 1024, 24 * 1024, 8 * 1024};
  c.pretrain = TrainSpec{2500, 32, 2e-3, 50, 1};
  c.adapter = TrainSpec{150, 32, 3e-3, 10, 2};
  return c;
}

BenchConfig smoke_config() {
  BenchConfig c;
  c.smoke = true;
  c.model = LmConfig{1, 64, 2, 32, 256};
  c.split = SplitBudget{32 * 1024, 4 * 1024, 6 * 1024, 2 * 1024};  // many short excerpts
  c.eval_domains = {"python", "licenses"};
  c.irrelevant_domains = {"c_headers", "cmake_modules"};
  c.irrelevant_counts = {0, 2};
  c.pretrain = TrainSpec{200, 16, 3e-3, 10, 1};
  c.adapter = TrainSpec{80, 16, 5e-3, 5, 2};
  c.calib_windows = 100;
  c.test_windows = 128;
  c.fw_hard_iters = 3;
  c.soft_iters = 4;
  c.max_evaluations = 12;
  return c;
}

const DomainText &Corpus::get(const std::string &name) const {
  for (const DomainText &d : domains)
    if (d.name == name) return d;
  throw std::invalid_argument("corpus has no domain " + name);
}

Corpus load_corpus(const BenchConfig &cfg) {
  Corpus c;
  for (const std::string &name : cfg.domains())
    c.domains.push_back(collect(domain_by_name(name), cfg.split));
  return c;
}

std::string Zoo::adapter_dir(const std::string &domain) const {
  return dir + "/adapters/" + domain;
}

std::string default_cache_root() {
  if (const char *e = std::getenv("FWLM_CACHE"); e && *e) return e;
  if (const char *x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/fwmerge-lm";
  const char *home = std::getenv("HOME");
  return std::string(home && *home ? home : "/tmp") + "/.cache/fwmerge-lm";
}

namespace {

bool exists(const std::string &path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

void mkdirs(const std::string &path) {
  for (size_t i = 1; i <= path.size(); ++i)
    if (i == path.size() || path[i] == '/') ::mkdir(path.substr(0, i).c_str(), 0755);
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

Zoo open_zoo(const BenchConfig &cfg, const std::string &cache_root) {
  Zoo z;
  z.dir = cache_root + "/" + cfg.tag();
  z.base_path = z.dir + "/pretrained.safetensors";
  for (const std::string &d : cfg.domains()) z.adapter_dirs.push_back(z.adapter_dir(d));
  std::ifstream in(z.dir + "/zoo.json");
  if (in) in >> z.info;
  return z;
}

Zoo ensure_zoo(const BenchConfig &cfg, const Corpus &corpus, const std::string &cache_root) {
  Zoo z = open_zoo(cfg, cache_root);
  mkdirs(z.dir + "/adapters");
  if (!z.info.is_object()) z.info = nlohmann::json::object();
  const auto save_info = [&] { std::ofstream(z.dir + "/zoo.json") << z.info.dump(2) << '\n'; };

  demo::NamedTensors base;
  if (exists(z.base_path)) {
    base = demo::select(demo::load_tensors(z.base_path).tensors, param_names(cfg.model));
  } else {
    std::string mixture;  // every domain's training split
    for (const DomainText &d : corpus.domains) mixture += d.train;
    const auto t0 = std::chrono::steady_clock::now();
    base = pretrain(cfg.model, tokens_of(mixture), cfg.pretrain, 1234);
    z.info["pretrain_s"] = seconds_since(t0);
    z.info["pretrain_tokens"] =
        int64_t(cfg.pretrain.steps) * cfg.pretrain.batch * cfg.model.context;
    demo::save_tensors(z.base_path, base, {{"format", "pt"}, {"fwmerge-lm", cfg.tag()}});
    save_info();
  }
  const Weights w0 = to_weights(base);
  for (size_t i = 0; i < corpus.domains.size(); ++i) {
    const DomainText &d = corpus.domains[i];
    if (exists(z.adapter_dirs[i] + "/adapter_model.safetensors")) continue;
    TrainSpec spec = cfg.adapter;
    spec.seed = cfg.adapter.seed + i;
    const auto t0 = std::chrono::steady_clock::now();
    const demo::NamedTensors factors =
        train_lora(cfg.model, base, tokens_of(d.train), spec, cfg.lora, "LoRA " + d.name);
    const double train_s = seconds_since(t0);
    // Own-domain test loss before and after, measured with the host's own application of B A.
    const at::Tensor test = windows(d.test, cfg.model.context + 1, cfg.test_windows);
    z.info["adapters"][d.name] = {
        {"train_s", train_s},
        {"base_test_loss", mean_loss(cfg.model, w0, test)},
        {"adapter_test_loss",
         mean_loss(cfg.model, apply_lora(cfg.model, w0, factors, cfg.lora), test)}};
    save_peft_adapter(z.adapter_dirs[i], factors, cfg.lora, z.base_path);
    save_info();
  }
  return z;
}

}  // namespace lm
