/*
 * The one SWIG interface of fwmerge, for Go and Java: the public C header as it is, plus the
 * objective and hooks directors (fw_objective_director.h) and a few accessors and owning lists
 * (fw_swig_helpers.h).
 * The generated layers are internal; bindings/go and bindings/java put idiomatic surfaces on top.
 *
 * Java: swig -java -c++ -package org.fwmerge.internal -module FwNative (see bindings/java).
 * Go:   the go tool runs swig on bindings/go/internal/swigfw/swigfw.swigcxx, which includes this.
 */
%module(directors="1") fwmerge

%{
#include "fwmerge.h"
#include "fw_objective_director.h"
#include "fw_swig_helpers.h"
%}

%include <stdint.i>

/* size_t as a signed 64-bit integer in both hosts (Java long, Go int64). */
%apply int64_t { size_t };

/* ---- the C header ---- */

/* The deprecated 0.3 enumerators (FW_DEPRECATED_ENUM in fwmerge.h: FW_TASKWISE for
 * FW_GRANULARITY_TASKWISE, ...) are aliases of the new ones: the bindings wrap the new names only
 * (the deprecated functions are hidden from SWIG in the header itself). */
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

/* Function-pointer setters take host callbacks through the director below instead. */
%ignore fw_solver_set_objective_callback;
%ignore fw_solver_set_objective_terms_callback;
%ignore fw_solver_set_progress_callback;
%ignore fw_solver_set_log_callback;
%ignore fw_solver_set_abort_callback;
/* Out-pointer forms are wrapped by fwswig::solver_new, fwswig::current, fwswig::load_tensors and
 * fwswig::tensor_set_metadata. */
%ignore fw_solver_new;
%ignore fw_solver_current;
%ignore fw_load_tensors;
%ignore fw_tensor_set_metadata;
/* Calls that take host arrays (paths, tensors, strings, terms) go through the owning lists of
 * fw_swig_helpers.h: fwswig::merge, fwswig::save_tensors, fwswig::set_objective_torchscript. */
%ignore fw_merge;
%ignore fw_save_tensors;
%ignore fw_solver_set_objective_torchscript;
%ignore fw_default_torchscript_objective;
%ignore fw_torchscript_objective;
%ignore fw_objective_term;
/* Set by fwswig::merge_params_set_arrays and fwswig::merge (abort hook) instead. */
%ignore fw_merge_params::weights;
%ignore fw_merge_params::densities;
%ignore fw_merge_params::betas;
%ignore fw_merge_params::epsilons; /* 0.5.0: fwswig::merge_params_set_epsilons */
%ignore fw_merge_params::abort;
%ignore fw_merge_params::abort_user_data;
/* The tensor filters (arrays of globs) are set by fwswig::params_set_filters and
 * fwswig::merge_params_set_filters from an owning fwswig::TensorFilters. */
%ignore fw_params::include_tensors;
%ignore fw_params::n_include_tensors;
%ignore fw_params::exclude_tensors;
%ignore fw_params::n_exclude_tensors;
%ignore fw_merge_params::include_tensors;
%ignore fw_merge_params::n_include_tensors;
%ignore fw_merge_params::exclude_tensors;
%ignore fw_merge_params::n_exclude_tensors;
/* 0.3.2's per-tensor overrides: set by fwswig::merge_params_set_overrides from an owning
 * fwswig::MergeOverrides (the array element's glob is a string the struct would own). */
%ignore fw_merge_params::overrides;
%ignore fw_merge_params::n_overrides;
%ignore fw_merge_override;
/* 0.3.2's model card (a string the struct would own: SWIG's setter would leak it): set by
 * fwswig::export_options_set_model_card from an owning fwswig::ModelCard. */
%ignore fw_export_options::model_card;
/* The card's text as bytes and a length (Go string, Java byte[]: its UTF-8, byte for byte). */
%apply (char *STRING, size_t LENGTH) { (char *text, size_t n) };

/* Views are written by the library only. */
%immutable fw_tensor::name;
%immutable fw_tensor::dtype;
%immutable fw_tensor::ndim;
%immutable fw_tensor::shape;
%immutable fw_tensor::numel;
%immutable fw_tensor::data;
%immutable fw_request::done;
%immutable fw_request::need_gradient;
%immutable fw_request::n;
%immutable fw_request::params;
%immutable fw_request::grads;
%immutable fw_request::term;

#define FW_API
%include "fwmerge.h"

/* ---- host-specific views of tensor memory ---- */
#ifdef SWIGJAVA
/* The JNI class loads libfwmerge_jni itself, so no entry point can be used before it is loaded
 * (NativeLoader honours -Dfwmerge.library.path, else java.library.path). */
%pragma(java) jniclasscode=%{
  static {
    NativeLoader.load();
  }
%}
/* A direct ByteBuffer over the library's memory: no copy; it must not be used after the call
 * that produced the view returns (the Java layer documents and enforces the scope). */
%typemap(jni) fwswig::Bytes "jobject"
%typemap(jtype) fwswig::Bytes "java.nio.ByteBuffer"
%typemap(jstype) fwswig::Bytes "java.nio.ByteBuffer"
%typemap(javaout) fwswig::Bytes {
    java.nio.ByteBuffer bytes = $jnicall;
    return bytes != null ? bytes : java.nio.ByteBuffer.allocateDirect(0); /* empty tensor */
  }
%typemap(out) fwswig::Bytes %{
  $result = ($1.data != NULL && $1.size > 0) ? jenv->NewDirectByteBuffer($1.data, (jlong)$1.size)
                                             : NULL;
%}
#endif
#ifdef SWIGJAVA
%ignore fwswig::TensorList::alloc_data_address;
#endif
#ifdef SWIGGO
/* Go builds its slices from fw_tensor's data address (unsafe.Slice). */
%ignore fwswig::Bytes;
%ignore fwswig::tensor_bytes;
%ignore fwswig::raw_bytes;
%ignore fwswig::TensorList::alloc_data;
#endif

/* ---- the objective director and helpers ---- */
%feature("director") fwswig::Objective;
%ignore fwswig::Objective::begin_evaluation;
%ignore fwswig::Objective::failed;
%ignore fwswig::Objective::failure_message;
%ignore fwswig::objective_trampoline;
%feature("director") fwswig::TermsObjective;
%ignore fwswig::TermsObjective::begin_evaluation;
%ignore fwswig::TermsObjective::failed;
%ignore fwswig::TermsObjective::failure_message;
%ignore fwswig::objective_terms_trampoline;
%ignore fwswig::run_host_evaluation;
%feature("director") fwswig::Hooks;
%ignore fwswig::progress_trampoline;
%ignore fwswig::log_trampoline;
%ignore fwswig::abort_trampoline;
/* Internal to the helpers: hosts call the free functions (named after the C calls they make). */
%ignore fwswig::StringList::pointers;
%ignore fwswig::DoubleList::data;
%ignore fwswig::TorchScriptSpec::install;
%ignore fwswig::TensorList::save;
%ignore fwswig::TensorFilters::point;
%ignore fwswig::MergeOverrides::point;
%ignore fwswig::ModelCard::c_str;

%include "fw_objective_director.h"
%include "fw_swig_helpers.h"
