/*
 * Small accessors SWIG cannot express on its own: indexing into C arrays, and calls with
 * out-pointers (fw_solver **, const fw_tensor **) turned into boxes the host allocates.
 * Header-only for the same reason as fw_objective_director.h.
 */
#ifndef FW_SWIG_HELPERS_H
#define FW_SWIG_HELPERS_H

#include <cstring>
#include <string>
#include <vector>

#include "fw_objective_director.h"
#include "fwmerge.h"

namespace fwswig {

/* Receives a solver handle from solver_new(). */
struct SolverBox {
  fw_solver *handle = nullptr;
};

/* An array of tensor views owned by the library (fw_solver_current). */
struct TensorArray {
  const fw_tensor *items = nullptr;
  size_t n = 0;
};

/* A tensor's bytes as (address, length), so each host can build its own no-copy view. */
struct Bytes {
  void *data = nullptr;
  int64_t size = 0;
};

inline fw_status solver_new(const fw_params *params, SolverBox *out) {
  if (out == nullptr) return fw_solver_new(params, nullptr);
  return fw_solver_new(params, &out->handle);
}

inline fw_status current(const fw_solver *solver, TensorArray *out) {
  if (out == nullptr) return fw_solver_current(solver, nullptr, nullptr);
  return fw_solver_current(solver, &out->items, &out->n);
}

/* Element i of an array of n views (the caller checks i < n). */
inline const fw_tensor *tensor_at(const fw_tensor *array, size_t i) { return array + i; }
inline fw_tensor *grad_at(fw_tensor *array, size_t i) { return array + i; }

inline int64_t shape_at(const fw_tensor *tensor, int32_t dim) { return tensor->shape[dim]; }

/* fp32 data of a view: numel * 4 bytes. */
inline Bytes tensor_bytes(const fw_tensor *tensor) {
  Bytes b;
  b.data = tensor->data;
  b.size = tensor->numel * static_cast<int64_t>(sizeof(float));
  return b;
}

/* chosen/lambdas of a step info: n_blocks * k entries. */
inline int32_t chosen_at(const fw_step_info *info, int32_t i) { return info->chosen[i]; }
inline double lambda_at(const fw_step_info *info, int32_t i) { return info->lambdas[i]; }

/* The output structs' sizes as compiled into the binding (their struct_size, see "Versioned
 * structs" in fwmerge.h): a host sets them before each call that fills the struct. */
inline uint32_t step_info_size() { return static_cast<uint32_t>(sizeof(fw_step_info)); }
inline uint32_t request_size() { return static_cast<uint32_t>(sizeof(fw_request)); }

/* The header's version number as compiled into the binding, to compare with the loaded
 * library's fw_version_number() (same major.minor, and a patch level at least the header's). */
inline unsigned header_version_number() { return FW_VERSION_NUMBER; }

/* ---- host-built lists that own their strings and numbers (the library reads them during one
 * call only) ---- */

class StringList {
 public:
  void add(const char *s) { items_.emplace_back(s ? s : ""); }
  int64_t size() const { return static_cast<int64_t>(items_.size()); }
  /* NUL-terminated pointers into the list, valid while it is unchanged. */
  std::vector<const char *> pointers() const {
    std::vector<const char *> out;
    for (const std::string &s : items_) out.push_back(s.c_str());
    return out;
  }

 private:
  std::vector<std::string> items_;
};

class DoubleList {
 public:
  void add(double v) { items_.push_back(v); }
  int64_t size() const { return static_cast<int64_t>(items_.size()); }
  const double *data() const { return items_.data(); }

 private:
  std::vector<double> items_;
};

/* ---- tensor filters (fw_params / fw_merge_params include_tensors, exclude_tensors) ---- */

/* The include and exclude globs, owned by the host's object: a struct set from it points into it,
 * so it must outlive the call that reads the struct (fw_solver_new / fw_solver_set_params copy the
 * patterns; fw_merge and the merge functions read them during the call). */
class TensorFilters {
 public:
  void add_include(const char *pattern) { include_.add(pattern); }
  void add_exclude(const char *pattern) { exclude_.add(pattern); }

