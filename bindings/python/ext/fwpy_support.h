/*
 * The Python C API glue of the fwmerge extension: what SWIG cannot express on its own.
 *  - fwmerge.Error raised straight from a failed call, with the text of fw_last_error() read
 *    right after the call (nothing runs on this thread in between).
 *  - Views: each fw_tensor becomes (name, dtype, shape, device, device_index, memoryview); the
 *    memoryview is over the library's memory (no copy), and fwmerge._views turns it into a NumPy
 *    array with np.frombuffer (no copy either).
 *  - C trampolines for the objective and the hooks. They run while the GIL is released (SWIG's
 *    -threads releases it around every library call), so each takes it back first.
 *  - Calls with arrays of strings/doubles/buffers (save_tensors, merge, TorchScript terms).
 * Included by the SWIG wrapper (Python.h comes first there).
 */
#ifndef FWPY_SUPPORT_H
#define FWPY_SUPPORT_H

#include <Python.h>
#include <dlfcn.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "fwmerge.h"

namespace fwpy {

/* An owned reference, released on scope exit (every early return stays balanced). */
class Ref {
 public:
  explicit Ref(PyObject *object = nullptr) : object_(object) {}
  Ref(const Ref &) = delete;
  Ref &operator=(const Ref &) = delete;
  ~Ref() { Py_XDECREF(object_); }
  PyObject *get() const { return object_; }
  void reset(PyObject *object) {
    Py_XDECREF(object_);
    object_ = object;
  }
  PyObject *release() {
    PyObject *object = object_;
    object_ = nullptr;
    return object;
  }
  explicit operator bool() const { return object_ != nullptr; }

