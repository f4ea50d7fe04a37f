// fwmerge: the command line over the public C API (include/fwmerge.h).
//   fwmerge merge RECIPE.yml OUT_DIR    a data-free merge from a mergekit recipe, HF folder out
//   fwmerge fw RECIPE.yml OUT_DIR       a Frank-Wolfe merge (built-in TorchScript objective)
//   fwmerge inspect PATH                tensors, dtypes, shapes, sizes and metadata of a checkpoint
//   fwmerge version
// Ctrl-C or SIGTERM stops a merge through fw_merge_params.abort (or the solver's abort callback)
// and leaves nothing at OUT_DIR; whatever the run is doing, the process ends within a second.
#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "fw_run.h"
#include "fwmerge.h"
#include "inspect.h"
#include "merge_args.h"
#include "model_card.h"
#include "out_dir.h"
#include "recipe.h"
#include "wait_policy.h"

namespace {

std::atomic<int> g_interrupted{0};
int g_wake[2] = {-1, -1};  // self-pipe: the signal handler wakes the watchdog thread
std::string g_out_dir;     // set before the handlers are installed, read by the watchdog

extern "C" void on_signal(int) {
  g_interrupted.store(1);
  const char byte = 1;
  const ssize_t ignored = ::write(g_wake[1], &byte, 1);  // async-signal-safe; a full pipe is fine
  (void)ignored;
}

// Removes OUT_DIR's hidden temp folders `.NAME.tmp-XXXXXX`, the library's work in progress.
void remove_output_temps(const std::string &out_dir) {
  namespace fs = std::filesystem;
  if (out_dir.empty()) return;
  std::string trimmed = out_dir;
  while (trimmed.size() > 1 && trimmed.back() == '/') trimmed.pop_back();
  const fs::path target(trimmed);
  const std::string prefix = "." + target.filename().string() + ".tmp-";
  std::error_code ec;
  const fs::path parent = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::vector<fs::path> temps;
  for (fs::directory_iterator it(parent, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() == prefix.size() + 6 && name.compare(0, prefix.size(), prefix) == 0 &&
        it->symlink_status(ec).type() == fs::file_type::directory)
      temps.push_back(it->path());
  }
  for (const fs::path &p : temps) fs::remove_all(p, ec);
}

// After SIGINT / SIGTERM the run stops where it next polls the abort hook and cleans up itself;
// but it may be blocked in a system call or inside one long tensor operation that polls nothing.
// This thread gives it a grace period, then removes the output's temp folders and ends the process
// (130, as an interrupted run does), so that Ctrl-C and `timeout` always work.
void watchdog() {
  char byte;
  while (::read(g_wake[0], &byte, 1) < 0 && errno == EINTR) {
  }
  ::usleep(800 * 1000);
  remove_output_temps(g_out_dir);
  std::fprintf(stderr, "fwmerge: interrupted; nothing was written to %s\n",
               g_out_dir.empty() ? "(no output)" : g_out_dir.c_str());
  std::_Exit(130);
}

void install_signal_handlers(const std::string &out_dir) {
  g_out_dir = out_dir;
  if (::pipe2(g_wake, O_CLOEXEC | O_NONBLOCK) != 0) return;  // then Ctrl-C only polls
  // The watchdog's end blocks; only the handler's end must never block.
  ::fcntl(g_wake[0], F_SETFL, ::fcntl(g_wake[0], F_GETFL) & ~O_NONBLOCK);
  std::thread(watchdog).detach();
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
}

int poll_interrupt(void *) { return g_interrupted.load(); }

// Bytes of the inputs (a file, or every file of a folder), for the throughput line.
uint64_t input_bytes(const std::string &path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) return fs::file_size(path, ec);
  uint64_t total = 0;
  if (fs::is_directory(path, ec))
    for (const auto &e : fs::recursive_directory_iterator(path, ec))
      if (e.is_regular_file(ec)) total += e.file_size(ec);
  return total;
}

// Parses "5GB", "500MB", "1.5GiB", "1000000" (bytes).
uint64_t parse_size(const std::string &text) {
  size_t used = 0;
  const double v = std::stod(text, &used);
  std::string unit = text.substr(used);
  double scale = 1;
  if (unit == "" || unit == "B")
    scale = 1;
  else if (unit == "KB" || unit == "K")
    scale = 1e3;
  else if (unit == "MB" || unit == "M")
    scale = 1e6;
  else if (unit == "GB" || unit == "G")
    scale = 1e9;
  else if (unit == "KiB")
    scale = 1024.0;
  else if (unit == "MiB")
    scale = 1024.0 * 1024;
  else if (unit == "GiB")
    scale = 1024.0 * 1024 * 1024;
  else
    throw std::invalid_argument("unknown size unit '" + unit + "' (B, KB, MB, GB, KiB, MiB, GiB)");
  if (!(v > 0)) throw std::invalid_argument("the size must be > 0");
  return static_cast<uint64_t>(v * scale);
}