  /* Points a struct's four filter fields at this object's strings (NULL / 0 when a list is empty:
   * the library's "every tensor"). */
  void point(const char *const **include, size_t *n_include, const char *const **exclude,
             size_t *n_exclude) {
    include_ptrs_ = include_.pointers();
    exclude_ptrs_ = exclude_.pointers();
    *include = include_ptrs_.empty() ? nullptr : include_ptrs_.data();
    *n_include = include_ptrs_.size();
    *exclude = exclude_ptrs_.empty() ? nullptr : exclude_ptrs_.data();
    *n_exclude = exclude_ptrs_.size();
  }

 private:
  StringList include_, exclude_;
  std::vector<const char *> include_ptrs_, exclude_ptrs_;
};

/* fw_params and fw_merge_params name their filter fields alike. filters NULL: no filter (every
 * tensor). */
template <typename Params>
void set_filters(Params *params, TensorFilters *filters) {
  if (filters == nullptr) {
    params->include_tensors = params->exclude_tensors = nullptr;
    params->n_include_tensors = params->n_exclude_tensors = 0;
    return;
  }
  filters->point(&params->include_tensors, &params->n_include_tensors, &params->exclude_tensors,
                 &params->n_exclude_tensors);
}

/* One wrapper per struct for SWIG, which does not wrap the template. */
inline void params_set_filters(fw_params *params, TensorFilters *filters) {
  set_filters(params, filters);
}

inline void merge_params_set_filters(fw_merge_params *params, TensorFilters *filters) {
  set_filters(params, filters);
}

/* ---- per-tensor merge values (fw_merge_params.overrides, 0.3.2) ---- */

/* The overrides, owned by the host's object (their globs included): a struct set from it points
 * into it, so it must outlive the call that reads the struct. An empty tensors glob means every
 * tensor (NULL in the C struct). */
class MergeOverrides {
 public:
  void add(const char *tensors, int64_t member, fw_merge_field field, double value) {
    entries_.push_back({tensors ? tensors : "", member, field, value});
  }
  int64_t size() const { return static_cast<int64_t>(entries_.size()); }

  void point(const fw_merge_override **overrides, size_t *n) {
    raw_.clear();
    for (const Entry &e : entries_) {
      fw_merge_override o;
      std::memset(&o, 0, sizeof o);
      o.tensors = e.tensors.empty() ? nullptr : e.tensors.c_str();
      o.member = e.member;
      o.field = e.field;
      o.value = e.value;
      raw_.push_back(o);
    }
    *overrides = raw_.empty() ? nullptr : raw_.data();
    *n = raw_.size();
  }

 private:
  struct Entry {
    std::string tensors;
    int64_t member;
    fw_merge_field field;
    double value;
  };
  std::vector<Entry> entries_;
  std::vector<fw_merge_override> raw_;
};

/* overrides NULL: none. */
inline void merge_params_set_overrides(fw_merge_params *params, MergeOverrides *overrides) {
  if (overrides == nullptr) {
    params->overrides = nullptr;
    params->n_overrides = 0;
    return;
  }
  overrides->point(&params->overrides, &params->n_overrides);
}

/* ---- the model card of a Hugging Face folder export (fw_export_options.model_card, 0.3.2) ---- */

/* The README.md text, owned by the host's object: a struct set from it points into it, so it must
 * outlive the call that reads the struct (fw_solver_export, fw_merge). Set from bytes and a length
 * (Go: a string, Java: its UTF-8 bytes), so the text reaches the file byte for byte; the host
 * layers reject NUL bytes (the C field is a NUL-terminated string). */
class ModelCard {
 public:
  void assign(char *text, size_t n) { text_.assign(text ? text : "", text ? n : 0); }
  int64_t size() const { return static_cast<int64_t>(text_.size()); }
  const char *c_str() const { return text_.c_str(); }