 private:
  PyObject *object_;
};

/* fwmerge.Error, registered by the package at import (fwpy_set_error_class). */
inline PyObject *&error_class() {
  static PyObject *cls = nullptr;
  return cls;
}

/* Sets fwmerge.Error(status, message) as the current Python exception. */
inline void raise_error(fw_status status, const std::string &message) {
  PyObject *cls = error_class();
  if (cls == nullptr) {
    PyErr_Format(PyExc_RuntimeError, "%s: %s", fw_status_name(status), message.c_str());
    return;
  }
  Ref text(
      PyUnicode_DecodeUTF8(message.data(), static_cast<Py_ssize_t>(message.size()), "replace"));
  if (!text) return;
  Ref error(PyObject_CallFunction(cls, "iO", static_cast<int>(status), text.get()));
  if (!error) return;
  PyErr_SetObject(reinterpret_cast<PyObject *>(Py_TYPE(error.get())), error.get());
}

/* The error of a call that just returned `status`: the message is copied first, as building the
 * exception runs Python code. */
inline void raise_status(fw_status status) {
  const char *text = fw_last_error();
  raise_error(status, text ? text : "");
}

/* Bytes per element of a fw_dtype; 0 for FW_DTYPE_DEFAULT or a value outside the enum. */
inline size_t element_size(fw_dtype dtype) {
  switch (dtype) {
    case FW_DTYPE_F64:
    case FW_DTYPE_I64:
    case FW_DTYPE_U64:
      return 8;
    case FW_DTYPE_F32:
    case FW_DTYPE_I32:
    case FW_DTYPE_U32:
      return 4;
    case FW_DTYPE_F16:
    case FW_DTYPE_BF16:
    case FW_DTYPE_I16:
    case FW_DTYPE_U16:
      return 2;
    case FW_DTYPE_I8:
    case FW_DTYPE_U8:
    case FW_DTYPE_BOOL:
      return 1;
    default:
      return 0;
  }
}

inline PyObject *decode(const char *text) {
  if (text == nullptr) return PyUnicode_FromString("");
  return PyUnicode_DecodeUTF8(text, static_cast<Py_ssize_t>(std::strlen(text)), "replace");
}

/* (name, dtype, shape, device, device_index, data). data is a memoryview of the tensor's bytes
 * for host memory (read-only unless writable), or the device address as an int. */
inline PyObject *view(const fw_tensor &t, bool writable) {
  Ref name(decode(t.name));
  Ref shape(PyTuple_New(t.ndim > 0 ? t.ndim : 0));
  if (!name || !shape) return nullptr;
  for (int32_t d = 0; d < t.ndim; ++d) {
    PyObject *extent = PyLong_FromLongLong(t.shape[d]);
    if (extent == nullptr) return nullptr;
    PyTuple_SET_ITEM(shape.get(), d, extent);
  }
  Ref data;
  if (t.device != FW_DEVICE_TYPE_CPU) {
    data.reset(PyLong_FromVoidPtr(t.data));
  } else if (t.data == nullptr || t.numel <= 0) {
    data.reset(PyBytes_FromStringAndSize(nullptr, 0));  // np.frombuffer of b"" is empty
  } else {
    data.reset(PyMemoryView_FromMemory(
        static_cast<char *>(t.data),
        static_cast<Py_ssize_t>(t.numel) * static_cast<Py_ssize_t>(element_size(t.dtype)),
        writable ? PyBUF_WRITE : PyBUF_READ));
  }
  if (!data) return nullptr;
  return Py_BuildValue("(OiOiiO)", name.get(), static_cast<int>(t.dtype), shape.get(),
                       static_cast<int>(t.device), static_cast<int>(t.device_index), data.get());
}

inline PyObject *views(const fw_tensor *tensors, size_t n, bool writable) {
  Ref list(PyList_New(static_cast<Py_ssize_t>(n)));
  if (!list) return nullptr;
  for (size_t i = 0; i < n; ++i) {
    PyObject *item = view(tensors[i], writable);
    if (item == nullptr) return nullptr;
    PyList_SET_ITEM(list.get(), static_cast<Py_ssize_t>(i), item);
  }
  return list.release();
}

/* Sets d[key] = value, stealing value. */
inline bool put(PyObject *dict, const char *key, PyObject *value) {
  Ref owned(value);
  return owned && PyDict_SetItemString(dict, key, owned.get()) == 0;
}

/* A filled fw_step_info as a dict of its fields, arrays copied (they die at the next step).
 * Only the bytes the library wrote (struct_size) are read: fields past them keep their
 * defaults. */
inline PyObject *step_info(const fw_step_info *info) {
#define FWPY_HAS(field) \
  (offsetof(fw_step_info, field) + sizeof(info->field) <= static_cast<size_t>(info->struct_size))
  Ref d(PyDict_New());
  if (!d) return nullptr;
  const int32_t n_blocks = FWPY_HAS(n_blocks) ? info->n_blocks : 0;
  const int32_t k = FWPY_HAS(k) ? info->k : 0;
  const Py_ssize_t len = n_blocks > 0 && k > 0 ? static_cast<Py_ssize_t>(n_blocks) * k : 0;
  Ref chosen(PyTuple_New(FWPY_HAS(chosen) && info->chosen ? len : 0));
  Ref lambdas(PyTuple_New(FWPY_HAS(lambdas) && info->lambdas ? len : 0));
  if (!chosen || !lambdas) return nullptr;
  for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(chosen.get()); ++i) {
    PyObject *v = PyLong_FromLong(info->chosen[i]);
    if (v == nullptr) return nullptr;
    PyTuple_SET_ITEM(chosen.get(), i, v);
  }
  for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(lambdas.get()); ++i) {
    PyObject *v = PyFloat_FromDouble(info->lambdas[i]);
    if (v == nullptr) return nullptr;
    PyTuple_SET_ITEM(lambdas.get(), i, v);
  }
  const double nan = std::nan("");
  const bool has_after = FWPY_HAS(loss_after) && !std::isnan(info->loss_after);
  Ref loss_after(has_after ? PyFloat_FromDouble(info->loss_after) : (Py_INCREF(Py_None), Py_None));
  PyObject *o = d.get();
  if (!put(o, "iteration", PyLong_FromLong(FWPY_HAS(iteration) ? info->iteration : 0)) ||
      !put(o, "loss", PyFloat_FromDouble(FWPY_HAS(loss) ? info->loss : nan)) ||
      !put(o, "loss_after", loss_after.release()) ||
      !put(o, "gap", PyFloat_FromDouble(FWPY_HAS(gap) ? info->gap : nan)) ||
      !put(o, "gamma", PyFloat_FromDouble(FWPY_HAS(gamma) ? info->gamma : nan)) ||
      !put(o, "converged", PyBool_FromLong(FWPY_HAS(converged) && info->converged)) ||
      !put(o, "evaluations", PyLong_FromLong(FWPY_HAS(evaluations) ? info->evaluations : 0)) ||
      !put(o, "n_blocks", PyLong_FromLong(n_blocks)) || !put(o, "k", PyLong_FromLong(k)) ||
      !put(o, "chosen", chosen.release()) || !put(o, "lambdas", lambdas.release()) ||
      !put(o, "leaves_hull", PyBool_FromLong(FWPY_HAS(leaves_hull) && info->leaves_hull)))
    return nullptr;
  return d.release();
#undef FWPY_HAS
}

