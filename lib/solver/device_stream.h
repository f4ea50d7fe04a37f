// The LMO's inner products on a GPU: each vertex tensor streams from disk in chunks into pinned
// host buffers and on to the device, in its file dtype (bf16 files move as bf16), and is converted
// to fp32 there. Two buffers alternate: while the device copies and multiplies one chunk, the host
// reads the next from disk into the other. Written against LibTorch's device-generic c10 API
// (Stream, Event, DeviceGuard), so it compiles on a CPU-only LibTorch too; it only runs where a
// CUDA device exists (Placement checks that).
#pragma once

#include <ATen/ATen.h>
#include <c10/core/Event.h>
#include <c10/core/Stream.h>

#include <functional>
#include <memory>
#include <vector>

#include "io/checkpoint.h"

namespace fw {

class DeviceStream {
 public:
  explicit DeviceStream(const at::Device &device);
  ~DeviceStream();
  DeviceStream(const DeviceStream &) = delete;
  DeviceStream &operator=(const DeviceStream &) = delete;

  // For every vertex that streams ranges: (*inner)[v] = <g, x_v> and, when `cosine`,
  // (*sq_norm)[v] = <x_v, x_v>, over tensor `meta`; g is the flat gradient on the device. Other
  // vertices are left alone. `poll` runs before each chunk.
  void inner_products(const std::vector<const Checkpoint *> &vertices, const TensorMeta &meta,
                      const at::Tensor &g, bool cosine, std::vector<double> *inner,
                      std::vector<double> *sq_norm, const std::function<void()> &poll);

  // Bytes per chunk (each of the two pinned buffers and device buffers).
  static constexpr int64_t kChunkBytes = int64_t{32} << 20;

 private:
  void wait_until_copied(int slot);

  at::Device device_;
  c10::Stream stream_;
  at::Tensor pinned_[2], staging_[2];  // raw bytes: host (pinned) and device
  std::unique_ptr<c10::Event> copied_[2];
  bool in_flight_[2] = {false, false};
};

}  // namespace fw
