#include "tensor_file.h"

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <vector>

#include "data_error.h"
#include "fwmerge.h"

namespace demo {

void save_tensors(const std::string &path, const NamedTensors &tensors,
                  const std::map<std::string, std::string> &metadata) {
  std::vector<at::Tensor> contiguous;
  std::vector<std::vector<int64_t>> shapes;
  std::vector<fw_tensor> views;
  for (size_t i = 0; i < tensors.tensors.size(); ++i) {
    contiguous.push_back(tensors.tensors[i].detach().to(at::kFloat).contiguous());
    shapes.push_back(contiguous.back().sizes().vec());
  }
  for (size_t i = 0; i < contiguous.size(); ++i) {
    fw_tensor v{};  // device FW_DEVICE_TYPE_CPU, reserved words zero
    v.name = tensors.names[i].c_str();
    v.dtype = FW_DTYPE_F32;
    v.ndim = int32_t(shapes[i].size());
    v.shape = shapes[i].data();
    v.numel = contiguous[i].numel();
    v.data = contiguous[i].data_ptr<float>();
    views.push_back(v);
  }
  std::vector<const char *> kv;
  for (const auto &entry : metadata) {
    kv.push_back(entry.first.c_str());
    kv.push_back(entry.second.c_str());
  }
  const fw_status st = fw_save_tensors(path.c_str(), views.data(), views.size(), FW_DTYPE_F32,
                                       kv.empty() ? nullptr : kv.data(), metadata.size());
  if (st != FW_OK)
    throw std::runtime_error("fw_save_tensors(" + path + "): " + fw_status_name(st) + ": " +
                             fw_last_error());
}

LoadedTensors load_tensors(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError("io", path + ": cannot open");
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() < 8) throw DataError("format", path + ": shorter than 8 bytes");
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | uint8_t(bytes[size_t(i)]);
  if (header_len > bytes.size() - 8) throw DataError("format", path + ": header past the end");
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + long(header_len));
  } catch (const std::exception &e) {
    throw DataError("format", path + ": header is not JSON (" + e.what() + ")");
  }
  const size_t data_start = 8 + header_len;
  // order tensors by offset: the file order
  std::vector<std::pair<uint64_t, std::string>> order;
  LoadedTensors out;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      for (auto m = it->begin(); m != it->end(); ++m) out.metadata[m.key()] = m->get<std::string>();
      continue;
    }
    order.emplace_back((*it)["data_offsets"][0].get<uint64_t>(), it.key());
  }
  std::sort(order.begin(), order.end());
  for (const auto &entry : order) {
    const nlohmann::json &info = header[entry.second];
    if (info["dtype"] != "F32")
      throw DataError("dtype", path + ": tensor " + entry.second + " is " +
                                   info["dtype"].get<std::string>() + ", only F32 is read");
    const std::vector<int64_t> shape = info["shape"].get<std::vector<int64_t>>();
    const uint64_t begin = info["data_offsets"][0], end = info["data_offsets"][1];
    at::Tensor t = at::empty(shape, at::kFloat);
    if (end < begin || data_start + end > bytes.size() || end - begin != uint64_t(t.nbytes()))
      throw DataError("format", path + ": bad data_offsets of " + entry.second);
    std::memcpy(t.data_ptr<float>(), bytes.data() + data_start + begin, end - begin);
    out.tensors.names.push_back(entry.second);
    out.tensors.tensors.push_back(t);
  }
  return out;
}

NamedTensors select(const NamedTensors &from, const std::vector<std::string> &names) {
  NamedTensors out;
  for (const std::string &name : names) {
    size_t i = 0;
    while (i < from.names.size() && from.names[i] != name) ++i;
    if (i == from.names.size()) throw DataError("missing", "no tensor named " + name);
    out.names.push_back(name);
    out.tensors.push_back(from.tensors[i]);
  }
  return out;
}

}  // namespace demo