 private:
  std::string text_;
};

/* card NULL: the library's own card (NULL in the C struct). */
inline void export_options_set_model_card(fw_export_options *opts, const ModelCard *card) {
  opts->model_card = card ? card->c_str() : nullptr;
}

/* ---- data-free merging (fw_merge_params' arrays and abort hook are set here, not by the host) */

/* Points the per-member arrays of params at the lists (NULL list: NULL, every member uses the
 * scalar field). The lists must outlive the call that reads params. */
inline void merge_params_set_arrays(fw_merge_params *params, const DoubleList *weights,
                                    const DoubleList *densities, const DoubleList *betas) {
  params->weights = weights ? weights->data() : nullptr;
  params->densities = densities ? densities->data() : nullptr;
  params->betas = betas ? betas->data() : nullptr;
}

/* 0.5.0: DELLA's per-member epsilons (fw_merge_params v8), as merge_params_set_arrays (NULL list:
 * NULL, every member uses epsilon). The list must outlive the call that reads params. */
inline void merge_params_set_epsilons(fw_merge_params *params, const DoubleList *epsilons) {
  params->epsilons = epsilons ? epsilons->data() : nullptr;
}

/* fw_merge over a list of pool paths; abort (may be NULL) is polled before each tensor through
 * Hooks::abort. params is copied, so the host's struct keeps its own abort fields. */
inline fw_status merge(const fw_merge_params *params, const char *base_path, const StringList *pool,
                       const char *out_path, const fw_export_options *opts, Hooks *abort) {
  fw_merge_params copy = params ? *params : fw_default_merge_params(FW_MERGE_METHOD_LINEAR);
  copy.abort = abort ? abort_trampoline : nullptr;
  copy.abort_user_data = abort;
  std::vector<const char *> paths;
  if (pool) paths = pool->pointers();
  return fw_merge(&copy, base_path, paths.empty() ? nullptr : paths.data(), paths.size(), out_path,
                  opts);
}

/* ---- the built-in TorchScript objective ---- */

/* Terms and the parameter map of fw_torchscript_objective, owned by the host's object. An empty
 * method means "forward", an empty labels name prediction entropy (NULL in the C struct); no
 * add_param call leaves param_map NULL (parameters matched by name). */
class TorchScriptSpec {
 public:
  void add_term(const char *method, const char *inputs, const char *labels, double weight) {
    terms_.push_back({method ? method : "", inputs ? inputs : "", labels ? labels : "", weight});
  }
  void add_param(const char *module_name, const char *base_name) {
    map_.add(module_name);
    map_.add(base_name);
  }

  fw_status install(fw_solver *solver, const char *module_path,
                    const char *calibration_path) const {
    std::vector<fw_objective_term> terms;
    for (const Term &t : terms_) {
      fw_objective_term raw;
      std::memset(&raw, 0, sizeof raw);
      raw.method = t.method.empty() ? nullptr : t.method.c_str();
      raw.inputs = t.inputs.c_str();
      raw.labels = t.labels.empty() ? nullptr : t.labels.c_str();
      raw.weight = t.weight;
      terms.push_back(raw);
    }
    const std::vector<const char *> map = map_.pointers();
    fw_torchscript_objective objective = fw_default_torchscript_objective();
    objective.module_path = module_path;
    objective.calibration_path = calibration_path;
    objective.param_map = map.empty() ? nullptr : map.data();
    objective.n_param_map = map.size() / 2;
    objective.terms = terms.empty() ? nullptr : terms.data();
    objective.n_terms = terms.size();
    return fw_solver_set_objective_torchscript(solver, &objective);
  }