// The tensor names of a checkpoint (its headers only).
std::vector<std::string> tensor_names(const std::string &path, bool allow_outside_links) {
  fw_tensor_set *set = nullptr;
  const uint32_t flags =
      static_cast<uint32_t>(FW_LOAD_FLAG_HEADER_ONLY) |
      (allow_outside_links ? static_cast<uint32_t>(FW_LOAD_FLAG_ALLOW_OUTSIDE_LINKS) : 0u);
  if (fw_load_tensors(path.c_str(), flags, &set) != FW_OK)
    throw std::runtime_error(std::string("base_model ") + path + ": " + fw_last_error());
  std::vector<std::string> names;
  for (size_t i = 0; i < fw_tensor_set_count(set); ++i) {
    fw_tensor t;
    if (fw_tensor_set_get(set, i, &t) == FW_OK) names.emplace_back(t.name);
  }
  fw_tensor_set_free(set);
  return names;
}

int run_merge(const std::string &recipe_path, const std::string &out_dir,
              const std::string &shard_size, int threads, bool quiet, int32_t mergekit_compat,
              bool allow_outside_links) {
  const fwcli::Recipe recipe = fwcli::read_recipe(recipe_path);
  for (const std::string &w : recipe.warnings)
    std::fprintf(stderr, "fwmerge: warning: %s\n", w.c_str());
  const uint64_t max_shard = parse_size(shard_size);

  // linear may go without a base: the first model gives the names and shapes.
  const std::string base = recipe.base_model.empty() ? recipe.models[0].path : recipe.base_model;
  std::vector<const char *> pool;
  uint64_t bytes = input_bytes(base);
  for (const fwcli::RecipeModel &m : recipe.models) {
    pool.push_back(m.path.c_str());
    bytes += input_bytes(m.path);
  }
  // Gradients and filter lists are evaluated per tensor: they need the base's tensor names.
  const fwcli::MergeArgs args(
      recipe, mergekit_compat,
      recipe.per_tensor() ? tensor_names(base, allow_outside_links) : std::vector<std::string>{});
  fw_merge_params params = args.params();
  params.threads = threads;
  params.allow_outside_links = allow_outside_links ? 1 : 0;
  params.abort = poll_interrupt;
  const std::string card = fwcli::model_card(recipe, base);
  fw_export_options opts = fw_default_export_options();
  opts.dtype = recipe.out_dtype;
  opts.max_shard_bytes = max_shard;
  opts.hf_folder = 1;
  opts.model_card = card.c_str();

  if (!quiet)
    std::fprintf(stderr, "fwmerge: %s of %zu models against %s (%.2f GB to read)\n",
                 recipe.method_name.c_str(), recipe.models.size(), base.c_str(), bytes / 1e9);
  const auto start = std::chrono::steady_clock::now();
  const fw_status st =
      fw_merge(&params, base.c_str(), pool.data(), pool.size(), out_dir.c_str(), &opts);
  if (st == FW_ERR_ABORTED) {
    std::fprintf(stderr, "fwmerge: interrupted; nothing was written to %s\n", out_dir.c_str());
    return 130;
  }
  if (st != FW_OK) {
    std::fprintf(stderr, "fwmerge: %s: %s\n", fw_status_name(st), fw_last_error());
    return 1;
  }
  const std::vector<std::string> files = fwcli::folder_files(out_dir);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!quiet) {
    std::fprintf(stderr, "fwmerge: wrote %s in %.1f s (%.0f MB/s read):", out_dir.c_str(), seconds,
                 seconds > 0 ? bytes / 1e6 / seconds : 0.0);
    for (const std::string &f : files) std::fprintf(stderr, " %s", f.c_str());
    std::fprintf(stderr, "\n");
  }
  return 0;
}

}  // namespace

