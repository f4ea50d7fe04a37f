// Package swigfw is the SWIG-generated layer over libfwmerge (see bindings/swig/fwmerge.i).
// It is internal: package fwmerge wraps it in an idiomatic API.
package swigfw

// pkg-config supplies everything from the library's install (or a build tree's uninstalled .pc
// files): fwmerge-swig the folder of the shared SWIG interface and its header-only director (for
// SWIG and the C++ compiler), and through it fwmerge the header path and -lfwmerge. Nothing is
// taken from this module's neighbours in the source tree, so the package also builds from a
// module cache or a vendor folder.

// #cgo pkg-config: fwmerge-swig
// #cgo CXXFLAGS: -std=c++17
import "C"