 private:
  struct Term {
    std::string method, inputs, labels;
    double weight;
  };
  std::vector<Term> terms_;
  StringList map_;
};

inline fw_status set_objective_torchscript(fw_solver *solver, const char *module_path,
                                           const char *calibration_path,
                                           const TorchScriptSpec *spec) {
  if (spec == nullptr) {
    TorchScriptSpec empty;
    return empty.install(solver, module_path, calibration_path);
  }
  return spec->install(solver, module_path, calibration_path);
}

/* ---- writing tensors (fw_save_tensors) ---- */

/* Host-built tensors: add() a tensor, add_dim() its shape, then fill the (zeroed, 8-byte aligned)
 * storage that alloc_data / alloc_data_address returns with its little-endian bytes. The host
 * layers check that the byte count matches the shape and dtype before saving (the library trusts
 * numel). */
class TensorList {
 public:
  void add(const char *name, fw_dtype dtype) {
    Entry e;
    e.name = name ? name : "";
    e.dtype = dtype;
    entries_.push_back(std::move(e));
  }
  /* Appends a dimension to the last tensor. */
  void add_dim(int64_t d) {
    if (!entries_.empty()) entries_.back().shape.push_back(d);
  }
  /* Storage of nbytes for the last tensor's data (Java: a direct ByteBuffer). */
  Bytes alloc_data(int64_t nbytes) {
    Bytes b;
    b.data = alloc(nbytes);
    b.size = nbytes;
    return b;
  }
  /* The same as an address (Go). */
  void *alloc_data_address(int64_t nbytes) { return alloc(nbytes); }
  void add_metadata(const char *key, const char *value) {
    metadata_.add(key);
    metadata_.add(value);
  }

  fw_status save(const char *path, fw_dtype dtype) const {
    std::vector<fw_tensor> raw;
    for (const Entry &e : entries_) {
      fw_tensor t;
      std::memset(&t, 0, sizeof t);
      t.name = e.name.c_str();
      t.dtype = e.dtype;
      t.ndim = static_cast<int32_t>(e.shape.size());
      t.shape = e.shape.empty() ? nullptr : e.shape.data();
      int64_t numel = 1;
      for (int64_t d : e.shape) numel *= d;
      t.numel = numel;
      t.data = const_cast<uint64_t *>(e.storage.data());
      t.device = FW_DEVICE_TYPE_CPU;
      raw.push_back(t);
    }
    const std::vector<const char *> kv = metadata_.pointers();
    return fw_save_tensors(path, raw.empty() ? nullptr : raw.data(), raw.size(), dtype,
                           kv.empty() ? nullptr : kv.data(), kv.size() / 2);
  }

 private:
  void *alloc(int64_t nbytes) {
    if (entries_.empty() || nbytes < 0) return nullptr;
    std::vector<uint64_t> &s = entries_.back().storage;
    s.assign(static_cast<size_t>((nbytes + 7) / 8), 0);
    return s.empty() ? nullptr : s.data();
  }
  struct Entry {
    std::string name;
    fw_dtype dtype = FW_DTYPE_F32;
    std::vector<int64_t> shape;
    std::vector<uint64_t> storage;
  };
  std::vector<Entry> entries_;
  StringList metadata_;
};

inline fw_status save_tensors(const char *path, const TensorList *tensors, fw_dtype dtype) {
  if (tensors == nullptr) {
    TensorList empty;
    return empty.save(path, dtype);
  }
  return tensors->save(path, dtype);
}

/* ---- reading tensors (fw_load_tensors) ---- */

/* Receives a tensor set from load_tensors(); free it with fw_tensor_set_free. */
struct TensorSetBox {
  fw_tensor_set *handle = nullptr;
};

inline fw_status load_tensors(const char *path, uint32_t flags, TensorSetBox *out) {
  if (out == nullptr) return fw_load_tensors(path, flags, nullptr);
  return fw_load_tensors(path, flags, &out->handle);
}

/* Receives metadata entry i of a tensor set. */
struct MetadataEntry {
  const char *key = nullptr;
  const char *value = nullptr;
};

inline fw_status tensor_set_metadata(const fw_tensor_set *set, size_t i, MetadataEntry *out) {
  if (out == nullptr) return fw_tensor_set_metadata(set, i, nullptr, nullptr);
  return fw_tensor_set_metadata(set, i, &out->key, &out->value);
}

/* nbytes of a view's data (any dtype; Java: a direct ByteBuffer, empty for NULL data). */
inline Bytes raw_bytes(const fw_tensor *tensor, int64_t nbytes) {
  Bytes b;
  b.data = tensor->data;
  b.size = tensor->data ? nbytes : 0;
  return b;
}

}  // namespace fwswig

#endif /* FW_SWIG_HELPERS_H */
