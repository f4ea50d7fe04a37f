// Writes DIR/net.pt, a TorchScript module for the Rust tests of the built-in objective (Rust cannot
// write one): logits = x W^T + b through a submodule "fc" (parameters fc.weight [2, 2], fc.bias
// [2]).
#include <torch/script.h>

#include <cstdio>
#include <string>

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
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
)");
  net.save(std::string(argv[1]) + "/net.pt");
  return 0;
}
