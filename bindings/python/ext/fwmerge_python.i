/*
 * The low-level Python module fwmerge._fwmerge: the public C header as it is (so every enum,
 * constant and struct field comes from fwmerge.h), with Python typemaps for its out-pointers and
 * fwpy_support.h for what needs the Python C API. The public surface is the pure-Python layer in
 * src/fwmerge; nothing here is meant to be called by users.
 *
 * Why not bindings/swig/fwmerge.i: its objective is a SWIG director over raw fw_tensor proxies and
 * it leaves out fw_save_tensors, while Python wants plain callables, NumPy views and save_tensors;
 * what it does share, the shape (the header as it is, plus a few accessors), is followed here.
 *
 *   swig -python -c++ -threads -I<prefix>/include -outdir OUT -o fwmerge_wrap.cxx fwmerge_python.i
 *
 * -threads: every wrapped library call releases the GIL (fw_solver_step, fw_solver_run, fw_solver_export, ...), so
 * other Python threads run meanwhile (fwmerge.Solver.interrupt() among them); the trampolines
 * take it back. The fwpy_* entry points handle Python objects and are marked %nothread.
 */
%module(package="fwmerge") _fwmerge

%{
#include "fwmerge.h"
#include "fwpy_support.h"
%}

%include <stdint.i>
%include <typemaps.i>

/* ---- typemaps ---- */

/* Failures raise fwmerge.Error(status, fw_last_error()) right where the call returns; success
 * returns None (or the out-values below). */
%typemap(out) fw_status {
  if ($1 != FW_OK) {
    if (!PyErr_Occurred()) fwpy::raise_status($1); /* an fwpy_* entry point may have set one */
    SWIG_fail;
  }
  $result = SWIG_Py_Void();
}

/* Paths: str, bytes or os.PathLike, encoded like the os module does. */
%typemap(in) const char *path (std::string encoded) {
  if (!fwpy::path_arg($input, encoded)) SWIG_fail;
  $1 = const_cast<char *>(encoded.c_str());
}

%apply int32_t *OUTPUT { int32_t *index_out };

%typemap(in, numinputs=0) fw_solver **out (fw_solver *handle = NULL) {
  $1 = &handle;
}
%typemap(argout) fw_solver **out {
  $result = SWIG_Python_AppendOutput($result, SWIG_NewPointerObj(*$1, SWIGTYPE_p_fw_solver, 0));
}

/* Output structs: the binding's sizeof, zeroed; they come back as plain Python values. */
%typemap(in, numinputs=0) fw_step_info *info (fw_step_info temp),
                          fw_step_info *last (fw_step_info temp) {
  memset(&temp, 0, sizeof temp);
  temp.struct_size = sizeof temp;
  $1 = &temp;
}
%typemap(argout) fw_step_info *info, fw_step_info *last {
  PyObject *info_dict = fwpy::step_info($1);
  if (info_dict == NULL) SWIG_fail;
  $result = SWIG_Python_AppendOutput($result, info_dict);
}

%typemap(in, numinputs=0) fw_request *request (fw_request temp) {
  memset(&temp, 0, sizeof temp);
  temp.struct_size = sizeof temp;
  $1 = &temp;
}
%typemap(argout) fw_request *request {
  PyObject *request_tuple = fwpy::request($1);
  if (request_tuple == NULL) SWIG_fail;
  $result = SWIG_Python_AppendOutput($result, request_tuple);
}

%typemap(in, numinputs=0) (const fw_tensor **tensors, size_t *n)
    (const fw_tensor *items = NULL, size_t count = 0) {
  $1 = ($1_ltype) &items;
  $2 = &count;
}
%typemap(argout) (const fw_tensor **tensors, size_t *n) {
  PyObject *view_list = fwpy::views(*$1, *$2, false);
  if (view_list == NULL) SWIG_fail;
  $result = SWIG_Python_AppendOutput($result, view_list);
}

/* fw_load_tensors / fw_tensor_set_* (0.3.1): the set is an opaque handle; a tensor view comes back
 * as (name, dtype, shape, data address or None) with the address valid until fw_tensor_set_free
 * (the Python layer copies the bytes out with ctypes), a metadata entry as (key, value). */
