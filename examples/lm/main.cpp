// fwmerge-lm: FW-Merging of LoRA adapters of a small byte-level language model, as a host program
// of the public C API (the paper's language setting at laptop scale).
//
//   fwmerge-lm                 train (or load cached) the LM and one LoRA adapter per domain, merge
//                              with every method as irrelevant adapters join the pool, write
//                              results.csv / results.md / results.png to --out
//   fwmerge-lm --smoke         the same at a tiny size, with checks (the CTest test)
//
// Each merge runs in a child process (--child, internal) so its peak RSS can be measured alone.
#include <ATen/Parallel.h>
#include <sys/stat.h>

#include <cstdio>
#include <exception>
#include <sstream>
#include <string>

#include "child.h"
#include "experiment.h"
#include "fwmerge.h"
#include "zoo.h"

namespace {

using namespace lm;

struct Args {
  bool smoke = false, train_only = false;
  std::string out_dir = "fwmerge-lm-out", cache_root, child_method, result_path, work_dir;
  std::vector<std::string> pool;
};

void usage() {
  std::fprintf(stderr,
               "usage: fwmerge-lm [--smoke] [--train-only] [--out DIR] [--cache DIR]\n"
               "  --smoke       tiny model, few steps, 2 + 2 domains, with checks (CTest)\n"
               "  --train-only  build the cached model zoo and stop\n"
               "  --cache DIR   model cache (default $FWLM_CACHE or ~/.cache/fwmerge-lm)\n");
}

Args parse(int argc, char **argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--smoke") {
      a.smoke = true;
    } else if (arg == "--train-only") {
      a.train_only = true;
    } else if (arg == "--out") {
      a.out_dir = value();
    } else if (arg == "--cache") {
      a.cache_root = value();
    } else if (arg == "--child") {
      a.child_method = value();
    } else if (arg == "--result") {
      a.result_path = value();
    } else if (arg == "--work") {
      a.work_dir = value();
    } else if (arg == "--pool") {
      std::stringstream in(value());
      std::string item;
      while (std::getline(in, item, ','))
        if (!item.empty()) a.pool.push_back(item);
    } else if (arg == "--help" || arg == "-h") {
      usage();
      std::exit(0);
    } else {
      throw std::invalid_argument("unknown argument " + arg);
    }
  }
  if (a.cache_root.empty()) a.cache_root = default_cache_root();
  return a;
}

void mkdirs(const std::string &path) {
  for (size_t i = 1; i <= path.size(); ++i)
    if (i == path.size() || path[i] == '/') ::mkdir(path.substr(0, i).c_str(), 0755);
}

}  // namespace

int main(int argc, char **argv) {
  try {
    const Args a = parse(argc, argv);
    // One intra-op thread: the benchmark's times are single-core, and runs share the machine.
    at::set_num_threads(1);
    if (!a.child_method.empty()) {
      // Tensor-sized buffers get their own mappings, so peak RSS does not depend on the pool size
      // through heap fragmentation (see fw_set_malloc_mmap_threshold).
      fw_set_malloc_mmap_threshold(1 << 20);
      return child_main(ChildRequest{a.child_method, a.pool, a.cache_root, a.smoke}, a.result_path,
                        a.work_dir);
    }
    const BenchConfig cfg = a.smoke ? smoke_config() : full_config();
    const Corpus corpus = load_corpus(cfg);
    for (const DomainText &d : corpus.domains)
      std::fprintf(stderr, "domain %-16s %3d files: train %6zu, calib %5zu, test %5zu bytes\n",
                   d.name.c_str(), d.files, d.train.size(), d.calib.size(), d.test.size());
    const Zoo zoo = ensure_zoo(cfg, corpus, a.cache_root);
    if (a.train_only) return 0;
    mkdirs(a.out_dir);
    const std::vector<Row> rows = run_experiment(cfg, a.cache_root, a.out_dir);
    write_reports(cfg, open_zoo(cfg, a.cache_root), rows, a.out_dir);
    std::fprintf(stderr, "wrote %s/results.csv, results.md, results.png\n", a.out_dir.c_str());
    if (a.smoke) {
      const int failed = smoke_checks(cfg, zoo, rows);
      if (failed) {
        std::fprintf(stderr, "%d smoke check(s) failed\n", failed);
        return 1;
      }
    }
    return 0;
  } catch (const std::exception &e) {
    std::fprintf(stderr, "fwmerge-lm: %s\n", e.what());
    return 1;
  }
}
