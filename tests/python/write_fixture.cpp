// Writes safetensors fixtures with fwmerge's writer for oracle_test.py, which checks them with the
// reference `safetensors` Python package. Usage: write_fixture <out_dir> (the folder must exist).
//   mixed.safetensors      F32, F16, BF16, rank-0 and zero-size tensors, metadata {"format": "pt"}
//   plain.safetensors      F32 + F16 only, metadata {"format": "pt"} (numpy can express these)
//   bare.safetensors       the same tensors without metadata
//   sharded/               write_sharded of the mixed tensors with a 40-byte limit
#include <ATen/ATen.h>

#include <cstring>
#include <iostream>
#include <vector>

#include "io/safetensors_writer.h"
#include "util/error.h"

namespace {

// Values exactly representable in their dtype, so the oracle can compare with ==.
// w32[i] = 0.25 * i - 1 (2x3); w16 = {0.5, -1.5, 1024, 0.333251953125}; wbf = {1, -2.5,
// 0.333984375}; s = 42.
std::vector<uint8_t> bytes_of(const at::Tensor &t) {
  const at::Tensor c = t.contiguous();
  std::vector<uint8_t> out(c.numel() * c.element_size());
  if (!out.empty()) std::memcpy(out.data(), c.data_ptr(), out.size());
  return out;
}

struct Fixture {
  std::vector<uint8_t> w32 = bytes_of(at::arange(6, at::kFloat).mul(0.25).sub(1.0));
  std::vector<uint8_t> w16 =
      bytes_of(at::tensor(std::vector<float>{0.5f, -1.5f, 1024.0f, 0.333251953125f}).to(at::kHalf));
  std::vector<uint8_t> wbf =
      bytes_of(at::tensor(std::vector<float>{1.0f, -2.5f, 0.333984375f}).to(at::kBFloat16));
  std::vector<uint8_t> s = bytes_of(at::full({}, 42.0f));

  std::vector<fw::OutTensor> plain() const {
    return {{"model.w32", fw::DType::F32, {2, 3}, w32.data(), w32.size()},
            {"model.w16", fw::DType::F16, {4}, w16.data(), w16.size()},
            {"scalar", fw::DType::F32, {}, s.data(), s.size()}};
  }
  std::vector<fw::OutTensor> mixed() const {
    std::vector<fw::OutTensor> out = plain();
    out.push_back({"model.wbf", fw::DType::BF16, {3}, wbf.data(), wbf.size()});
    out.push_back({"empty", fw::DType::F32, {0, 5}, nullptr, 0});
    return out;
  }
};

}  // namespace

int main(int argc, char **argv) {
  if (argc != 2) {
    std::cerr << "usage: write_fixture <out_dir>\n";
    return 2;
  }
  const std::string dir = argv[1];
  try {
    const Fixture f;
    const std::map<std::string, std::string> meta = {{"format", "pt"}};
    fw::write_safetensors(dir + "/mixed.safetensors", f.mixed(), meta);
    fw::write_safetensors(dir + "/plain.safetensors", f.plain(), meta);
    fw::write_safetensors(dir + "/bare.safetensors", f.plain(), {});
    fw::write_sharded(dir + "/sharded", f.mixed(), meta, 40);
  } catch (const fw::Error &e) {
    std::cerr << "write_fixture: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