%typemap(in, numinputs=0) fw_tensor_set **out (fw_tensor_set *set_handle = NULL) {
  $1 = &set_handle;
}
%typemap(argout) fw_tensor_set **out {
  $result = SWIG_Python_AppendOutput($result, SWIG_NewPointerObj(*$1, SWIGTYPE_p_fw_tensor_set, 0));
}
%typemap(in, numinputs=0) fw_tensor *out (fw_tensor view) {
  memset(&view, 0, sizeof view);
  $1 = &view;
}
%typemap(argout) fw_tensor *out {
  PyObject *shape_tuple = PyTuple_New($1->ndim > 0 ? $1->ndim : 0);
  if (shape_tuple == NULL) SWIG_fail;
  for (int32_t d = 0; d < $1->ndim; ++d)
    PyTuple_SET_ITEM(shape_tuple, d, PyLong_FromLongLong((long long)$1->shape[d]));
  PyObject *address = $1->data ? PyLong_FromVoidPtr($1->data) : (Py_INCREF(Py_None), Py_None);
  PyObject *view_tuple = Py_BuildValue("(siNN)", $1->name ? $1->name : "", (int)$1->dtype,
                                       shape_tuple, address);
  if (view_tuple == NULL) SWIG_fail;
  $result = SWIG_Python_AppendOutput($result, view_tuple);
}
%typemap(in, numinputs=0) (const char **key, const char **value)
    (const char *key_text = NULL, const char *value_text = NULL) {
  $1 = ($1_ltype) &key_text;
  $2 = ($2_ltype) &value_text;
}
%typemap(argout) (const char **key, const char **value) {
  PyObject *entry = Py_BuildValue("(ss)", *$1 ? *$1 : "", *$2 ? *$2 : "");
  if (entry == NULL) SWIG_fail;
  $result = SWIG_Python_AppendOutput($result, entry);
}

/* ---- the C header ---- */

/* The deprecated 0.3 enumerators (FW_DEPRECATED_ENUM in fwmerge.h: FW_TASKWISE for
 * FW_GRANULARITY_TASKWISE, ...) are aliases of the new ones: the module wraps the new names only
 * (the deprecated functions are hidden from SWIG in the header itself; the same list is in
 * bindings/swig/fwmerge.i, outside this package's source). */
%ignore FW_DEVICE_CPU;
%ignore FW_DEVICE_CUDA;
%ignore FW_TASKWISE;
%ignore FW_LAYERWISE;
%ignore FW_STEP_LINE_SEARCH;
%ignore FW_STEP_SCHEDULE;
%ignore FW_STEP_CONSTANT;
%ignore FW_SOFT_SIMPLEX;
%ignore FW_SOFT_CAPPED;
%ignore FW_SOFT_ADAM;
%ignore FW_SOFT_BOX;
%ignore FW_TOPK_SUMMED;
%ignore FW_TOPK_PER_TERM;
%ignore FW_LOG_DEBUG;
%ignore FW_LOG_INFO;
%ignore FW_LOG_WARN;
%ignore FW_LOAD_HEADER_ONLY;
%ignore FW_LOAD_ALLOW_OUTSIDE_LINKS;
%ignore FW_MERGE_LINEAR;
%ignore FW_MERGE_TASK_ARITHMETIC;
%ignore FW_MERGE_TIES;
%ignore FW_MERGE_DARE_LINEAR;
%ignore FW_MERGE_DARE_TIES;
%ignore FW_MERGE_BREADCRUMBS;
%ignore FW_MERGE_MODEL_STOCK;
%ignore FW_MERGE_BREADCRUMBS_TIES;
%ignore FW_FIELD_WEIGHT;
%ignore FW_FIELD_DENSITY;
%ignore FW_FIELD_BETA;
%ignore FW_FIELD_SCALING;

