# cmake -P: make the pool, run the C and the Rust quadratic examples on it, compare the exports
# byte for byte. Inputs: CARGO MANIFEST MAKE_POOL C_EXAMPLE WORK_DIR.
foreach(var CARGO MANIFEST MAKE_POOL C_EXAMPLE WORK_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "compare_example.cmake: -D${var}=... is required")
  endif()
endforeach()

file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR}/pool)

function(run_step what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc})")
  endif()
endfunction()

run_step("make_pool" ${MAKE_POOL} ${WORK_DIR}/pool)
function(run_example what log)
  execute_process(COMMAND ${ARGN} OUTPUT_FILE ${log} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc})")
  endif()
endfunction()
run_example("C example" ${WORK_DIR}/c.txt ${C_EXAMPLE} ${WORK_DIR}/pool ${WORK_DIR}/c.safetensors)
# pkg-config (PKG_CONFIG_PATH from the test) links the example against the build tree.
run_example("Rust example" ${WORK_DIR}/rust.txt
            ${CARGO} run --locked --quiet --release --manifest-path ${MANIFEST}
            -- ${WORK_DIR}/pool ${WORK_DIR}/rust.safetensors)

execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files
                        ${WORK_DIR}/c.safetensors ${WORK_DIR}/rust.safetensors
                RESULT_VARIABLE differ)
if(NOT differ EQUAL 0)
  message(FATAL_ERROR "the Rust export differs from the C export")
endif()
# The printed steps (loss, gap, gamma) match too.
execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${WORK_DIR}/c.txt ${WORK_DIR}/rust.txt
                RESULT_VARIABLE differ)
if(NOT differ EQUAL 0)
  message(FATAL_ERROR "the Rust example printed other steps than the C example")
endif()
file(SIZE ${WORK_DIR}/rust.safetensors size)
message(STATUS "Rust and C exports are byte-identical (${size} bytes)")
