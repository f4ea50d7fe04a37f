// Package swigfw is the SWIG-generated layer over libfwmerge (see bindings/swig/fwmerge.i).
// It is internal: package fwmerge wraps it in an idiomatic API.
package swigfw

// pkg-config supplies the header path and -lfwmerge; the extra -I lets SWIG and the C++ compiler
// find the shared interface and its header-only director.

// #cgo pkg-config: fwmerge
// #cgo CPPFLAGS: -I${SRCDIR}/../../../swig
// #cgo CXXFLAGS: -std=c++17
import "C"