/* Function pointers and arrays go through the fwpy_* entry points below instead. */
%ignore fw_solver_set_objective_callback;
%ignore fw_solver_set_objective_terms_callback;
%ignore fw_solver_set_progress_callback;
%ignore fw_solver_set_log_callback;
%ignore fw_solver_set_abort_callback;
%ignore fw_save_tensors;
%ignore fw_merge;
%ignore fw_solver_set_merge_function;
%ignore fw_solver_set_start_merge;
%ignore fw_solver_set_objective_torchscript;
%ignore fw_default_torchscript_objective;
%ignore fw_merge_params::weights;
%ignore fw_merge_params::densities;
%ignore fw_merge_params::betas;
%ignore fw_merge_params::epsilons;
%ignore fw_merge_params::abort;
%ignore fw_merge_params::abort_user_data;
/* Arrays of globs: set by fwpy::Filters (fwpy_solver_new, fwpy_solver_set_params, MergeArrays). */
%ignore fw_params::include_tensors;
%ignore fw_params::n_include_tensors;
%ignore fw_params::exclude_tensors;
%ignore fw_params::n_exclude_tensors;
%ignore fw_merge_params::include_tensors;
%ignore fw_merge_params::n_include_tensors;
%ignore fw_merge_params::exclude_tensors;
%ignore fw_merge_params::n_exclude_tensors;
/* 0.3.2's per-tensor overrides: set by fwpy::MergeArrays from Python tuples; the model card by
 * fwpy::ExportArgs from a str (fwpy_export, fwpy_merge). */
%ignore fw_merge_params::overrides;
%ignore fw_merge_params::n_overrides;
%ignore fw_merge_override;
%ignore fw_export_options::model_card;
/* Structs the typemaps above turn into Python values: no proxy classes. */
%ignore fw_tensor;
%ignore fw_step_info;
%ignore fw_request;
%ignore fw_objective_term;
%ignore fw_torchscript_objective;

#define FW_API
%include "fwmerge.h"

/* ---- entry points of fwpy_support.h ---- */
%feature("nothread") fwpy_set_error_class;
%feature("nothread") fwpy_library_path;
%feature("nothread") fwpy_set_objective;
%feature("nothread") fwpy_set_objective_terms;
%feature("nothread") fwpy_set_progress;
%feature("nothread") fwpy_set_log;
%feature("nothread") fwpy_set_abort;
%feature("nothread") fwpy_save_tensors;
%feature("nothread") fwpy_merge;
%feature("nothread") fwpy_export;
%feature("nothread") fwpy_set_start_merge;
%feature("nothread") fwpy_set_merge_function;
%feature("nothread") fwpy_set_objective_torchscript;
%feature("nothread") fwpy_solver_new;
%feature("nothread") fwpy_solver_set_params;

PyObject *fwpy_set_error_class(PyObject *cls);
unsigned fwpy_header_version_number();
PyObject *fwpy_library_path();
fw_status fwpy_solver_new(const fw_params *params, PyObject *include, PyObject *exclude,
                          fw_solver **out);
fw_status fwpy_solver_set_params(fw_solver *solver, const fw_params *params, PyObject *include,
                                 PyObject *exclude);
PyObject *fwpy_set_objective(fw_solver *solver, PyObject *fn);
PyObject *fwpy_set_objective_terms(fw_solver *solver, PyObject *fn, int32_t n_terms);
PyObject *fwpy_set_progress(fw_solver *solver, PyObject *fn);
PyObject *fwpy_set_log(fw_solver *solver, PyObject *fn);
PyObject *fwpy_set_abort(fw_solver *solver, PyObject *fn);
PyObject *fwpy_save_tensors(PyObject *path, PyObject *tensors, int dtype, PyObject *metadata);
PyObject *fwpy_merge(const fw_merge_params *params, PyObject *arrays, PyObject *abort,
                     PyObject *base, PyObject *pool, PyObject *out,
                     const fw_export_options *opts, PyObject *model_card);
PyObject *fwpy_export(fw_solver *solver, PyObject *path, const fw_export_options *opts,
                      PyObject *model_card);
PyObject *fwpy_set_start_merge(fw_solver *solver, const fw_merge_params *params,
                               PyObject *arrays);
PyObject *fwpy_set_merge_function(fw_solver *solver, const fw_merge_params *params,
                                  PyObject *arrays);
PyObject *fwpy_set_objective_torchscript(fw_solver *solver, PyObject *module_path,
                                         PyObject *calibration_path, PyObject *param_map,
                                         PyObject *terms);
