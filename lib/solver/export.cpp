#include "solver/export.h"

#include <vector>

#include "io/hf_folder.h"
#include "io/safetensors_writer.h"
#include "util/error.h"

namespace fw {

std::map<std::string, std::string> export_metadata(const std::string &recipe,
                                                   const std::string &history) {
  std::map<std::string, std::string> metadata{{"format", "pt"}, {"fwmerge.recipe", recipe}};
  if (!history.empty()) metadata["fwmerge.history"] = history;
  metadata["fwmerge.version"] = FW_VERSION_STRING;
  return metadata;
}

void export_iterate(const Solver &solver, const std::string &path, fw_dtype dtype,
                    OutputLayout layout) {
  if (dtype != FW_DTYPE_DEFAULT && dtype != FW_DTYPE_F32 && dtype != FW_DTYPE_F16 &&
      dtype != FW_DTYPE_BF16)
    fail(FW_ERR_INVALID_ARGUMENT, "export dtype must be FW_DTYPE_DEFAULT, F32, F16 or BF16");
  const auto &metas = solver.tensors();
  const auto &theta = solver.theta();
  std::vector<at::Tensor> converted;  // keeps the converted bytes alive while writing
  std::vector<OutTensor> out;
  converted.reserve(metas.size());
  const Poll stop = [&solver] { solver.poll_abort(); };
  for (size_t t = 0; t < metas.size(); ++t) {
    poll(stop);
    const DType target = dtype == FW_DTYPE_DEFAULT ? metas[t].dtype : from_public(dtype);
    converted.push_back(theta[t].to(at::kCPU, to_scalar_type(target)).contiguous());
    const at::Tensor &c = converted.back();
    out.push_back({metas[t].name, target, metas[t].shape, c.data_ptr(),
                   static_cast<uint64_t>(c.numel()) * c.element_size()});
  }
  // Tensors outside the filter: as the base has them (in the export dtype when one is given).
  if (!solver.filter().empty()) {
    const Checkpoint &whole = solver.unfiltered_base();
    for (const TensorMeta &meta : whole.tensors()) {
      if (solver.filter().selects(meta.name)) continue;
      poll(stop);
      const DType target = dtype == FW_DTYPE_DEFAULT ? meta.dtype : from_public(dtype);
      converted.push_back(whole.load_f32(meta.name).to(to_scalar_type(target)).contiguous());
      const at::Tensor &c = converted.back();
      out.push_back({meta.name, target, meta.shape, c.data_ptr(),
                     static_cast<uint64_t>(c.numel()) * c.element_size()});
    }
  }
  const std::string recipe = solver.recipe_json();
  const auto metadata = export_metadata(recipe, solver.history_json());
  if (solver.has_base()) layout.base_path = solver.unfiltered_base().path();
  const TensorProducer from_memory = [&out](size_t t, const ByteEmitter &emit) {
    emit(out[t].data, out[t].nbytes);
  };
  write_output(path, out, metadata, from_memory, stop, layout, [&] {
    return default_model_card(
        layout.base_path,
        "Frank-Wolfe merging (" + std::to_string(solver.history().size()) + " steps)", recipe);
  });
}

}  // namespace fw
