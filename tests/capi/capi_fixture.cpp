#include "capi_fixture.h"

#include <dirent.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>

namespace capi {

SolverPtr new_solver(const fw_params *params) {
  fw_solver *raw = nullptr;
  const fw_status status = fw_solver_new(params, &raw);
  EXPECT_EQ(status, FW_OK) << fw_last_error();
  return SolverPtr(raw);
}

PoolFiles write_pool(const std::string &label, const std::vector<fwtest::TestTensor> &base,
                     const std::vector<std::vector<fwtest::TestTensor>> &members) {
  PoolFiles pool;
  pool.dir = fwtest::temp_dir(label);
  pool.base = pool.dir + "/base.safetensors";
  fwtest::write_safetensors(pool.base, base);
  for (size_t i = 0; i < members.size(); ++i) {
    pool.members.push_back(pool.dir + "/member" + std::to_string(i) + ".safetensors");
    fwtest::write_safetensors(pool.members.back(), members[i]);
  }
  return pool;
}

std::vector<float> merge_one_tensor(const std::string &label, const fw_merge_params &p,
                                    const std::vector<float> &base,
                                    const std::vector<std::vector<float>> &members,
                                    std::vector<int64_t> shape) {
  if (shape.empty()) shape = {static_cast<int64_t>(base.size())};
  std::vector<std::vector<fwtest::TestTensor>> m;
  for (const auto &values : members) m.push_back({{"w", shape, values}});
  const PoolFiles pool = write_pool(label, {{"w", shape, base}}, m);
  std::vector<const char *> paths;
  for (const std::string &path : pool.members) paths.push_back(path.c_str());
  const std::string out = pool.dir + "/out.safetensors";
  EXPECT_EQ(fw_merge(&p, pool.base.c_str(), paths.data(), paths.size(), out.c_str(), nullptr),
            FW_OK)
      << fw_last_error();
  const ParsedFile parsed = parse_safetensors(out);
  return decode(parsed.tensor_bytes("w"), "F32");
}

void expect_near_all(const std::vector<float> &got, const std::vector<double> &want, double tol) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], tol) << "entry " << i;
}

PoolFiles write_unit_pool(const std::string &label, const std::string &dtype) {
  auto vec = [&](float a, float b, float c) {
    return std::vector<fwtest::TestTensor>{{"w", {3}, {a, b, c}, dtype}};
  };
  return write_pool(label, vec(0, 0, 0), {vec(1, 0, 0), vec(0, 1, 0), vec(0, 0, 1)});
}

void load_pool(fw_solver *solver, const PoolFiles &pool) {
  ASSERT_EQ(fw_solver_set_base(solver, pool.base.c_str()), FW_OK) << fw_last_error();
  for (size_t i = 0; i < pool.members.size(); ++i) {
    int32_t index = -1;
    ASSERT_EQ(fw_solver_pool_add(solver, pool.members[i].c_str(), &index), FW_OK)
        << fw_last_error();
    ASSERT_EQ(index, static_cast<int32_t>(i));
  }
}

float view_get(const fw_tensor &view, int64_t e) {
  switch (view.dtype) {
    case FW_DTYPE_BF16:
      return fwtest::bf16_to_f32(static_cast<const uint16_t *>(view.data)[e]);
    case FW_DTYPE_F16:
      return fwtest::f16_to_f32(static_cast<const uint16_t *>(view.data)[e]);
    default:
      return static_cast<const float *>(view.data)[e];
  }
}

void view_set(const fw_tensor &view, int64_t e, float value) {
  switch (view.dtype) {
    case FW_DTYPE_BF16:
      static_cast<uint16_t *>(view.data)[e] = fwtest::f32_to_bf16(value);
      break;
    case FW_DTYPE_F16:
      static_cast<uint16_t *>(view.data)[e] = fwtest::f32_to_f16(value);
      break;
    default:
      static_cast<float *>(view.data)[e] = value;
  }
}

