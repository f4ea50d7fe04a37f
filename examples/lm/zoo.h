// The benchmark's configuration and its model zoo: the pre-trained LM and one PEFT LoRA adapter
// per domain, trained once with fixed seeds and cached on disk (reruns load them), with the
// training times and each adapter's own-domain test loss recorded in zoo.json.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "corpus.h"
#include "lm_model.h"
#include "train.h"

namespace lm {

struct BenchConfig {
  bool smoke = false;
  LmConfig model;
  SplitBudget split;
  TrainSpec pretrain, adapter;
  LoraSpec lora;
  std::vector<std::string> eval_domains;        // with their relevant adapters
  std::vector<std::string> irrelevant_domains;  // join the pool in this order
  std::vector<int> irrelevant_counts;           // k values of the experiment
  int64_t calib_windows = 100;                  // per evaluation domain (the paper's ~100)
  int64_t test_windows = 256;                   // per evaluation domain
  int fw_hard_iters = 10;                       // the paper's language setting
  int soft_iters = 6;                           // FW_soft inner evaluations per step
  int max_evaluations = 50;                     // every data-informed method's budget
  std::vector<std::string> domains() const;     // eval first, then irrelevant
  std::string tag() const;                      // everything that changes the trained weights
};

BenchConfig full_config();
BenchConfig smoke_config();  // 1 layer, a few steps, 2 + 2 domains: the CTest pipeline check

struct Corpus {
  std::vector<DomainText> domains;  // BenchConfig::domains() order
  const DomainText &get(const std::string &name) const;
};
Corpus load_corpus(const BenchConfig &cfg);

struct Zoo {
  std::string dir, base_path;
  std::vector<std::string> adapter_dirs;  // BenchConfig::domains() order
  nlohmann::json info;                    // zoo.json
  std::string adapter_dir(const std::string &domain) const;
};

// Default cache root: $FWLM_CACHE, else $XDG_CACHE_HOME/fwmerge-lm, else ~/.cache/fwmerge-lm.
std::string default_cache_root();

// Trains what is missing (one thread), loads the rest. Prints progress on stderr.
Zoo ensure_zoo(const BenchConfig &cfg, const Corpus &corpus, const std::string &cache_root);

// The zoo's paths without training (for the child processes).
Zoo open_zoo(const BenchConfig &cfg, const std::string &cache_root);

}  // namespace lm
