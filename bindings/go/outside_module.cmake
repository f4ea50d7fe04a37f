# CTest's go_outside_module: package fwmerge used from a module outside the source tree, the way a
# user does. PREFIX gets a clean `cmake --install` of the build (INSTALL_SCRIPT), unless PREFIX is
# given (an install another test made: CTest's shared c_api_install prefix); pkg-config finds
# fwmerge-swig.pc (the installed SWIG interface) and fwmerge.pc there. The module requires
# github.com/fwmerge/fwmerge/bindings/go, replaced by MODULE_DIR; testdata/outside/main.go is built
# and run twice: from the replaced folder, then from a `go mod vendor` copy (-mod=vendor).
#   cmake -DGO=go -DBUILD_DIR=build -DWORK_DIR=dir -DMODULE_DIR=bindings/go
#         (-DINSTALL_SCRIPT=tests/c/install.cmake | -DPREFIX=installed prefix) [-DSWIG_DIR=dir of swig]
#         [-DSWIG_INPUTS_HASH=hash of the SWIG interface files] -P outside_module.cmake
foreach(var GO BUILD_DIR WORK_DIR MODULE_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "outside_module.cmake: ${var} is not set")
  endif()
endforeach()

function(run what)
  execute_process(COMMAND ${ARGN} WORKING_DIRECTORY "${WORK_DIR}/src" RESULT_VARIABLE rc
                  OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${out}\n${err}")
  endif()
  message(STATUS "${what}: ok\n${out}")
endfunction()

file(REMOVE_RECURSE "${WORK_DIR}/src")
file(MAKE_DIRECTORY "${WORK_DIR}/src")
if(DEFINED PREFIX)
  set(prefix "${PREFIX}")
elseif(DEFINED INSTALL_SCRIPT)
  set(prefix "${WORK_DIR}/prefix")
  execute_process(COMMAND "${CMAKE_COMMAND}" -DBUILD_DIR=${BUILD_DIR} -DPREFIX=${prefix}
                  -DWITH_CLI=OFF -P "${INSTALL_SCRIPT}" RESULT_VARIABLE rc ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "cmake --install into ${prefix} failed:\n${err}")
  endif()
else()
  message(FATAL_ERROR "outside_module.cmake: neither PREFIX nor INSTALL_SCRIPT is set")
endif()
file(GLOB_RECURSE pc_file "${prefix}/*/pkgconfig/fwmerge-swig.pc")
if(NOT pc_file)
  message(FATAL_ERROR "the install lacks pkgconfig/fwmerge-swig.pc")
endif()
get_filename_component(pc_dir "${pc_file}" DIRECTORY)
get_filename_component(lib_dir "${pc_dir}" DIRECTORY)

file(WRITE "${WORK_DIR}/src/go.mod" "module example.com/outside

go 1.21

require github.com/fwmerge/fwmerge/bindings/go v0.0.0

replace github.com/fwmerge/fwmerge/bindings/go => ${MODULE_DIR}
")
configure_file("${MODULE_DIR}/testdata/outside/main.go" "${WORK_DIR}/src/main.go" COPYONLY)

# Offline: no proxy, no checksum database, no toolchain download. The installed library has no
# RPATH into the prefix, hence LD_LIBRARY_PATH; CGO_LDFLAGS naming the prefix keeps the go build
# cache from serving a wrapper linked to the build tree (it does not key on pkg-config's output).
set(ENV{PKG_CONFIG_PATH} "${pc_dir}")
set(ENV{LD_LIBRARY_PATH} "${lib_dir}")
set(ENV{CGO_LDFLAGS} "-O2 -g -L${lib_dir}")
# Nor does it key on the files SWIG includes: their hash (as go_binding passes it) makes a change
# to the installed interface rebuild the wrapper.
if(SWIG_INPUTS_HASH)
  set(ENV{CGO_CPPFLAGS} "-DFW_SWIG_INPUTS_${SWIG_INPUTS_HASH}")
endif()
set(ENV{GOPROXY} "off")
set(ENV{GOSUMDB} "off")
set(ENV{GOFLAGS} "-mod=mod")
set(ENV{GOTOOLCHAIN} "local")
set(ENV{CGO_ENABLED} "1")
if(SWIG_DIR)
  set(ENV{PATH} "${SWIG_DIR}:$ENV{PATH}")
endif()

run("go build (replace)" "${GO}" build -o "${WORK_DIR}/outside" .)
run("outside (replace)" "${WORK_DIR}/outside")

set(ENV{GOFLAGS} "")
run("go mod vendor" "${GO}" mod vendor)
if(NOT EXISTS "${WORK_DIR}/src/vendor/github.com/fwmerge/fwmerge/bindings/go/internal/swigfw/swigfw.swigcxx")
  message(FATAL_ERROR "go mod vendor did not copy the SWIG input of package swigfw")
endif()
run("go build -mod=vendor" "${GO}" build -mod=vendor -o "${WORK_DIR}/outside_vendored" .)
run("outside (vendor)" "${WORK_DIR}/outside_vendored")
