// The text domains of the language benchmark: files that Debian packages ship (and that
// scripts/install-deps.sh installs on a fresh machine), collected deterministically per domain
// (sorted file lists, fixed byte budgets) and split into train / calibration / test by whole files,
// so no text is in two splits.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <string>
#include <vector>

namespace lm {

struct DomainSpec {
  std::string name;
  std::vector<std::string> roots;  // folders; a path part may be a glob ("cmake-*")
  std::string suffix;              // file name suffix ("" = any file)
  std::string name_is;             // if set: the file name must equal this (e.g. "copyright")
  int max_depth = 1;               // 1 = files directly in a root
};

// The benchmark's 12 domains, in a fixed order.
const std::vector<DomainSpec> &all_domains();
const DomainSpec &domain_by_name(const std::string &name);  // throws std::invalid_argument

struct SplitBudget {
  int64_t train = 160 * 1024, calib = 8 * 1024, test = 24 * 1024;
  int64_t per_file = 24 * 1024;  // bytes read from one file at most (more files, more variety)
};

struct DomainText {
  std::string name;
  std::string train, calib, test;
  int files = 0;
};

// Reads the domain's files. Throws std::runtime_error when a split stays empty (domain missing).
DomainText collect(const DomainSpec &spec, const SplitBudget &budget);

// Bytes as token ids: [len] int64.
at::Tensor tokens_of(const std::string &text);

// Consecutive non-overlapping windows of `len` tokens: [min(max, available), len] int64.
at::Tensor windows(const std::string &text, int64_t len, int64_t max);

}  // namespace lm
