#include "solver/chunks.h"

#include <ATen/Parallel.h>

#include <algorithm>

#include "solver/dot_kernels.h"

namespace fw {
namespace {

// Reads chunks of one source tensor as fp32 on a device. Streaming checkpoints are read range by
// range into a reused host buffer; others (adapters, in-memory start points) are loaded whole once.
class ChunkReader {
 public:
  ChunkReader(const Source &source, const std::string &name, const at::Device &device)
      : source_(source), name_(name), device_(device) {
    if (source.resident.defined()) {
      flat_ = source.resident.reshape(-1);
    } else if (!source.checkpoint->streams_ranges()) {
      flat_ = source.checkpoint->load_f32(name).reshape(-1);
    } else if (const TensorMeta *meta = source.checkpoint->find(name)) {
      raw_ok_ = dot_raw_supported(meta->dtype);
      raw_dtype_ = meta->dtype;
    }
  }
  at::Tensor read(int64_t begin, int64_t end) {
    if (flat_.defined()) return flat_.slice(0, begin, end).to(device_, at::kFloat);
    if (!buffer_.defined() || buffer_.numel() < end - begin)
      buffer_ = at::empty({end - begin}, at::kFloat);
    at::Tensor x = buffer_.slice(0, 0, end - begin);
    if (raw_ok_) {
      // The file's bytes into a reused buffer, converted in place of a per-chunk tensor.
      raw_.resize(static_cast<size_t>(end - begin));
      source_.checkpoint->read_raw_range(name_, begin, end, raw_.data());
      to_f32_raw(raw_.data(), raw_dtype_, end - begin, x.data_ptr<float>());
    } else {
      source_.checkpoint->read_f32_range(name_, begin, end, x);
    }
    return x.to(device_);  // no copy on the CPU
  }

 private:
  const Source &source_;
  const std::string &name_;
  at::Device device_;
  at::Tensor flat_, buffer_;
  std::vector<float> raw_;  // file bytes of one chunk (float-typed: aligned for any dtype)
  bool raw_ok_ = false;     // streamed in a dtype the fused conversion takes (raw_dtype_)
  DType raw_dtype_ = DType::F32;
};

}  // namespace

at::Tensor map_chunks(const at::Tensor &theta, const std::vector<Source> &sources,
                      const std::string &name, int64_t chunk, const Placement &p, const ChunkFn &fn,
                      const std::function<void()> &poll) {
  const int64_t numel = theta.numel();
  if (chunk <= 0) chunk = std::max<int64_t>(numel, 1);
  std::vector<ChunkReader> readers;
  readers.reserve(sources.size());
  for (const Source &s : sources) readers.emplace_back(s, name, theta.device());
  const at::Tensor flat_theta = theta.reshape(-1);
  at::Tensor out = at::empty(theta.sizes(), p.options().device(theta.device()));
  at::Tensor flat_out = out.view(-1);
  std::vector<at::Tensor> chunks(sources.size());
  for (int64_t begin = 0; begin < numel; begin += chunk) {
    poll();
    const int64_t end = std::min(numel, begin + chunk);
    for (size_t j = 0; j < readers.size(); ++j) chunks[j] = readers[j].read(begin, end);
    const at::Tensor result = fn(flat_theta.slice(0, begin, end).to(at::kFloat), chunks);
    flat_out.slice(0, begin, end).copy_(result);
  }
  return out;
}

namespace {

// dot_f32 of contiguous host tensors through the fused kernels: no fp32 copies of whole tensors
// (a bf16 theta and gradient would otherwise allocate two model-sized conversions per LMO).
bool dot_host(const at::Tensor &a, const at::Tensor &b, double *out) {
  DType da, db;
  if (!a.device().is_cpu() || !b.device().is_cpu() || !a.is_contiguous() || !b.is_contiguous() ||
      !from_scalar_type(a.scalar_type(), &da) || !from_scalar_type(b.scalar_type(), &db) ||
      a.numel() != b.numel())
    return false;
  const int64_t n = a.numel();
  // Fixed chunks summed in chunk order: the same bits for any thread count. The chunks are split
  // over the intra-op threads (theta_t's and the gradient's products run once per LMO pass).
  constexpr int64_t kChunk = 64 * kDotBlock;
  const int64_t n_chunks = (n + kChunk - 1) / kChunk;
  std::vector<double> sums(static_cast<size_t>(n_chunks), 0.0);
  const auto *pa = static_cast<const uint8_t *>(a.data_ptr());
  const auto *pb = static_cast<const uint8_t *>(b.data_ptr());
  const int64_t ia = a.element_size(), ib = b.element_size();
  at::parallel_for(0, n_chunks, 1, [&](int64_t first, int64_t last) {
    std::vector<float> buffer;
    for (int64_t c = first; c < last; ++c) {
      const int64_t begin = c * kChunk, len = std::min(n - begin, kChunk);
      if (da == DType::F32) {
        sums[c] =
            dot_raw(reinterpret_cast<const float *>(pa + begin * ia), pb + begin * ib, db, len);
      } else if (db == DType::F32) {
        sums[c] =
            dot_raw(reinterpret_cast<const float *>(pb + begin * ib), pa + begin * ia, da, len);
      } else {
        // Both 16-bit: this chunk of a converted into a small buffer.
        buffer.resize(static_cast<size_t>(len));
        to_f32_raw(pa + begin * ia, da, len, buffer.data());
        sums[c] = dot_raw(buffer.data(), pb + begin * ib, db, len);
      }
    }
  });
  double sum = 0;
  for (double v : sums) sum += v;
  *out = sum;
  return true;
}

}  // namespace

double dot_f32(const at::Tensor &a, const at::Tensor &b) {
  double host = 0;
  if (dot_host(a, b, &host)) return host;
  const at::Tensor fa = a.reshape(-1), fb = b.reshape(-1);
  const int64_t numel = fa.numel();
  double sum = 0;
  // One chunk for tensors up to kUpdateChunk: exactly at::dot of the fp32 tensors.
  for (int64_t begin = 0; begin < numel; begin += kUpdateChunk) {
    const int64_t end = std::min(numel, begin + kUpdateChunk);
    sum += at::dot(fa.slice(0, begin, end).to(at::kFloat), fb.slice(0, begin, end).to(at::kFloat))
               .item<double>();
  }
  return sum;
}

double dot_source(const at::Tensor &a, const Source &source, const std::string &name,
                  const std::function<void()> &poll) {
  const at::Tensor fa = a.reshape(-1);
  const int64_t numel = fa.numel();
  ChunkReader reader(source, name, a.device());
  double sum = 0;
  for (int64_t begin = 0; begin < numel; begin += kUpdateChunk) {
    poll();
    const int64_t end = std::min(numel, begin + kUpdateChunk);
    sum += at::dot(fa.slice(0, begin, end).to(at::kFloat), reader.read(begin, end)).item<double>();
  }
  return sum;
}

}  // namespace fw
