#include "objective/torchscript_objective.h"

#include <map>
#include <memory>

#include "io/read_only_file.h"
#include "io/safetensors_reader.h"
#include "util/error.h"

namespace fw {
namespace {

std::string shape_text(at::IntArrayRef shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// Walks "a.b.c" to the submodule holding attribute "c".
bool resolve(const torch::jit::Module &root, const std::string &name, torch::jit::Module *owner,
             std::string *attribute) {
  torch::jit::Module m = root;
  size_t begin = 0;
  for (size_t dot = name.find('.'); dot != std::string::npos; dot = name.find('.', begin)) {
    const std::string part = name.substr(begin, dot - begin);
    if (!m.hasattr(part) || !m.attr(part).isModule()) return false;
    m = m.attr(part).toModule();
    begin = dot + 1;
  }
  *attribute = name.substr(begin);
  *owner = m;
  return m.hasattr(*attribute) && m.attr(*attribute).isTensor();
}

at::Tensor load_calibration(const SafetensorsFile &file, const std::string &name, bool labels) {
  const TensorEntry *e = file.find(name);
  if (!e)
    fail(Status::InvalidArgument,
         "calibration file " + file.path() + " has no tensor \"" + name + "\"");
  at::ScalarType type;
  switch (e->dtype) {
    case DType::F32:
      type = at::kFloat;
      break;
    case DType::F16:
      type = at::kHalf;
      break;
    case DType::BF16:
      type = at::kBFloat16;
      break;
    case DType::I64:
      type = at::kLong;
      break;
    case DType::I32:
      type = at::kInt;
      break;
    case DType::U8:
      type = at::kByte;
      break;
    default:
      fail(Status::Unsupported, "calibration tensor \"" + name + "\" has dtype " +
                                    dtype_name(e->dtype) +
                                    " (F32/F16/BF16 inputs, I64/I32/U8 labels)");
  }
  const bool integral = type == at::kLong || type == at::kInt || type == at::kByte;
  if (labels != integral)
    fail(Status::Unsupported, "calibration tensor \"" + name + "\": " +
                                  (labels ? "labels must be integers" : "inputs must be floats") +
                                  ", got " + dtype_name(e->dtype));
  const at::Tensor raw = file.read_tensor(*e, type);  // fresh memory, kept for the solver's life
  return labels ? raw.to(at::kLong) : raw.to(at::kFloat);
}

}  // namespace

TorchScriptObjective::TorchScriptObjective(const TorchScriptObjectiveSpec &spec,
                                           const std::vector<TensorMeta> &base) {
  // A regular file, checked without blocking: torch::jit::load would wait forever in open() on a
  // FIFO (ReadOnlyFile refuses it, and anything else that is not a file).
  try {
    ReadOnlyFile::open(spec.module_path);
  } catch (const Error &e) {
    fail(Status::Io, "cannot open TorchScript module " + spec.module_path + " (" + e.what() + ")");
  }
  try {
    module_ = torch::jit::load(spec.module_path);
  } catch (const c10::Error &e) {
    fail_format("torchscript", spec.module_path + ": " + e.what_without_backtrace());
  }
  module_.eval();

  std::map<std::string, size_t> base_index;
  for (size_t i = 0; i < base.size(); ++i) base_index[base[i].name] = i;
  std::vector<std::pair<std::string, std::string>> map = spec.param_map;
  if (map.empty()) {
    for (const auto &p : module_.named_parameters(/*recurse=*/true))
      if (base_index.count(p.name)) map.emplace_back(p.name, p.name);
    if (map.empty())
      fail(Status::NameMismatch, "no parameter of " + spec.module_path +
                                     " is named like a base tensor; give a parameter map");
  }
  for (const auto &[param, tensor] : map) {
    Binding b;
    if (!resolve(module_, param, &b.owner, &b.attribute))
      fail(Status::InvalidArgument, "the module has no tensor attribute \"" + param + "\"");
    const auto it = base_index.find(tensor);
    if (it == base_index.end())
      fail(Status::NameMismatch, "parameter map names \"" + tensor + "\", not a base tensor");
    b.base_index = it->second;
    const at::Tensor current = b.owner.attr(b.attribute).toTensor();
    if (current.sizes().vec() != base[it->second].shape)
      fail(Status::ShapeMismatch, "module parameter \"" + param + "\" is " +
                                      shape_text(current.sizes()) + ", base tensor \"" + tensor +
                                      "\" is " + shape_text(base[it->second].shape));
    bindings_.push_back(b);
  }

  if (spec.terms.empty()) fail(Status::InvalidArgument, "the objective has no terms");
  const std::unique_ptr<SafetensorsFile> calib = SafetensorsFile::open(spec.calibration_path);
  for (const ObjectiveTerm &t : spec.terms) {
    if (!(t.weight > 0) || !std::isfinite(t.weight))
      fail(Status::InvalidArgument, "term weights must be finite and > 0");
    if (!module_.find_method(t.method))
      fail(Status::InvalidArgument, "the module has no method \"" + t.method + "\"");
    Term term{t.method, load_calibration(*calib, t.inputs, false), at::Tensor(), t.weight};
    if (term.inputs.dim() < 1 || term.inputs.size(0) < 1)
      fail(Status::ShapeMismatch, "calibration inputs \"" + t.inputs + "\" hold no samples");
    if (!t.labels.empty()) {
      term.labels = load_calibration(*calib, t.labels, true);
      if (term.labels.dim() != 1 || term.labels.size(0) != term.inputs.size(0))
        fail(Status::ShapeMismatch, "labels \"" + t.labels + "\" " +
                                        shape_text(term.labels.sizes()) + " do not match inputs " +
                                        shape_text(term.inputs.sizes()));
    }
    weight_sum_ += t.weight;
    terms_.push_back(term);
  }
}

double TorchScriptObjective::evaluate(const std::vector<at::Tensor> &point,
                                      std::vector<at::Tensor> *grad) {
  return run(point, grad, -1);
}

double TorchScriptObjective::evaluate_term(int term, const std::vector<at::Tensor> &point,
                                           std::vector<at::Tensor> *grad) {
  if (term < 0 || term >= n_terms())
    fail(Status::Internal,
         "term " + std::to_string(term) + " of a " + std::to_string(n_terms()) + "-term objective");
  return run(point, grad, term);
}

// only < 0: every term; else that term alone, w_term term / sum_i w_i (the terms add up to the
// whole objective).
double TorchScriptObjective::run(const std::vector<at::Tensor> &point,
                                 std::vector<at::Tensor> *grad, int only) {
  const bool need_grad = grad != nullptr;
  c10::AutoGradMode mode(need_grad);
  std::vector<at::Tensor> leaves;
  // The module runs where the solver keeps the point (fw_params.device): moved there once.
  if (!point.empty() && point.front().device() != device_) {
    device_ = point.front().device();
    module_.to(device_);
    for (Term &t : terms_) {
      t.inputs = t.inputs.to(device_);
      if (t.labels.defined()) t.labels = t.labels.to(device_);
    }
  }
  for (Binding &b : bindings_) {
    // the point itself, no copy in fp32; a fresh leaf so gradients land in leaves[i].grad(). A
    // bf16/f16 working copy is evaluated in fp32 (one converted copy per evaluation).
    at::Tensor leaf = point[b.base_index].detach();
    if (leaf.scalar_type() != at::kFloat) leaf = leaf.to(at::kFloat);
    if (need_grad) leaf.requires_grad_(true);
    b.owner.setattr(b.attribute, leaf);
    leaves.push_back(leaf);
  }
  at::Tensor total;
  for (size_t i = 0; i < terms_.size(); ++i) {
    if (only >= 0 && static_cast<size_t>(only) != i) continue;
    const Term &t = terms_[i];
    const at::Tensor logits = module_.get_method(t.method)({t.inputs}).toTensor();
    if (logits.dim() != 2 || logits.size(0) != t.inputs.size(0))
      fail(Status::ShapeMismatch, "method \"" + t.method + "\" returned " +
                                      shape_text(logits.sizes()) + ", expected [N, classes]");
    at::Tensor term;
    if (t.labels.defined()) {
      if (t.labels.min().item<int64_t>() < 0 || t.labels.max().item<int64_t>() >= logits.size(1))
        fail(Status::InvalidArgument, "a label of method \"" + t.method + "\" is outside [0, " +
                                          std::to_string(logits.size(1)) + ")");
      term = at::cross_entropy_loss(logits, t.labels);
    } else {
      const at::Tensor logp = at::log_softmax(logits, 1);
      term = -(logp.exp() * logp).sum(1).mean();
    }
    total = total.defined() ? total + term * t.weight : term * t.weight;
  }
  total = total / weight_sum_;
  if (need_grad) {
    total.backward();
    for (size_t i = 0; i < bindings_.size(); ++i)
      if (leaves[i].grad().defined()) (*grad)[bindings_[i].base_index].add_(leaves[i].grad());
  }
  return total.item<double>();
}

}  // namespace fw