int main(int argc, char **argv) {
  CLI::App app{"fwmerge " + std::string(fw_version()) +
               ": Frank-Wolfe and data-free merging of fine-tuned checkpoints"};
  app.require_subcommand(1);
  // The library's version first (scripts read the first line), then what a bug report needs.
  app.set_version_flag("--version", [] {
    return std::string(fw_version()) + "\nLibTorch " + fw_libtorch_version() +
           "\nOpenMP wait policy: " + fwcli::omp_wait_policy_description();
  });

  std::string recipe, out_dir, shard_size = "5GB";
  int threads = 0;
  bool quiet = false;
  CLI::App *merge = app.add_subcommand(
      "merge", "Data-free merge from a mergekit YAML recipe into a Hugging Face model folder");
  merge->add_option("RECIPE", recipe, "mergekit recipe (.yml)")->required();
  merge->add_option("OUT_DIR", out_dir, "output folder (must not exist, or be empty)")->required();
  merge->add_option("--shard-size", shard_size, "largest shard, e.g. 5GB (mergekit's default)")
      ->capture_default_str();
  merge->add_option("--threads", threads, "intra-op threads (0: LibTorch's default)")
      ->check(CLI::NonNegativeNumber);
  merge->add_flag("-q,--quiet", quiet, "no log lines");
  std::string semantics = "mergekit";
  merge
      ->add_option("--semantics", semantics,
                   "mergekit: mergekit's arithmetic in the recipe's dtype (same numbers as "
                   "mergekit); fwmerge: fp32, rounded once")
      ->check(CLI::IsMember({"mergekit", "fwmerge"}))
      ->capture_default_str();
  bool exact_ties = false;
  merge->add_flag("--exact-ties", exact_ties,
                  "with mergekit semantics, also keep the equal magnitudes at TIES / breadcrumbs "
                  "thresholds that mergekit keeps (its argsort order): bit-identical output, but "
                  "each split tensor is read once more and partly sorted (slower, memory of one "
                  "tensor)");

  std::string fw_recipe, fw_out, fw_shard_size = "5GB";
  bool fw_quiet = false;
  CLI::App *fw = app.add_subcommand(
      "fw",
      "Frank-Wolfe merge (fw_params, TorchScript objective) into a Hugging Face model folder");
  fw->add_option("RECIPE", fw_recipe, "Frank-Wolfe recipe (.yml, see cli/fw_recipe.h)")->required();
  fw->add_option("OUT_DIR", fw_out, "output folder (must not exist, or be empty)")->required();
  fw->add_option("--shard-size", fw_shard_size, "largest shard, e.g. 5GB")->capture_default_str();
  fw->add_flag("-q,--quiet", fw_quiet, "no progress or log lines");

  std::string inspect_path;
  fwcli::InspectOptions inspect_options;
  CLI::App *inspect = app.add_subcommand(
      "inspect", "List a checkpoint's tensors, dtypes, shapes, sizes and metadata (no data read)");
  inspect->add_option("PATH", inspect_path, ".safetensors file, Hugging Face or adapter folder")
      ->required();
  inspect->add_flag("--json", inspect_options.json, "one JSON document");
  inspect->add_flag("--full", inspect_options.full_metadata, "metadata values untruncated");

  // Off by default: a model folder someone else uploaded must not make fwmerge read (or copy into
  // OUT_DIR) a file outside it through a symbolic link; the Hugging Face cache's links stay
  // allowed.
  bool allow_outside_links = false;
  const char *links_help =
      "follow symbolic links in model and adapter folders wherever they lead (default: only "
      "links that stay inside the folder, or inside its Hugging Face cache repository)";
  merge->add_flag("--allow-outside-links", allow_outside_links, links_help);
  fw->add_flag("--allow-outside-links", allow_outside_links, links_help);
  inspect->add_flag("--allow-outside-links", inspect_options.allow_outside_links, links_help);

  CLI11_PARSE(app, argc, argv);

  if (fw_version_number() / 100 != FW_VERSION_NUMBER / 100) {
    std::fprintf(stderr, "fwmerge: this program was built for libfwmerge %s, but loaded %s\n",
                 FW_VERSION_STRING, fw_version());
    return 2;
  }
  install_signal_handlers(merge->parsed() ? out_dir : fw->parsed() ? fw_out : std::string());
  try {
    if (merge->parsed())
      return run_merge(recipe, out_dir, shard_size, threads, quiet,
                       semantics == "fwmerge" ? 0
                       : exact_ties           ? 2
                                              : 1,
                       allow_outside_links);
    if (fw->parsed())
      return fwcli::run_fw(fw_recipe, fw_out, parse_size(fw_shard_size), fw_quiet, poll_interrupt,
                           allow_outside_links);
    if (inspect->parsed()) return fwcli::run_inspect(inspect_path, inspect_options, stdout);
  } catch (const fwcli::RecipeError &e) {
    std::fprintf(stderr, "fwmerge: %s\n", e.what());
    return 2;
  } catch (const std::exception &e) {
    std::fprintf(stderr, "fwmerge: %s\n", e.what());
    return 1;
  }
  return 0;
}