/* An ask/tell request: (done, need_gradient, params, grads or None, term). */
inline PyObject *request(const fw_request *r) {
  const long term = static_cast<long>(r->term);
  if (r->done) return Py_BuildValue("(OOOOl)", Py_True, Py_False, Py_None, Py_None, term);
  Ref params(views(r->params, r->n, false));
  if (!params) return nullptr;
  Ref grads;
  if (r->need_gradient && r->grads != nullptr) {
    grads.reset(views(r->grads, r->n, true));
    if (!grads) return nullptr;
  } else {
    Py_INCREF(Py_None);
    grads.reset(Py_None);
  }
  return Py_BuildValue("(OOOOl)", Py_False, r->need_gradient ? Py_True : Py_False, params.get(),
                       grads.get(), term);
}

/* Backstop for an exception that escaped the Python adapter of the objective (which normally
 * formats the traceback itself): its text becomes the callback's reason. */
inline void callback_error_from_exception() {
  PyObject *type, *value, *traceback;
  PyErr_Fetch(&type, &value, &traceback);
  Ref t(type), v(value), tb(traceback);
  Ref text(v ? PyObject_Str(v.get()) : nullptr);
  PyErr_Clear();
  const char *utf8 = text ? PyUnicode_AsUTF8(text.get()) : nullptr;
  PyErr_Clear();
  std::string message = "Python objective raised ";
  message += type ? reinterpret_cast<PyTypeObject *>(type)->tp_name : "an exception";
  if (utf8 && *utf8) message += std::string(": ") + utf8;
  fw_set_callback_error(message.c_str());
}

/* Calls the objective adapter: fn(params, grads) (term NULL) or fn(term, params, grads) -> float,
 * or None when it has recorded the failure with fw_set_callback_error. */
inline fw_status evaluate_objective(PyObject *fn, const int32_t *term, const fw_tensor *params,
                                    size_t n, fw_tensor *grads, double *loss) {
  PyGILState_STATE gil = PyGILState_Ensure();
  fw_status status = FW_ERR_CALLBACK;
  {
    Ref t(term ? PyLong_FromLong(*term) : nullptr);
    Ref p(views(params, n, false));
    Ref g(grads ? views(grads, n, true) : (Py_INCREF(Py_None), Py_None));
    Ref result;
    if (p && g && (t || !term))
      result.reset(term ? PyObject_CallFunctionObjArgs(fn, t.get(), p.get(), g.get(), nullptr)
                        : PyObject_CallFunctionObjArgs(fn, p.get(), g.get(), nullptr));
    if (!result) {
      callback_error_from_exception();
    } else if (result.get() != Py_None) {
      const double value = PyFloat_AsDouble(result.get());
      if (value == -1.0 && PyErr_Occurred()) {
        callback_error_from_exception();
      } else {
        *loss = value;
        status = FW_OK;
      }
    }
  }
  PyGILState_Release(gil);
  return status;
}

/* fw_objective_fn: user_data is the adapter callable(params, grads). */
inline fw_status objective_trampoline(const fw_tensor *params, size_t n, fw_tensor *grads,
                                      double *loss, void *user_data) {
  return evaluate_objective(static_cast<PyObject *>(user_data), nullptr, params, n, grads, loss);
}

/* fw_objective_terms_fn: user_data is the adapter callable(term, params, grads). */
inline fw_status objective_terms_trampoline(int32_t term, const fw_tensor *params, size_t n,
                                            fw_tensor *grads, double *loss, void *user_data) {
  return evaluate_objective(static_cast<PyObject *>(user_data), &term, params, n, grads, loss);
}

/* Hooks must not fail the step (progress, log) or crash: an exception goes to
 * sys.unraisablehook, as exceptions in __del__ do. */
inline void progress_trampoline(const fw_step_info *info, void *user_data) {
  PyGILState_STATE gil = PyGILState_Ensure();
  {
    auto *fn = static_cast<PyObject *>(user_data);
    Ref d(step_info(info));
    Ref result(d ? PyObject_CallFunctionObjArgs(fn, d.get(), nullptr) : nullptr);
    if (!result) PyErr_WriteUnraisable(fn);
  }
  PyGILState_Release(gil);
}

inline void log_trampoline(fw_log_level level, const char *message, void *user_data) {
  PyGILState_STATE gil = PyGILState_Ensure();
  {
    auto *fn = static_cast<PyObject *>(user_data);
    Ref text(decode(message));
    Ref result(text ? PyObject_CallFunction(fn, "iO", static_cast<int>(level), text.get())
                    : nullptr);
    if (!result) PyErr_WriteUnraisable(fn);
  }
  PyGILState_Release(gil);
}