fw_status Quadratic::evaluate(const fw_tensor *params, size_t n, fw_tensor *grads, double *loss) {
  ++calls;
  if (grads) ++gradient_calls;
  const bool faulty = calls == fail_at;
  if (faulty && (fault == Fault::kStatus || fault == Fault::kStatusNoMessage)) {
    if (fault == Fault::kStatus) fw_set_callback_error(message.c_str());
    return FW_ERR_IO;
  }
  double l = 0;
  for (size_t t = 0; t < n; ++t) {
    EXPECT_EQ(params[t].dtype, dtype);
    EXPECT_EQ(params[t].device, FW_DEVICE_TYPE_CPU);
    if (grads) {
      EXPECT_EQ(grads[t].dtype, dtype);
    }
    const auto it = target.find(params[t].name);
    for (int64_t e = 0; e < params[t].numel; ++e) {
      const double d =
          double(view_get(params[t], e)) - (it == target.end() ? 0.0 : it->second.at(e));
      l += 0.5 * d * d;
      if (grads) {
        EXPECT_EQ(view_get(grads[t], e), 0.0f) << "gradient buffers must arrive zero-filled";
        view_set(grads[t], e, static_cast<float>(d));
      }
    }
    if (faulty && grads && fault_tensor == params[t].name) {
      if (fault == Fault::kNanGrad)
        view_set(grads[t], params[t].numel - 1, std::numeric_limits<float>::quiet_NaN());
      if (fault == Fault::kInfGrad) view_set(grads[t], 0, -std::numeric_limits<float>::infinity());
    }
  }
  if (faulty && fault == Fault::kNanLoss) l = std::numeric_limits<double>::quiet_NaN();
  if (faulty && fault == Fault::kInfLoss) l = std::numeric_limits<double>::infinity();
  *loss = l;
  return FW_OK;
}

fw_status quadratic_callback(const fw_tensor *params, size_t n, fw_tensor *grads, double *loss,
                             void *user_data) {
  return static_cast<Quadratic *>(user_data)->evaluate(params, n, grads, loss);
}

fw_status ask_tell_step(fw_solver *solver, Quadratic *q, fw_step_info *info) {
  fw_status status = fw_solver_step_begin(solver);
  if (status != FW_OK) return status;
  fw_request request = {};
  request.struct_size = sizeof request;
  while ((status = fw_solver_step_ask(solver, &request)) == FW_OK && !request.done) {
    EXPECT_EQ(request.grads != nullptr, request.need_gradient != 0);
    double loss = 0;
    const fw_status host = q->evaluate(request.params, request.n, request.grads, &loss);
    fw_solver_step_tell(solver, host, loss);  // a failure surfaces again from fw_solver_step_finish
  }
  EXPECT_EQ(status, FW_OK) << fw_last_error();
  return fw_solver_step_finish(solver, info);
}

fw_step_info blank_info() {
  fw_step_info info;
  std::memset(&info, 0, sizeof info);
  info.struct_size = sizeof info;
  return info;
}

StepCopy copy_step(const fw_step_info &info) {
  StepCopy c;
  c.info = info;
  const size_t count = static_cast<size_t>(info.n_blocks) * static_cast<size_t>(info.k);
  if (info.chosen) c.chosen.assign(info.chosen, info.chosen + count);
  if (info.lambdas) c.lambdas.assign(info.lambdas, info.lambdas + count);
  c.info.chosen = nullptr;
  c.info.lambdas = nullptr;
  return c;
}

bool same_bits(const StepCopy &a, const StepCopy &b) {
  auto same = [](double x, double y) { return std::memcmp(&x, &y, sizeof x) == 0; };
  const fw_step_info &x = a.info, &y = b.info;
  return x.iteration == y.iteration && same(x.loss, y.loss) && same(x.loss_after, y.loss_after) &&
         same(x.gap, y.gap) && same(x.gamma, y.gamma) && x.converged == y.converged &&
         x.evaluations == y.evaluations && x.n_blocks == y.n_blocks && x.k == y.k &&
         x.leaves_hull == y.leaves_hull && a.chosen == b.chosen &&
         a.lambdas.size() == b.lambdas.size() &&
         (a.lambdas.empty() ||
          std::memcmp(a.lambdas.data(), b.lambdas.data(), a.lambdas.size() * sizeof(double)) == 0);
}

