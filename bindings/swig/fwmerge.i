/*
 * The one SWIG interface of fwmerge, for Go and Java: the public C header as it is, plus the
 * objective director (fw_objective_director.h) and a few accessors (fw_swig_helpers.h).
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

/* Function-pointer setters take host callbacks through the director below instead. */
%ignore fw_set_objective_callback;
%ignore fw_set_progress_callback;
%ignore fw_set_log_callback;
%ignore fw_set_abort_callback;
/* Out-pointer forms are wrapped by fwswig::solver_new and fwswig::current. */
%ignore fw_solver_new;
%ignore fw_current;
/* Host-built checkpoints are out of scope for these bindings (array-of-strings metadata). */
%ignore fw_save_tensors;

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
#ifdef SWIGGO
/* Go builds its []float32 views from fw_tensor's data and numel (unsafe.Slice). */
%ignore fwswig::Bytes;
%ignore fwswig::tensor_bytes;
#endif

/* ---- the objective director and helpers ---- */
%feature("director") fwswig::Objective;
%ignore fwswig::Objective::begin_evaluation;
%ignore fwswig::Objective::failed;
%ignore fwswig::Objective::failure_message;
%ignore fwswig::objective_trampoline;

%include "fw_objective_director.h"
%include "fw_swig_helpers.h"