/* An exception in the abort hook counts as "abort" (the safe answer), and is reported. */
inline int abort_trampoline(void *user_data) {
  PyGILState_STATE gil = PyGILState_Ensure();
  int answer = 1;
  {
    auto *fn = static_cast<PyObject *>(user_data);
    Ref result(PyObject_CallObject(fn, nullptr));
    const int truth = result ? PyObject_IsTrue(result.get()) : -1;
    if (truth < 0)
      PyErr_WriteUnraisable(fn);
    else
      answer = truth;
  }
  PyGILState_Release(gil);
  return answer;
}

inline PyObject *none() { Py_RETURN_NONE; }

/* Runs a library call with the GIL released (a long merge, file writing, module loading), so
 * other Python threads run meanwhile; callbacks take the GIL back (see the trampolines). */
template <class Call>
fw_status without_gil(Call &&call) {
  PyThreadState *state = PyEval_SaveThread();
  const fw_status status = call();
  PyEval_RestoreThread(state);
  return status;
}

inline PyObject *check(fw_status status) {
  if (status != FW_OK) {
    raise_status(status);
    return nullptr;
  }
  return none();
}

/* str, bytes or os.PathLike to a file system path. */
inline bool path_arg(PyObject *object, std::string &out) {
  PyObject *encoded = nullptr;
  if (!PyUnicode_FSConverter(object, &encoded)) return false;
  out.assign(PyBytes_AS_STRING(encoded), static_cast<size_t>(PyBytes_GET_SIZE(encoded)));
  Py_DECREF(encoded);
  return true;
}

/* A str without NUL bytes (a C string). */
inline bool str_arg(PyObject *object, std::string &out, const char *what) {
  Py_ssize_t size = 0;
  const char *utf8 = PyUnicode_Check(object) ? PyUnicode_AsUTF8AndSize(object, &size) : nullptr;
  if (utf8 == nullptr) {
    if (!PyErr_Occurred()) PyErr_Format(PyExc_TypeError, "%s must be a str", what);
    return false;
  }
  if (std::strlen(utf8) != static_cast<size_t>(size)) {
    PyErr_Format(PyExc_ValueError, "%s contains a NUL byte", what);
    return false;
  }
  out.assign(utf8, static_cast<size_t>(size));
  return true;
}

/* A sequence of str (None: empty, *present = false). */
inline bool str_list(PyObject *object, std::vector<std::string> &out, const char *what,
                     bool *present = nullptr) {
  if (present) *present = object != Py_None;
  if (object == Py_None) return true;
  Ref seq(PySequence_Fast(object, "expected a sequence of str"));
  if (!seq) return false;
  const Py_ssize_t n = PySequence_Fast_GET_SIZE(seq.get());
  out.resize(static_cast<size_t>(n));
  for (Py_ssize_t i = 0; i < n; ++i)
    if (!str_arg(PySequence_Fast_GET_ITEM(seq.get(), i), out[static_cast<size_t>(i)], what))
      return false;
  return true;
}

inline std::vector<const char *> c_strings(const std::vector<std::string> &strings) {
  std::vector<const char *> out;
  out.reserve(strings.size());
  for (const std::string &s : strings) out.push_back(s.c_str());
  return out;
}

/* A per-member array of fw_merge_params (None: NULL). Its length must be the pool's: the library
 * reads that many entries. */
inline bool doubles(PyObject *object, size_t expected, const char *what, std::vector<double> &out,
                    const double **field) {
  *field = nullptr;
  if (object == Py_None) return true;
  Ref seq(PySequence_Fast(object, "expected a sequence of float"));
  if (!seq) return false;
  const Py_ssize_t n = PySequence_Fast_GET_SIZE(seq.get());
  if (static_cast<size_t>(n) != expected) {
    raise_error(FW_ERR_INVALID_ARGUMENT,
                std::to_string(n) + " " + what + " for a pool of " + std::to_string(expected));
    return false;
  }
  out.resize(static_cast<size_t>(n));
  for (Py_ssize_t i = 0; i < n; ++i) {
    out[static_cast<size_t>(i)] = PyFloat_AsDouble(PySequence_Fast_GET_ITEM(seq.get(), i));
    if (PyErr_Occurred()) return false;
  }
  *field = out.empty() ? nullptr : out.data();
  return true;
}

/* The include / exclude globs of fw_params and fw_merge_params, from two sequences of str (None or
 * empty: every tensor). A struct set from it points into it, so it must outlive the call. */
