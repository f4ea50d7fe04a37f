# Installs the Python binding into a fresh virtual environment, the way a user does
# (pip install ./bindings/python), against a scratch install of the C library.
#   cmake -DPYTHON=python3 -DVENV=dir -DSOURCE=bindings/python -DPREFIX=dir -DPIP_BUILD_DIR=dir
#         [-DBUILD_DIR=build -DINSTALL_SCRIPT=tests/c/install.cmake] [-DSWIG=swig]
#         -P install_venv.cmake
# With BUILD_DIR, PREFIX is first made by `cmake --install BUILD_DIR` (INSTALL_SCRIPT, the C API
# test's clean install and check); without it, PREFIX must already hold an installed fwmerge.
# The venv sees the interpreter's own packages (--system-site-packages: numpy, pytest, safetensors,
# scikit-build-core from scripts/install-deps.sh), so nothing is downloaded when they are there.
# PIP_BUILD_DIR keeps scikit-build-core's CMake build between runs (only changed inputs rebuild).
foreach(var PYTHON VENV SOURCE PREFIX PIP_BUILD_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "install_venv.cmake: ${var} is not set")
  endif()
endforeach()

function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err
                  WORKING_DIRECTORY "${PIP_BUILD_DIR}/..")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${out}\n${err}")
  endif()
  message(STATUS "${what}: ok\n${out}")
endfunction()

file(MAKE_DIRECTORY "${PIP_BUILD_DIR}")
if(DEFINED BUILD_DIR)
  run("cmake --install ${BUILD_DIR} --prefix ${PREFIX}" "${CMAKE_COMMAND}" -DBUILD_DIR=${BUILD_DIR}
      -DPREFIX=${PREFIX} -DWITH_CLI=OFF -P "${INSTALL_SCRIPT}")
endif()

file(REMOVE_RECURSE "${VENV}")
run("python -m venv" "${PYTHON}" -m venv --system-site-packages "${VENV}")
set(py "${VENV}/bin/python")

set(offline --no-index)
execute_process(COMMAND "${py}" -c "import scikit_build_core" RESULT_VARIABLE rc
                OUTPUT_QUIET ERROR_QUIET)
if(NOT rc EQUAL 0)
  message(STATUS "scikit-build-core is not installed for ${PYTHON}: fetching it from the index")
  run("pip install scikit-build-core" "${py}" -m pip install -q "scikit-build-core>=0.10")
  set(offline "")
endif()

set(defines "")
if(DEFINED SWIG)
  set(defines -C "cmake.define.SWIG_EXECUTABLE=${SWIG}")
endif()
# --no-build-isolation: the build uses the venv's scikit-build-core and the machine's cmake and
# ninja instead of downloading them into a throwaway environment.
run("pip install ${SOURCE}" "${CMAKE_COMMAND}" -E env "CMAKE_PREFIX_PATH=${PREFIX}"
    "${py}" -m pip install -q --no-build-isolation ${offline} -C "build-dir=${PIP_BUILD_DIR}"
    ${defines} "${SOURCE}")
run("import fwmerge" "${py}" -c "import fwmerge; print(fwmerge.version(), fwmerge.__file__)")
