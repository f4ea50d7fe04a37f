// Independent helpers for tests: nothing here calls the library, so reader tests check the library
// against bytes built by different code.
#include "test_support.h"

#include <dirent.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>

#ifndef FW_TEST_TMP
#define FW_TEST_TMP "/tmp/fwmerge_test"
#endif

namespace fwtest {
namespace {

uint32_t bits_of(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  return bits;
}

float float_of(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

void mkdir_p(const std::string &dir) {
  for (size_t pos = dir.find('/', 1);; pos = dir.find('/', pos + 1)) {
    const std::string prefix = dir.substr(0, pos);
    if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) {
      throw std::runtime_error("mkdir " + prefix + ": " + std::strerror(errno));
    }
    if (pos == std::string::npos) break;
  }
}

std::string quote(const std::string &text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned>(c));
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

size_t item_size(const std::string &dtype) {
  if (dtype == "F32") return 4;
  if (dtype == "F16" || dtype == "BF16") return 2;
  throw std::invalid_argument("test_support: unsupported dtype " + dtype);
}

void append_value(std::vector<uint8_t> *out, const std::string &dtype, float value) {
  uint32_t bits;
  if (dtype == "F32") {
    bits = bits_of(value);
  } else if (dtype == "F16") {
    bits = f32_to_f16(value);
  } else {
    bits = f32_to_bf16(value);
  }
  for (size_t i = 0; i < item_size(dtype); ++i)
    out->push_back(static_cast<uint8_t>(bits >> (8 * i)));
}

}  // namespace

std::set<std::string> list_dir(const std::string &dir) {
  std::set<std::string> names;
  DIR *d = ::opendir(dir.c_str());
  if (d == nullptr) return names;
  while (const dirent *e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") names.insert(name);
  }
  ::closedir(d);
  return names;
}

std::string temp_dir(const std::string &label) {
  mkdir_p(FW_TEST_TMP);
  std::string pattern = std::string(FW_TEST_TMP) + "/" + label + "-XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (::mkdtemp(buffer.data()) == nullptr) {
    throw std::runtime_error("mkdtemp " + pattern + ": " + std::strerror(errno));
  }
  return buffer.data();
}

void write_safetensors(const std::string &path, const std::vector<TestTensor> &tensors,
                       const std::map<std::string, std::string> &metadata) {
  std::string header = "{";
  bool first = true;
  if (!metadata.empty()) {
    header += "\"__metadata__\":{";
    for (const auto &kv : metadata) {
      header += (first ? "" : ",") + quote(kv.first) + ":" + quote(kv.second);
      first = false;
    }
    header += "}";
    first = false;
  }
  std::vector<uint8_t> data;
  for (const TestTensor &t : tensors) {
    int64_t numel = 1;
    std::string shape = "[";
    for (size_t i = 0; i < t.shape.size(); ++i) {
      numel *= t.shape[i];
      shape += (i ? "," : "") + std::to_string(t.shape[i]);
    }
    shape += "]";
    if (static_cast<int64_t>(t.values.size()) != numel) {
      throw std::invalid_argument("test_support: " + t.name + " has the wrong number of values");
    }
    const size_t begin = data.size();
    for (float v : t.values) append_value(&data, t.dtype, v);
    header += std::string(first ? "" : ",") + quote(t.name) + ":{\"dtype\":\"" + t.dtype +
              "\",\"shape\":" + shape + ",\"data_offsets\":[" + std::to_string(begin) + "," +
              std::to_string(data.size()) + "]}";
    first = false;
  }
  header += "}";
  while (header.size() % 8 != 0) header += ' ';

  std::vector<uint8_t> bytes;
  for (int i = 0; i < 8; ++i)
    bytes.push_back(static_cast<uint8_t>(uint64_t{header.size()} >> (8 * i)));
  bytes.insert(bytes.end(), header.begin(), header.end());
  bytes.insert(bytes.end(), data.begin(), data.end());
  write_bytes(path, bytes);
}

std::vector<uint8_t> read_bytes(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_bytes(const std::string &path, const std::vector<uint8_t> &bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char *>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

uint16_t f32_to_f16(float value) {
  const uint32_t x = bits_of(value);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t abs = x & 0x7FFFFFFFu;
  if (abs >= 0x7F800000u) {  // Inf, or NaN kept quiet
    return static_cast<uint16_t>(sign | 0x7C00u |
                                 (abs > 0x7F800000u ? 0x200u | ((abs >> 13) & 0x3FFu) : 0u));
  }
  if (abs >= 0x477FF000u) return static_cast<uint16_t>(sign | 0x7C00u);  // >= 65520 rounds to Inf
  const uint32_t exp = abs >> 23;
  const uint32_t mant = abs & 0x7FFFFFu;
  if (exp < 113) {  // below 2^-14: an fp16 subnormal (units of 2^-24) or zero
    if (exp < 102) return static_cast<uint16_t>(sign);  // below 2^-25: rounds to 0
    const uint32_t m = mant | 0x800000u;
    const uint32_t shift = 126 - exp;
    uint32_t r = m >> shift;
    const uint32_t rem = m & ((1u << shift) - 1);
    const uint32_t half = 1u << (shift - 1);
    if (rem > half || (rem == half && (r & 1u))) ++r;
    return static_cast<uint16_t>(sign | r);
  }
  uint32_t h = ((exp - 112) << 10) | (mant >> 13);
  const uint32_t rem = mant & 0x1FFFu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;  // a carry into the exponent is right
  return static_cast<uint16_t>(sign | h);
}

float f16_to_f32(uint16_t bits) {
  const uint32_t sign = (bits & 0x8000u) << 16;
  const uint32_t exp = (bits >> 10) & 0x1Fu;
  const uint32_t mant = bits & 0x3FFu;
  if (exp == 0) {
    const float magnitude = std::ldexp(static_cast<float>(mant), -24);
    return sign ? -magnitude : magnitude;
  }
  if (exp == 31) return float_of(sign | 0x7F800000u | (mant << 13));
  return float_of(sign | ((exp + 112) << 23) | (mant << 13));
}

uint16_t f32_to_bf16(float value) {
  const uint32_t x = bits_of(value);
  if ((x & 0x7FFFFFFFu) > 0x7F800000u)
    return static_cast<uint16_t>((x >> 16) | 0x40u);  // quiet NaN
  const uint32_t rounding = 0x7FFFu + ((x >> 16) & 1u);
  return static_cast<uint16_t>((x + rounding) >> 16);
}

float bf16_to_f32(uint16_t bits) { return float_of(static_cast<uint32_t>(bits) << 16); }

uint64_t peak_rss_bytes() {
  struct rusage usage;
  ::getrusage(RUSAGE_SELF, &usage);
  return static_cast<uint64_t>(usage.ru_maxrss) * 1024;  // ru_maxrss is in KiB on Linux
}

uint64_t current_rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t pages_total = 0, pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return pages_resident * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

}  // namespace fwtest