struct Filters {
  std::vector<std::string> include, exclude;
  std::vector<const char *> include_ptrs, exclude_ptrs;

  bool init(PyObject *include_list, PyObject *exclude_list) {
    if (!str_list(include_list, include, "include_tensors pattern") ||
        !str_list(exclude_list, exclude, "exclude_tensors pattern"))
      return false;
    include_ptrs = c_strings(include);
    exclude_ptrs = c_strings(exclude);
    return true;
  }
  template <class Params>
  void apply(Params &params) const {
    params.include_tensors = include_ptrs.empty() ? nullptr : include_ptrs.data();
    params.n_include_tensors = include_ptrs.size();
    params.exclude_tensors = exclude_ptrs.empty() ? nullptr : exclude_ptrs.data();
    params.n_exclude_tensors = exclude_ptrs.size();
  }
};

/* fw_merge_params.overrides from a sequence of (tensors glob or None, member, field, value); the
 * library checks the values. */
inline bool overrides(PyObject *object, std::vector<std::string> &globs,
                      std::vector<fw_merge_override> &out) {
  Ref seq(PySequence_Fast(object, "overrides must be a sequence"));
  if (!seq) return false;
  const Py_ssize_t n = PySequence_Fast_GET_SIZE(seq.get());
  globs.resize(static_cast<size_t>(n));
  out.resize(static_cast<size_t>(n));
  for (Py_ssize_t i = 0; i < n; ++i) {
    PyObject *glob = nullptr;
    long long member = 0;
    int field = 0;
    double value = 0;
    if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(seq.get(), i), "OLid", &glob, &member, &field,
                          &value) ||
        (glob != Py_None && !str_arg(glob, globs[static_cast<size_t>(i)], "override tensors")))
      return false;
    fw_merge_override &o = out[static_cast<size_t>(i)];
    std::memset(&o, 0, sizeof o);
    o.tensors = glob == Py_None ? nullptr : globs[static_cast<size_t>(i)].c_str();
    o.member = member;
    o.field = static_cast<fw_merge_field>(field);
    o.value = value;
  }
  return true;
}

/* fw_merge_params with its arrays taken from a 7-tuple: (weights, densities, betas, epsilons), each
 * None or one float per pool member, the (include, exclude) filters and the overrides. */
struct MergeArrays {
  fw_merge_params params;
  std::vector<double> weights, densities, betas, epsilons;
  Filters filters;
  std::vector<std::string> override_globs;
  std::vector<fw_merge_override> override_list;

  bool init(const fw_merge_params &from, PyObject *arrays, size_t pool_size) {
    params = from;
    PyObject *w = Py_None, *d = Py_None, *b = Py_None, *e = Py_None, *inc = Py_None;
    PyObject *exc = Py_None, *over = Py_None;
    if (!PyArg_ParseTuple(arrays, "OOOOOOO", &w, &d, &b, &e, &inc, &exc, &over)) return false;
    if (!doubles(w, pool_size, "weights", weights, &params.weights) ||
        !doubles(d, pool_size, "densities", densities, &params.densities) ||
        !doubles(b, pool_size, "betas", betas, &params.betas) ||
        !doubles(e, pool_size, "epsilons", epsilons, &params.epsilons) || !filters.init(inc, exc) ||
        !overrides(over, override_globs, override_list))
      return false;
    filters.apply(params);
    params.overrides = override_list.empty() ? nullptr : override_list.data();
    params.n_overrides = override_list.size();
    return true;
  }
};

/* fw_export_options with its model card (0.3.2) taken from a str or None (the library's card):
 * the struct points into this object, which outlives the call. */
struct ExportArgs {
  fw_export_options options;
  std::string model_card;

  bool init(const fw_export_options *from, PyObject *card) {
    options = from ? *from : fw_default_export_options();
    options.model_card = nullptr;
    if (card == nullptr || card == Py_None) return true;
    if (!str_arg(card, model_card, "model_card")) return false;
    options.model_card = model_card.c_str();
    return true;
  }
};

}  // namespace fwpy

/* ---- entry points wrapped by SWIG (fwmerge_python.i declares them with %nothread: they handle
 * Python objects, and release the GIL themselves around long library calls) ---- */

inline PyObject *fwpy_set_error_class(PyObject *cls) {
  Py_XINCREF(cls);
  Py_XDECREF(fwpy::error_class());
  fwpy::error_class() = cls;
  return fwpy::none();
}

/* FW_VERSION_NUMBER of the header this extension was compiled against. */
inline unsigned fwpy_header_version_number() { return FW_VERSION_NUMBER; }