Snapshot snapshot(const fw_solver *solver) {
  Snapshot s;
  const fw_tensor *views = nullptr;
  size_t n = 0;
  EXPECT_EQ(fw_solver_current(solver, &views, &n), FW_OK) << fw_last_error();
  for (size_t t = 0; t < n; ++t) {
    s.names.push_back(views[t].name);
    const auto *p = static_cast<const uint8_t *>(views[t].data);
    s.theta.emplace_back(p, p + views[t].numel * (views[t].dtype == FW_DTYPE_F32 ? 4 : 2));
  }
  for (int32_t i = 0; i < fw_solver_history_size(solver); ++i) {
    fw_step_info info = blank_info();
    EXPECT_EQ(fw_solver_history_get(solver, i, &info), FW_OK) << fw_last_error();
    s.history.push_back(copy_step(info));
  }
  return s;
}

std::string diff(const Snapshot &a, const Snapshot &b) {
  if (a.names != b.names) return "tensor names differ";
  for (size_t t = 0; t < a.theta.size(); ++t)
    if (a.theta[t] != b.theta[t]) return "theta of '" + a.names[t] + "' differs";
  if (a.history.size() != b.history.size())
    return "history size " + std::to_string(a.history.size()) + " vs " +
           std::to_string(b.history.size());
  for (size_t i = 0; i < a.history.size(); ++i)
    if (!same_bits(a.history[i], b.history[i]))
      return "step info " + std::to_string(i) + " differs";
  return "";
}

std::vector<float> current_values(const fw_solver *solver, size_t index) {
  const fw_tensor *views = nullptr;
  size_t n = 0;
  EXPECT_EQ(fw_solver_current(solver, &views, &n), FW_OK) << fw_last_error();
  if (index >= n) {
    ADD_FAILURE() << "fw_solver_current has " << n << " tensors, wanted index " << index;
    return {};
  }
  std::vector<float> out;
  for (int64_t e = 0; e < views[index].numel; ++e) out.push_back(view_get(views[index], e));
  return out;
}

ParsedFile parse_safetensors(const std::string &path) {
  ParsedFile f;
  f.bytes = fwtest::read_bytes(path);
  if (f.bytes.size() < 8) throw std::runtime_error(path + ": shorter than 8 bytes");
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | f.bytes[i];
  if (8 + header_len > f.bytes.size()) throw std::runtime_error(path + ": header past the end");
  f.data_start = 8 + header_len;
  f.header = nlohmann::json::parse(f.bytes.begin() + 8, f.bytes.begin() + 8 + header_len);
  return f;
}

std::vector<uint8_t> ParsedFile::tensor_bytes(const std::string &name) const {
  const auto &entry = header.at(name);
  const uint64_t begin = entry.at("data_offsets").at(0).get<uint64_t>();
  const uint64_t end = entry.at("data_offsets").at(1).get<uint64_t>();
  if (begin > end || data_start + end > bytes.size())
    throw std::runtime_error("tensor " + name + ": offsets out of range");
  return std::vector<uint8_t>(bytes.begin() + data_start + begin, bytes.begin() + data_start + end);
}

std::map<std::string, std::string> ParsedFile::metadata() const {
  std::map<std::string, std::string> out;
  if (header.contains("__metadata__"))
    for (const auto &kv : header["__metadata__"].items())
      out[kv.key()] = kv.value().get<std::string>();
  return out;
}

std::vector<float> decode(const std::vector<uint8_t> &bytes, const std::string &dtype) {
  std::vector<float> out;
  if (dtype == "F32") {
    out.resize(bytes.size() / 4);
    for (size_t i = 0; i < out.size(); ++i) {
      const uint32_t bits = uint32_t(bytes[4 * i]) | uint32_t(bytes[4 * i + 1]) << 8 |
                            uint32_t(bytes[4 * i + 2]) << 16 | uint32_t(bytes[4 * i + 3]) << 24;
      std::memcpy(&out[i], &bits, 4);
    }
    return out;
  }
  for (size_t i = 0; i + 1 < bytes.size(); i += 2) {
    const uint16_t bits = static_cast<uint16_t>(bytes[i] | bytes[i + 1] << 8);
    out.push_back(dtype == "F16" ? fwtest::f16_to_f32(bits) : fwtest::bf16_to_f32(bits));
  }
  return out;
}

std::vector<std::string> list_dir(const std::string &dir) {
  const std::set<std::string> names = fwtest::list_dir(dir);
  return {names.begin(), names.end()};
}

}  // namespace capi
