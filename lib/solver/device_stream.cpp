#include "solver/device_stream.h"

#include <ATen/Parallel.h>
#include <c10/core/DeviceGuard.h>
#include <c10/core/impl/VirtualGuardImpl.h>

#include <algorithm>
#include <thread>

#include "io/dtype.h"

namespace fw {

DeviceStream::DeviceStream(const at::Device &device)
    : device_(device), stream_(c10::impl::VirtualGuardImpl(device.type()).getStream(device)) {
  for (int slot = 0; slot < 2; ++slot) {
    pinned_[slot] =
        at::empty({kChunkBytes}, at::TensorOptions().dtype(at::kByte).pinned_memory(true));
    staging_[slot] = at::empty({kChunkBytes}, at::TensorOptions().dtype(at::kByte).device(device));
    copied_[slot] = std::make_unique<c10::Event>(device.type());
  }
}

DeviceStream::~DeviceStream() {
  // A pinned buffer must outlive the copy that reads it.
  for (int slot = 0; slot < 2; ++slot) wait_until_copied(slot);
}

void DeviceStream::wait_until_copied(int slot) {
  if (!in_flight_[slot]) return;
  // c10::Event::synchronize is not in LibTorch 1.13; query is, and copies take milliseconds.
  while (!copied_[slot]->query()) std::this_thread::yield();
  in_flight_[slot] = false;
}

void DeviceStream::inner_products(const std::vector<const Checkpoint *> &vertices,
                                  const TensorMeta &meta, const at::Tensor &g, bool cosine,
                                  std::vector<double> *inner, std::vector<double> *sq_norm,
                                  const std::function<void()> &poll) {
  const c10::DeviceGuard guard(device_);
  const at::ScalarType file_type = to_scalar_type(meta.dtype);
  const int64_t itemsize = static_cast<int64_t>(at::elementSize(file_type));
  const int64_t chunk = kChunkBytes / itemsize;
  // Accumulated on the device in double, read back once per tensor (one synchronization).
  at::Tensor acc_inner = at::zeros({static_cast<int64_t>(vertices.size())},
                                   at::TensorOptions().dtype(at::kDouble).device(device_));
  at::Tensor acc_sq = at::zeros_like(acc_inner);
  int next_slot = 0;
  for (size_t v = 0; v < vertices.size(); ++v) {
    const Checkpoint &ckpt = *vertices[v];
    if (!ckpt.streams_ranges()) continue;
    for (int64_t begin = 0; begin < meta.numel; begin += chunk) {
      poll();
      const int64_t end = std::min(meta.numel, begin + chunk);
      const int slot = next_slot;
      next_slot ^= 1;
      wait_until_copied(slot);  // the copy two chunks ago read this buffer
      uint8_t *host = pinned_[slot].data_ptr<uint8_t>();
      // Page-cache reads are CPU-bound: split the chunk over the intra-op threads (1 MiB pieces).
      const int64_t piece = std::max<int64_t>(1, (int64_t{1} << 20) / itemsize);
      at::parallel_for(begin, end, piece, [&](int64_t first, int64_t last) {
        ckpt.read_raw_range(meta.name, first, last, host + (first - begin) * itemsize);
      });
      const int64_t nbytes = (end - begin) * itemsize;
      at::Tensor raw = staging_[slot].slice(0, 0, nbytes);
      raw.copy_(pinned_[slot].slice(0, 0, nbytes), /*non_blocking=*/true);
      copied_[slot]->record(stream_);
      in_flight_[slot] = true;
      const at::Tensor x = raw.view(file_type).to(at::kFloat);
      acc_inner.select(0, static_cast<int64_t>(v))
          .add_(at::dot(g.slice(0, begin, end).to(at::kFloat), x).to(at::kDouble));
      if (cosine) acc_sq.select(0, static_cast<int64_t>(v)).add_(at::dot(x, x).to(at::kDouble));
    }
  }
  const at::Tensor host_inner = acc_inner.cpu(), host_sq = acc_sq.cpu();
  for (size_t v = 0; v < vertices.size(); ++v) {
    if (!vertices[v]->streams_ranges()) continue;
    (*inner)[v] = host_inner[static_cast<int64_t>(v)].item<double>();
    if (cosine) (*sq_norm)[v] = host_sq[static_cast<int64_t>(v)].item<double>();
  }
}

}  // namespace fw