/* The file the dynamic loader resolved libfwmerge to (for error messages); "" if unknown. */
inline PyObject *fwpy_library_path() {
  Dl_info info;
  if (dladdr(reinterpret_cast<void *>(&fw_version), &info) != 0 && info.dli_fname != nullptr)
    return PyUnicode_DecodeFSDefault(info.dli_fname);
  return PyUnicode_FromString("");
}

/* fw_solver_new / fw_solver_set_params with the tensor filters (sequences of str) the struct's
 * pointer fields cannot take from Python. A failure that leaves a Python exception set returns a
 * non-OK status; the fw_status typemap then keeps that exception. */
inline fw_status fwpy_solver_new(const fw_params *params, PyObject *include, PyObject *exclude,
                                 fw_solver **out) {
  fwpy::Filters filters;
  if (params == nullptr || !filters.init(include, exclude)) {
    if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "params must not be None");
    return FW_ERR_INVALID_ARGUMENT;
  }
  fw_params copy = *params;
  filters.apply(copy);
  return fw_solver_new(&copy, out);
}

inline fw_status fwpy_solver_set_params(fw_solver *solver, const fw_params *params,
                                        PyObject *include, PyObject *exclude) {
  fwpy::Filters filters;
  if (params == nullptr || !filters.init(include, exclude)) {
    if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "params must not be None");
    return FW_ERR_INVALID_ARGUMENT;
  }
  fw_params copy = *params;
  filters.apply(copy);
  return fw_solver_set_params(solver, &copy);
}

/* Installs a callable (None: removes it). The caller (fwmerge.Solver) keeps it alive while the
 * solver may call it. */
inline PyObject *fwpy_set_objective(fw_solver *solver, PyObject *fn) {
  if (fn == Py_None) return fwpy::check(fw_solver_set_objective_callback(solver, nullptr, nullptr));
  return fwpy::check(fw_solver_set_objective_callback(solver, fwpy::objective_trampoline, fn));
}

inline PyObject *fwpy_set_objective_terms(fw_solver *solver, PyObject *fn, int32_t n_terms) {
  if (fn == Py_None)
    return fwpy::check(fw_solver_set_objective_terms_callback(solver, nullptr, n_terms, nullptr));
  return fwpy::check(fw_solver_set_objective_terms_callback(
      solver, fwpy::objective_terms_trampoline, n_terms, fn));
}
inline PyObject *fwpy_set_progress(fw_solver *solver, PyObject *fn) {
  if (fn == Py_None) return fwpy::check(fw_solver_set_progress_callback(solver, nullptr, nullptr));
  return fwpy::check(fw_solver_set_progress_callback(solver, fwpy::progress_trampoline, fn));
}
inline PyObject *fwpy_set_log(fw_solver *solver, PyObject *fn) {
  if (fn == Py_None) return fwpy::check(fw_solver_set_log_callback(solver, nullptr, nullptr));
  return fwpy::check(fw_solver_set_log_callback(solver, fwpy::log_trampoline, fn));
}
inline PyObject *fwpy_set_abort(fw_solver *solver, PyObject *fn) {
  if (fn == Py_None) return fwpy::check(fw_solver_set_abort_callback(solver, nullptr, nullptr));
  return fwpy::check(fw_solver_set_abort_callback(solver, fwpy::abort_trampoline, fn));
}

/* tensors: a sequence of (name, dtype, shape, buffer), buffer holding numel * element size bytes
 * (any object with the buffer protocol, C-contiguous). metadata: [key, value, ...] or None. */
