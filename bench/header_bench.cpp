// Safetensors header parsing against the tensor count: opening a file (SafetensorsFile::open, what
// fw_solver_set_base and fw_solver_pool_add do) and reading its headers the way `fwmerge inspect`
// does (fw_load_tensors with FW_LOAD_FLAG_HEADER_ONLY), for files of 12.5 k to 400 k one-element
// tensors. Linear parsing keeps seconds per 100 k tensors flat across the rows.
//
//   fw_bench_header [--dir DIR] [--max N (default 400000)]
#include <sys/resource.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "fwmerge.h"
#include "io/safetensors_reader.h"

namespace {

// N F32 tensors of one element each ("model.layers.<i>.weight"), written by hand: the header is
// what is measured, so the data is N * 4 zero bytes.
void write_file(const std::string &path, size_t n) {
  std::string header = "{\"__metadata__\":{\"format\":\"pt\"}";
  header.reserve(n * 96);
  for (size_t i = 0; i < n; ++i)
    header += ",\"model.layers." + std::to_string(i) +
              ".weight\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[" +
              std::to_string(4 * i) + "," + std::to_string(4 * i + 4) + "]}";
  header += "}";
  while (header.size() % 8 != 0) header += ' ';
  std::ofstream out(path, std::ios::binary);
  const uint64_t len = header.size();
  out.write(reinterpret_cast<const char *>(&len), 8);
  out << header;
  const std::vector<char> zeros(4 * n, 0);
  out.write(zeros.data(), static_cast<std::streamsize>(zeros.size()));
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// CPU seconds of this process (user + system): the figure that other load on the machine does
// not inflate.
double cpu_seconds() {
  struct rusage u;
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char **argv) {
  std::string dir = "fw_bench_header";
  size_t max_n = 400000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--dir") == 0) dir = argv[i + 1];
    if (std::strcmp(argv[i], "--max") == 0) max_n = std::stoul(argv[i + 1]);
  }
  ::mkdir(dir.c_str(), 0755);
  std::printf("%10s %10s %8s %8s %10s %10s %12s %14s\n", "tensors", "header MB", "open s", "cpu s",
              "inspect s", "cpu s", "open s/100k", "inspect s/100k");
  for (size_t n = 12500; n <= max_n; n *= 2) {
    const std::string path = dir + "/n" + std::to_string(n) + ".safetensors";
    write_file(path, n);
    double cpu = cpu_seconds();
    auto start = std::chrono::steady_clock::now();
    const auto file = fw::SafetensorsFile::open(path);
    const double open_s = seconds_since(start);
    const double open_cpu = cpu_seconds() - cpu;
    if (file->tensors().size() != n) {
      std::fprintf(stderr, "%s: %zu tensors read, %zu written\n", path.c_str(),
                   file->tensors().size(), n);
      return 1;
    }
    cpu = cpu_seconds();
    start = std::chrono::steady_clock::now();
    fw_tensor_set *set = nullptr;
    if (fw_load_tensors(path.c_str(), FW_LOAD_FLAG_HEADER_ONLY, &set) != FW_OK) {
      std::fprintf(stderr, "%s: %s\n", path.c_str(), fw_last_error());
      return 1;
    }
    const double inspect_s = seconds_since(start);
    const double inspect_cpu = cpu_seconds() - cpu;
    fw_tensor_set_free(set);
    struct stat st;
    ::stat(path.c_str(), &st);
    std::printf("%10zu %10.1f %8.3f %8.3f %10.3f %10.3f %12.3f %14.3f\n", n,
                static_cast<double>(st.st_size - 4 * static_cast<off_t>(n)) / 1e6, open_s, open_cpu,
                inspect_s, inspect_cpu, open_s * 1e5 / static_cast<double>(n),
                inspect_s * 1e5 / static_cast<double>(n));
    std::remove(path.c_str());
    if (n < max_n && n * 2 > max_n) n = max_n / 2;  // end on max_n itself
  }
  return 0;
}
