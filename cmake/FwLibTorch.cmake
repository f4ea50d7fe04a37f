# Which LibTorch libfwmerge is built against (issue: a host process may already hold one).
#
# Two LibTorch builds cannot share a process: their libc10/libtorch_cpu export the same C++ symbols
# with different layouts, and the second one loaded aborts or corrupts the first. The C ABI carries
# no torch type, so the same sources build against whichever LibTorch the host already loads:
#
#   FWMERGE_LIBTORCH=system  (default) find_package(Torch): Debian's libtorch-dev 1.13, or any
#                            LibTorch whose CMake package is on CMAKE_PREFIX_PATH. For hosts that
#                            load no torch of their own (C, Go, Java, Rust without tch).
#   FWMERGE_LIBTORCH=python  the `torch` package of FWMERGE_PYTHON (default: python3 on PATH), as a
#                            PyTorch extension is built: for Python hosts that `import torch`.
#   FWMERGE_LIBTORCH=<dir>   a LibTorch folder with include/ and lib/: the libtorch-*.zip
#                            distribution, tch-rs's LIBTORCH, DJL's cache folder, or a pip
#                            torch's site-packages/torch.
#
# For python and <dir> the libraries are linked directly instead of through TorchConfig.cmake: a
# CUDA LibTorch's CMake package insists on a CUDA toolkit at configure time (nvcc, cudart headers)
# although linking its libraries needs none. Outputs, as find_package(Torch) gives them:
#   TORCH_LIBRARIES, TORCH_INCLUDE_DIRS, FW_TORCH_CUDA (the LibTorch has CUDA),
#   FW_LIBTORCH_VERSION ("2.15.0+cu132"), FW_LIBTORCH_KIND (system|python|folder),
#   FW_LIBTORCH_LIB_DIR (the folder of libc10.so; the RPATH of what links it),
#   FW_LIBTORCH_GOMP (the OpenMP runtime the LibTorch ships, if it ships one).
# and CMAKE_CXX_STANDARD raised to 20 for a LibTorch 2.x (its headers need C++20).

set(FWMERGE_LIBTORCH "system" CACHE STRING
    "LibTorch to build against: system (find_package(Torch)), python (the torch of FWMERGE_PYTHON), or a LibTorch folder")
set(FWMERGE_PYTHON "" CACHE FILEPATH "Python whose torch FWMERGE_LIBTORCH=python uses (default: python3 on PATH)")

if(FWMERGE_LIBTORCH STREQUAL "system")
  find_package(Torch REQUIRED)
  set(FW_LIBTORCH_KIND system)
  set(FW_TORCH_CUDA OFF)
  if(TORCH_CUDA_LIBRARIES OR CAFFE2_USE_CUDA)
    set(FW_TORCH_CUDA ON)
  endif()
  # Torch_VERSION is set by TorchConfigVersion.cmake (Debian's libtorch-dev 1.13.1 says "1.13.0").
  set(FW_LIBTORCH_VERSION "${Torch_VERSION}")
  find_library(_fw_c10 c10 HINTS ${TORCH_INSTALL_PREFIX}/lib NO_CACHE)
  if(_fw_c10)
    get_filename_component(FW_LIBTORCH_LIB_DIR "${_fw_c10}" DIRECTORY)
  endif()