inline PyObject *fwpy_save_tensors(PyObject *path, PyObject *tensors, int dtype,
                                   PyObject *metadata) {
  std::string c_path;
  if (!fwpy::path_arg(path, c_path)) return nullptr;
  fwpy::Ref seq(PySequence_Fast(tensors, "tensors must be a sequence"));
  if (!seq) return nullptr;
  const size_t n = static_cast<size_t>(PySequence_Fast_GET_SIZE(seq.get()));
  std::vector<std::string> names(n);
  std::vector<std::vector<int64_t>> shapes(n);
  std::vector<fw_tensor> raw(n);
  std::vector<Py_buffer> buffers;
  buffers.reserve(n);
  struct Release {  // the buffers are held until the library has written the file
    std::vector<Py_buffer> &b;
    ~Release() {
      for (Py_buffer &view : b) PyBuffer_Release(&view);
    }
  } release{buffers};
  for (size_t i = 0; i < n; ++i) {
    PyObject *name = nullptr, *shape = nullptr, *data = nullptr;
    int tensor_dtype = 0;
    if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(seq.get(), static_cast<Py_ssize_t>(i)), "OiOO",
                          &name, &tensor_dtype, &shape, &data) ||
        !fwpy::str_arg(name, names[i], "tensor name"))
      return nullptr;
    fwpy::Ref dims(PySequence_Fast(shape, "shape must be a sequence of int"));
    if (!dims) return nullptr;
    int64_t numel = 1;
    for (Py_ssize_t d = 0; d < PySequence_Fast_GET_SIZE(dims.get()); ++d) {
      const long long extent = PyLong_AsLongLong(PySequence_Fast_GET_ITEM(dims.get(), d));
      if (extent == -1 && PyErr_Occurred()) return nullptr;
      if (extent < 0 || (extent > 0 && numel > INT64_MAX / extent)) {
        fwpy::raise_error(FW_ERR_INVALID_ARGUMENT, "tensor " + names[i] + ": bad shape");
        return nullptr;
      }
      numel *= extent;
      shapes[i].push_back(extent);
    }
    Py_buffer view;
    if (PyObject_GetBuffer(data, &view, PyBUF_SIMPLE) != 0) return nullptr;
    buffers.push_back(view);
    const fw_dtype dt = static_cast<fw_dtype>(tensor_dtype);
    if (fwpy::element_size(dt) == 0) {
      fwpy::raise_error(FW_ERR_INVALID_ARGUMENT, "tensor " + names[i] + ": unknown dtype");
      return nullptr;
    }
    // The library sizes its reads from numel: the buffer must hold exactly that.
    if (view.len != static_cast<Py_ssize_t>(numel * fwpy::element_size(dt))) {
      fwpy::raise_error(FW_ERR_INVALID_ARGUMENT,
                        "tensor " + names[i] + ": " + std::to_string(numel) + " elements need " +
                            std::to_string(numel * fwpy::element_size(dt)) +
                            " bytes, the data has " + std::to_string(view.len));
      return nullptr;
    }
    fw_tensor &t = raw[i];
    std::memset(&t, 0, sizeof t);  // device CPU, reserved words zero
    t.name = names[i].c_str();
    t.dtype = dt;
    t.ndim = static_cast<int32_t>(shapes[i].size());
    t.shape = shapes[i].empty() ? nullptr : shapes[i].data();
    t.numel = numel;
    t.data = view.buf;
  }
  std::vector<std::string> kv;
  if (!fwpy::str_list(metadata, kv, "metadata")) return nullptr;
  if (kv.size() % 2 != 0) {
    PyErr_SetString(PyExc_ValueError, "metadata must hold key, value pairs");
    return nullptr;
  }
  const std::vector<const char *> kv_ptrs = fwpy::c_strings(kv);
  return fwpy::check(fwpy::without_gil([&] {
    return fw_save_tensors(c_path.c_str(), raw.empty() ? nullptr : raw.data(), n,
                           static_cast<fw_dtype>(dtype), kv_ptrs.empty() ? nullptr : kv_ptrs.data(),
                           kv.size() / 2);
  }));
}

/* fw_merge. arrays: MergeArrays' 7-tuple (weights, densities, betas, epsilons: None or one float
 * per pool member; include, exclude, overrides).
 * abort: None or a callable polled before each tensor. */
inline PyObject *fwpy_merge(const fw_merge_params *params, PyObject *arrays, PyObject *abort,
                            PyObject *base, PyObject *pool, PyObject *out,
                            const fw_export_options *opts, PyObject *model_card) {
  std::string base_path, out_path;
  std::vector<std::string> pool_paths;
  if (params == nullptr) {
    PyErr_SetString(PyExc_TypeError, "params must not be None");
    return nullptr;
  }
  if (!fwpy::path_arg(base, base_path) || !fwpy::path_arg(out, out_path)) return nullptr;
  fwpy::Ref seq(PySequence_Fast(pool, "pool must be a sequence of paths"));
  if (!seq) return nullptr;
  for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(seq.get()); ++i) {
    pool_paths.emplace_back();
    if (!fwpy::path_arg(PySequence_Fast_GET_ITEM(seq.get(), i), pool_paths.back())) return nullptr;
  }
  fwpy::MergeArrays p;
  if (!p.init(*params, arrays, pool_paths.size())) return nullptr;
  fwpy::ExportArgs e;
  if (!e.init(opts, model_card)) return nullptr;
  if (abort != Py_None) {
    p.params.abort = fwpy::abort_trampoline;
    p.params.abort_user_data = abort;  // alive: the caller holds it during the call
  }
  const std::vector<const char *> ptrs = fwpy::c_strings(pool_paths);
  return fwpy::check(fwpy::without_gil([&] {
    return fw_merge(&p.params, base_path.c_str(), ptrs.empty() ? nullptr : ptrs.data(), ptrs.size(),
                    out_path.c_str(), &e.options);
  }));
}

