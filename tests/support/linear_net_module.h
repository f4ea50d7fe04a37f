// A tiny TorchScript module for tests of the built-in objective, built in C++ (no Python):
// logits = x W^T + b through a submodule "fc" (fc.weight [2, 2], fc.bias [2], zero-initialized);
// "doubled" returns 2 * logits. Used by tests/data and the Rust tests' fixture program.
#pragma once

#include <torch/script.h>

#include <string>

namespace fwtest {

inline void save_linear_net(const std::string &path) {
  torch::jit::Module fc("Linear");
  fc.register_parameter("weight", at::zeros({2, 2}), false);
  fc.register_parameter("bias", at::zeros({2}), false);
  fc.define(R"(
def forward(self, x):
    return torch.matmul(x, self.weight.t()) + self.bias
)");
  torch::jit::Module net("Net");
  net.register_module("fc", fc);
  net.define(R"(
def forward(self, x):
    return self.fc.forward(x)
def doubled(self, x):
    return 2.0 * self.fc.forward(x)
)");
  net.save(path);
}

}  // namespace fwtest
