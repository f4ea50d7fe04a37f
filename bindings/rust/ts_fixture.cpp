// Writes DIR/net.pt, the TorchScript module of tests/support/linear_net_module.h, for the Rust
// tests of the built-in objective (Rust cannot write one).
#include <cstdio>
#include <string>

#include "linear_net_module.h"

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  fwtest::save_linear_net(std::string(argv[1]) + "/net.pt");
  return 0;
}