/* fw_solver_export with the options' model card (a str or None). */
inline PyObject *fwpy_export(fw_solver *solver, PyObject *path, const fw_export_options *opts,
                             PyObject *model_card) {
  std::string c_path;
  if (!fwpy::path_arg(path, c_path)) return nullptr;
  fwpy::ExportArgs e;
  if (!e.init(opts, model_card)) return nullptr;
  return fwpy::check(
      fwpy::without_gil([&] { return fw_solver_export(solver, c_path.c_str(), &e.options); }));
}

inline PyObject *fwpy_set_start_merge(fw_solver *solver, const fw_merge_params *params,
                                      PyObject *arrays) {
  fwpy::MergeArrays p;
  if (params == nullptr) {
    PyErr_SetString(PyExc_TypeError, "params must not be None");
    return nullptr;
  }
  if (!p.init(*params, arrays, fw_solver_pool_size(solver))) return nullptr;
  return fwpy::check(
      fwpy::without_gil([&] { return fw_solver_set_start_merge(solver, &p.params); }));
}

/* params None: the default convex combination. */
inline PyObject *fwpy_set_merge_function(fw_solver *solver, const fw_merge_params *params,
                                         PyObject *arrays) {
  if (params == nullptr) return fwpy::check(fw_solver_set_merge_function(solver, nullptr));
  fwpy::MergeArrays p;
  if (!p.init(*params, arrays, fw_solver_pool_size(solver))) return nullptr;
  return fwpy::check(fw_solver_set_merge_function(solver, &p.params));
}

/* terms: a sequence of (method or None, inputs, labels or None, weight); param_map: None or
 * [module parameter, base tensor, ...]. */
inline PyObject *fwpy_set_objective_torchscript(fw_solver *solver, PyObject *module_path,
                                                PyObject *calibration_path, PyObject *param_map,
                                                PyObject *terms) {
  std::string module, calibration;
  if (!fwpy::path_arg(module_path, module) || !fwpy::path_arg(calibration_path, calibration))
    return nullptr;
  std::vector<std::string> map;
  bool has_map = false;
  if (!fwpy::str_list(param_map, map, "parameter map entry", &has_map)) return nullptr;
  if (map.size() % 2 != 0) {
    PyErr_SetString(PyExc_ValueError, "param_map must hold (module parameter, base tensor) pairs");
    return nullptr;
  }
  fwpy::Ref seq(PySequence_Fast(terms, "terms must be a sequence"));
  if (!seq) return nullptr;
  const size_t n = static_cast<size_t>(PySequence_Fast_GET_SIZE(seq.get()));
  std::vector<std::string> methods(n), inputs(n), labels(n);
  std::vector<fw_objective_term> raw(n);
  for (size_t i = 0; i < n; ++i) {
    PyObject *method = nullptr, *input = nullptr, *label = nullptr;
    double weight = 0;
    if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(seq.get(), static_cast<Py_ssize_t>(i)), "OOOd",
                          &method, &input, &label, &weight) ||
        (method != Py_None && !fwpy::str_arg(method, methods[i], "method")) ||
        !fwpy::str_arg(input, inputs[i], "inputs") ||
        (label != Py_None && !fwpy::str_arg(label, labels[i], "labels")))
      return nullptr;
    raw[i].method = method == Py_None ? nullptr : methods[i].c_str();
    raw[i].inputs = inputs[i].c_str();
    raw[i].labels = label == Py_None ? nullptr : labels[i].c_str();
    raw[i].weight = weight;
  }
  const std::vector<const char *> map_ptrs = fwpy::c_strings(map);
  fw_torchscript_objective objective = fw_default_torchscript_objective();
  objective.module_path = module.c_str();
  objective.calibration_path = calibration.c_str();
  if (has_map) {
    objective.param_map = map_ptrs.empty() ? nullptr : map_ptrs.data();
    objective.n_param_map = map.size() / 2;
  }
  objective.terms = raw.empty() ? nullptr : raw.data();
  objective.n_terms = n;
  return fwpy::check(
      fwpy::without_gil([&] { return fw_solver_set_objective_torchscript(solver, &objective); }));
}

#endif /* FWPY_SUPPORT_H */
