# fw_torch_of_python(<python> <dir_var> <version_var>): the torch package of a Python interpreter,
# without importing it (no CUDA initialisation, no 2 s import): its folder (site-packages/torch)
# and its version string from torch/version.py ("2.15.0+cu132"), or empty strings when that
# interpreter has no torch. -E: under pip's build isolation PYTHONPATH hides the target
# environment's site-packages, but torch must come from there, not from the build environment.
function(fw_torch_of_python python dir_var version_var)
  set(dir "")
  set(version "")
  execute_process(
    COMMAND "${python}" -E -c
      "import importlib.util as u; s = u.find_spec('torch'); print(s.submodule_search_locations[0] if s and s.submodule_search_locations else '')"
    OUTPUT_VARIABLE dir OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc ERROR_QUIET)
  if(NOT rc EQUAL 0)
    set(dir "")
  endif()
  if(dir AND EXISTS "${dir}/version.py")
    file(STRINGS "${dir}/version.py" line REGEX "^__version__ = ")
    string(REGEX REPLACE "^__version__ = ['\"]([^'\"]+)['\"].*" "\\1" version "${line}")
  endif()
  set(${dir_var} "${dir}" PARENT_SCOPE)
  set(${version_var} "${version}" PARENT_SCOPE)
endfunction()