else()
  if(FWMERGE_LIBTORCH STREQUAL "python")
    set(FW_LIBTORCH_KIND python)
    set(_fw_py "${FWMERGE_PYTHON}")
    if(NOT _fw_py)
      find_program(_fw_py NAMES python3 python REQUIRED NO_CACHE)
    endif()
    include(${CMAKE_CURRENT_LIST_DIR}/FwTorchOfPython.cmake)
    fw_torch_of_python("${_fw_py}" _fw_torch_dir _fw_unused)
    if(NOT _fw_torch_dir)
      message(FATAL_ERROR "fwmerge: FWMERGE_LIBTORCH=python, but ${_fw_py} has no torch package "
                          "(pip install torch, or configure with FWMERGE_LIBTORCH=system)")
    endif()
  else()
    set(FW_LIBTORCH_KIND folder)
    set(_fw_torch_dir "${FWMERGE_LIBTORCH}")
    # A pip torch's site-packages (or the unpacked wheel) holds the LibTorch in its torch/ folder.
    if(NOT EXISTS "${_fw_torch_dir}/include/ATen" AND EXISTS "${_fw_torch_dir}/torch/include/ATen")
      set(_fw_torch_dir "${_fw_torch_dir}/torch")
    endif()
  endif()
  get_filename_component(_fw_torch_dir "${_fw_torch_dir}" REALPATH)
  if(NOT EXISTS "${_fw_torch_dir}/include/ATen/ATen.h")
    message(FATAL_ERROR "fwmerge: no LibTorch headers in ${_fw_torch_dir}/include (FWMERGE_LIBTORCH=${FWMERGE_LIBTORCH})")
  endif()
  set(FW_LIBTORCH_LIB_DIR "${_fw_torch_dir}/lib")
  foreach(_fw_lib torch torch_cpu c10)
    find_library(_fw_path_${_fw_lib} ${_fw_lib} PATHS "${FW_LIBTORCH_LIB_DIR}" NO_DEFAULT_PATH NO_CACHE)
    if(NOT _fw_path_${_fw_lib})
      message(FATAL_ERROR "fwmerge: lib${_fw_lib}.so not found in ${FW_LIBTORCH_LIB_DIR}")
    endif()
  endforeach()

  # Version: version.py of a pip torch, build-version of a libtorch zip, else the header's numbers.
  set(FW_LIBTORCH_VERSION "")
  if(EXISTS "${_fw_torch_dir}/version.py")
    file(STRINGS "${_fw_torch_dir}/version.py" _fw_v REGEX "^__version__ = ")
    string(REGEX REPLACE "^__version__ = ['\"]([^'\"]+)['\"].*" "\\1" FW_LIBTORCH_VERSION "${_fw_v}")
  elseif(EXISTS "${_fw_torch_dir}/build-version")
    file(STRINGS "${_fw_torch_dir}/build-version" FW_LIBTORCH_VERSION LIMIT_COUNT 1)
  endif()
  if(NOT FW_LIBTORCH_VERSION)
    foreach(_fw_h torch/headeronly/version.h torch/csrc/api/include/torch/version.h)
      if(EXISTS "${_fw_torch_dir}/include/${_fw_h}")
        file(STRINGS "${_fw_torch_dir}/include/${_fw_h}" _fw_v REGEX "define TORCH_VERSION_(MAJOR|MINOR|PATCH) ")
        string(REGEX REPLACE ".*MAJOR ([0-9]+).*MINOR ([0-9]+).*PATCH ([0-9]+).*" "\\1.\\2.\\3"
                             FW_LIBTORCH_VERSION "${_fw_v}")
      endif()
    endforeach()
  endif()

  # The libraries as TorchConfig.cmake links them. libtorch_cuda registers the CUDA backend from its
  # static initialisers and is referenced by no symbol, hence --no-as-needed. Its own dependencies
  # (cudart, cublas, ... from the nvidia-* wheels) are found through its RUNPATH at link and load.
  set(TORCH_LIBRARIES ${_fw_path_torch} ${_fw_path_torch_cpu} ${_fw_path_c10})
  set(FW_TORCH_CUDA OFF)
  find_library(_fw_path_torch_cuda torch_cuda PATHS "${FW_LIBTORCH_LIB_DIR}" NO_DEFAULT_PATH NO_CACHE)
  find_library(_fw_path_c10_cuda c10_cuda PATHS "${FW_LIBTORCH_LIB_DIR}" NO_DEFAULT_PATH NO_CACHE)
  if(_fw_path_torch_cuda AND _fw_path_c10_cuda)
    set(FW_TORCH_CUDA ON)
    list(APPEND TORCH_LIBRARIES "-Wl,--no-as-needed,${_fw_path_torch_cuda},--as-needed" ${_fw_path_c10_cuda})
  endif()
  set(TORCH_INCLUDE_DIRS "${_fw_torch_dir}/include" "${_fw_torch_dir}/include/torch/csrc/api/include")
  # A pip torch ships its own OpenMP runtime (lib/libgomp.so.1, found through its $ORIGIN RPATH):
  # the library's parallel regions link that one, so the process has one OpenMP runtime and one
  # thread pool whichever of torch and libfwmerge loads first.
  set(FW_LIBTORCH_GOMP "")
  if(EXISTS "${FW_LIBTORCH_LIB_DIR}/libgomp.so.1")
    set(FW_LIBTORCH_GOMP "${FW_LIBTORCH_LIB_DIR}/libgomp.so.1")
  endif()

  # Flags the LibTorch was built with (older wheels: -D_GLIBCXX_USE_CXX11_ABI=0), as its package
  # would add them.
  set(_fw_cxx_flags "")
  set(_fw_config "${_fw_torch_dir}/share/cmake/Torch/TorchConfig.cmake")
  if(EXISTS "${_fw_config}")
    file(STRINGS "${_fw_config}" _fw_flags_line REGEX "^ *set\\(TORCH_CXX_FLAGS \"[^\"]*\"\\)")
    if(_fw_flags_line)
      string(REGEX REPLACE ".*TORCH_CXX_FLAGS \"([^\"]*)\".*" "\\1" _fw_cxx_flags "${_fw_flags_line}")
      separate_arguments(_fw_cxx_flags UNIX_COMMAND "${_fw_cxx_flags}")
    endif()
  endif()
  add_library(fw_libtorch INTERFACE IMPORTED)
  # SYSTEM (imported targets' include folders are): no warnings from LibTorch's own headers.
  target_include_directories(fw_libtorch INTERFACE ${TORCH_INCLUDE_DIRS})
  target_link_libraries(fw_libtorch INTERFACE ${TORCH_LIBRARIES})
  if(_fw_cxx_flags)
    target_compile_options(fw_libtorch INTERFACE ${_fw_cxx_flags})
  endif()
  # Executables that link it (tests, the CLI) find it at run time without LD_LIBRARY_PATH.
  set(TORCH_LIBRARIES fw_libtorch)
endif()

if(NOT FW_LIBTORCH_VERSION)
  set(FW_LIBTORCH_VERSION "unknown")
endif()
if(FW_LIBTORCH_VERSION VERSION_GREATER_EQUAL 2.0 AND CMAKE_CXX_STANDARD LESS 20)
  set(CMAKE_CXX_STANDARD 20)
endif()
message(STATUS "fwmerge: LibTorch ${FW_LIBTORCH_VERSION} (${FW_LIBTORCH_KIND}; ${FW_LIBTORCH_LIB_DIR}), "
               "CUDA ${FW_TORCH_CUDA}, C++${CMAKE_CXX_STANDARD}")
