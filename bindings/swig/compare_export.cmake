# Runs one host's quadratic example on a pool made by examples/c/make_pool and checks that its
# export is byte-identical to the C example's, and that it prints the same step lines.
#   cmake -DMAKE_POOL=exe -DC_EXAMPLE=exe -DWORK_DIR=dir -DHOST_DIR=dir -DHOST_COMMAND="a|b|c"
#         -P compare_export.cmake
# HOST_COMMAND is '|'-separated (';' would be split by add_test); the pool folder and the output
# file are appended to it; it runs in HOST_DIR.
foreach(var MAKE_POOL C_EXAMPLE WORK_DIR HOST_DIR HOST_COMMAND)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "compare_export.cmake: ${var} is not set")
  endif()
endforeach()
string(REPLACE "|" ";" host_command "${HOST_COMMAND}")

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}/pool")

# Runs a command in HOST_DIR; its standard output goes to ${out_var}.
function(run_step what out_var)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err
                  WORKING_DIRECTORY "${HOST_DIR}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${out}\n${err}")
  endif()
  message(STATUS "${what}:\n${out}")
  set(${out_var} "${out}" PARENT_SCOPE)
endfunction()

run_step("make_pool" pool_out "${MAKE_POOL}" "${WORK_DIR}/pool")
run_step("C example" c_out "${C_EXAMPLE}" "${WORK_DIR}/pool" "${WORK_DIR}/c.safetensors")
run_step("host example" host_out ${host_command} "${WORK_DIR}/pool" "${WORK_DIR}/host.safetensors")
if(NOT c_out STREQUAL host_out)
  message(FATAL_ERROR "the host printed other step lines than the C example")
endif()

execute_process(COMMAND "${CMAKE_COMMAND}" -E compare_files
                        "${WORK_DIR}/c.safetensors" "${WORK_DIR}/host.safetensors"
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the host's export differs from the C example's")
endif()
file(SIZE "${WORK_DIR}/c.safetensors" size)
message(STATUS "exports are byte-identical (${size} bytes)")
