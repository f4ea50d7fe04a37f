#include "corpus.h"

#include <dirent.h>
#include <fnmatch.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <stdexcept>

namespace lm {

const std::vector<DomainSpec> &all_domains() {
  // Each from a package install-deps.sh pulls in (or Debian's base system); distinct styles:
  // C, C++ (library internals and modern templates), Python, Perl, CMake code and reST docs,
  // license prose, Debian copyright records, Maven XML, SWIG interfaces, pkg-config files.
  static const std::vector<DomainSpec> d = {
      {"python", {"/usr/lib/python3.11"}, ".py", "", 1},
      {"c_headers", {"/usr/include"}, ".h", "", 1},
      {"cmake_modules", {"/usr/share/cmake-*/Modules"}, ".cmake", "", 1},
      {"licenses", {"/usr/share/common-licenses"}, "", "", 1},
      {"perl", {"/usr/share/perl"}, ".pm", "", 4},
      {"cpp_stdlib", {"/usr/include/c++/*/bits"}, ".h", "", 1},
      {"aten_headers", {"/usr/include/ATen/core"}, ".h", "", 2},
      {"cmake_docs", {"/usr/share/cmake-*/Help/command"}, ".rst", "", 1},
      {"debian_copyright", {"/usr/share/doc"}, "", "copyright", 2},
      {"maven_pom", {"/usr/share/maven-repo"}, ".pom", "", 6},
      {"swig", {"/usr/share/swig*"}, ".i", "", 4},
      {"pkgconfig", {"/usr/lib/*/pkgconfig", "/usr/share/pkgconfig"}, ".pc", "", 1},
  };
  return d;
}

const DomainSpec &domain_by_name(const std::string &name) {
  for (const DomainSpec &d : all_domains())
    if (d.name == name) return d;
  throw std::invalid_argument("unknown domain " + name);
}

namespace {

std::vector<std::string> sorted_entries(const std::string &dir) {
  std::vector<std::string> out;
  DIR *d = ::opendir(dir.c_str());
  if (!d) return out;
  while (const dirent *e = ::readdir(d)) {
    const std::string n = e->d_name;
    if (n != "." && n != "..") out.push_back(n);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

// Expands glob parts of `pattern` ("/usr/share/cmake-*/Modules") against the file system.
void expand(const std::string &done, const std::string &rest, std::vector<std::string> &out) {
  if (rest.empty()) {
    out.push_back(done);
    return;
  }
  const size_t slash = rest.find('/', 1);
  const std::string part =
      rest.substr(1, slash == std::string::npos ? std::string::npos : slash - 1);
  const std::string tail = slash == std::string::npos ? "" : rest.substr(slash);
  if (part.find_first_of("*?[") == std::string::npos) {
    expand(done + "/" + part, tail, out);
    return;
  }
  for (const std::string &e : sorted_entries(done.empty() ? "/" : done))
    if (::fnmatch(part.c_str(), e.c_str(), 0) == 0) expand(done + "/" + e, tail, out);
}

// Regular files only (symlinks skipped: common-licenses links GPL to GPL-3, which would put the
// same text into two splits).
void walk(const std::string &dir, int depth, const DomainSpec &spec,
          std::vector<std::string> &files) {
  for (const std::string &e : sorted_entries(dir)) {
    const std::string path = dir + "/" + e;
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      if (depth > 1) walk(path, depth - 1, spec, files);
    } else if (S_ISREG(st.st_mode)) {
      const bool name_ok = spec.name_is.empty() ? true : e == spec.name_is;
      const bool suffix_ok =
          e.size() >= spec.suffix.size() &&
          e.compare(e.size() - spec.suffix.size(), spec.suffix.size(), spec.suffix) == 0;
      if (name_ok && suffix_ok && st.st_size > 0) files.push_back(path);
    }
  }
}

std::string read_prefix(const std::string &path, int64_t max) {
  std::ifstream in(path, std::ios::binary);
  std::string s(static_cast<size_t>(max), '\0');
  in.read(&s[0], max);
  s.resize(static_cast<size_t>(in.gcount()));
  return s;
}

}  // namespace

DomainText collect(const DomainSpec &spec, const SplitBudget &b) {
  std::vector<std::string> files;
  for (const std::string &root : spec.roots) {
    std::vector<std::string> dirs;
    expand("", root, dirs);
    for (const std::string &dir : dirs) walk(dir, spec.max_depth, spec, files);
  }
  DomainText t;
  t.name = spec.name;
  // Whole files go to one split: every 10th file (from the 1st) to test, every 10th from the 6th
  // to calibration while they are short of their budgets, the rest to train.
  for (size_t i = 0; i < files.size(); ++i) {
    const bool test_full = int64_t(t.test.size()) >= b.test;
    const bool calib_full = int64_t(t.calib.size()) >= b.calib;
    const bool train_full = int64_t(t.train.size()) >= b.train;
    if (test_full && calib_full && train_full) break;
    std::string *dst = nullptr;
    int64_t budget = 0;
    if (i % 10 == 0 && !test_full) {
      dst = &t.test;
      budget = b.test;
    } else if (i % 10 == 5 && !calib_full) {
      dst = &t.calib;
      budget = b.calib;
    } else if (!train_full) {
      dst = &t.train;
      budget = b.train;
    } else {
      continue;  // train is full: wait for a file whose turn it is for test / calibration
    }
    const std::string text =
        read_prefix(files[i], std::min(b.per_file, budget - int64_t(dst->size())));
    *dst += text;
    *dst += '\n';
    ++t.files;
  }
  if (t.train.empty() || t.calib.empty() || t.test.empty())
    throw std::runtime_error("domain " + spec.name + ": too few files under " + spec.roots[0] +
                             " (" + std::to_string(files.size()) + " found)");
  return t;
}

at::Tensor tokens_of(const std::string &text) {
  at::Tensor bytes = at::empty({int64_t(text.size())}, at::kByte);
  std::copy(text.begin(), text.end(), reinterpret_cast<char *>(bytes.data_ptr<uint8_t>()));
  return bytes.to(at::kLong);
}

at::Tensor windows(const std::string &text, int64_t len, int64_t max) {
  const int64_t n = std::min(max, int64_t(text.size()) / len);
  return tokens_of(text.substr(0, size_t(n * len))).view({n, len});
}

}  // namespace lm
