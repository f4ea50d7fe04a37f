// Helpers shared by the test areas. They deliberately do not use the library's own writer, so a
// reader test is checked against bytes built independently here.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace fwtest {

struct TestTensor {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> values;  // numel values, stored in `dtype` ("F32", "F16" or "BF16")
  std::string dtype = "F32";
};

// A fresh empty folder under the area's temp root (FW_TEST_TMP), unique per call.
std::string temp_dir(const std::string &label);

// Writes a valid .safetensors file (tensors in the given order, contiguous, header padded to 8).
void write_safetensors(const std::string &path, const std::vector<TestTensor> &tensors,
                       const std::map<std::string, std::string> &metadata = {});

// Names in a folder (without "." and ".."); empty if it does not exist.
std::set<std::string> list_dir(const std::string &dir);

// Raw bytes of a file / writing raw bytes (for malformed-file cases).
std::vector<uint8_t> read_bytes(const std::string &path);
void write_bytes(const std::string &path, const std::vector<uint8_t> &bytes);

// fp32 <-> fp16 / bf16 bit conversions (round to nearest even), independent of LibTorch.
uint16_t f32_to_f16(float value);
float f16_to_f32(uint16_t bits);
uint16_t f32_to_bf16(float value);
float bf16_to_f32(uint16_t bits);

// Peak resident set size of this process in bytes (getrusage).
uint64_t peak_rss_bytes();
// Current resident set size of this process in bytes (/proc/self/statm).
uint64_t current_rss_bytes();

}  // namespace fwtest
