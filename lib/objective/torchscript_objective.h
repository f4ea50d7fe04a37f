// Built-in objective: a TorchScript module evaluated on calibration tensors. The solver's point is
// written into the module's parameters (by a name map), each term runs one of the module's methods
// on its inputs and scores the logits: cross-entropy with labels, or prediction entropy without
// (the AdaMerging setting). Loss = sum_i w_i term_i / sum_i w_i; gradients through autograd.
#pragma once

#include <torch/script.h>

#include <string>
#include <utility>
#include <vector>

#include "io/checkpoint.h"
#include "solver/evaluator.h"

namespace fw {

struct ObjectiveTerm {
  std::string method = "forward";  // module method: inputs -> logits [N, C]
  std::string inputs;              // tensor name in the calibration file
  std::string labels;              // empty: prediction entropy
  double weight = 1.0;
};

struct TorchScriptObjectiveSpec {
  std::string module_path;
  std::string calibration_path;
  // (module parameter name, base tensor name); empty: every module parameter whose name is a base
  // tensor name
  std::vector<std::pair<std::string, std::string>> param_map;
  std::vector<ObjectiveTerm> terms;
};

class TorchScriptObjective : public Evaluator {
 public:
  // Loads and validates everything against the base's tensors (names, shapes). Throws fw::Error:
  // Status::Io (missing file), Status::Format ("[torchscript]" unreadable module, calibration file
  // defects), Status::InvalidArgument (unknown method/parameter/calibration tensor, bad weight,
  // empty map), Status::NameMismatch (mapped name not in the base), Status::ShapeMismatch,
  // Status::Unsupported (input or label dtype).
  TorchScriptObjective(const TorchScriptObjectiveSpec &spec, const std::vector<TensorMeta> &base);

  double evaluate(const std::vector<at::Tensor> &point, std::vector<at::Tensor> *grad) override;
  // One term per fw_objective_term, in their order.
  int n_terms() const override { return static_cast<int>(terms_.size()); }
  double evaluate_term(int term, const std::vector<at::Tensor> &point,
                       std::vector<at::Tensor> *grad) override;

 private:
  double run(const std::vector<at::Tensor> &point, std::vector<at::Tensor> *grad, int only);
  struct Binding {
    torch::jit::Module owner;  // the submodule holding the parameter
    std::string attribute;     // its last name part
    size_t base_index;         // index into the point
  };
  struct Term {
    std::string method;
    at::Tensor inputs, labels;  // labels undefined: entropy
    double weight;
  };
  torch::jit::Module module_;
  std::vector<Binding> bindings_;
  std::vector<Term> terms_;
  at::Device device_ = at::Device(at::kCPU);  // where the module and calibration tensors are
  double weight_sum_ = 0;
};

}  // namespace fw
