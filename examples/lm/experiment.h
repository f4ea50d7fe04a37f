// The benchmark's experiment (the paper's irrelevant-models setting on language): the evaluation
// domains' adapters plus k irrelevant ones in the pool, every method in a child process, and its
// reports: results.csv, results.md and a gnuplot PNG. The smoke run also checks the pipeline.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "child.h"
#include "zoo.h"

namespace lm {

struct Row {
  std::string method, adapter;  // adapter: the domain of a lone adapter ("adapter" rows)
  int k = -1;                   // irrelevant adapters in the pool (-1: no pool)
  int pool_size = 0;
  ChildResult result;
  double mean_ppl = 0;
};

std::vector<Row> run_experiment(const BenchConfig &cfg, const std::string &cache_root,
                                const std::string &out_dir);

void write_reports(const BenchConfig &cfg, const Zoo &zoo, const std::vector<Row> &rows,
                   const std::string &out_dir);

// The smoke test's checks; prints each and returns the number that failed.
int smoke_checks(const BenchConfig &cfg, const Zoo &zoo, const std::vector<Row> &rows);

}  // namespace lm
