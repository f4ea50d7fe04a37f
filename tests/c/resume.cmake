# Resume across processes: T steps in one process versus T/2 steps, fw_solver_state_save, and a new process
# that loads the state and finishes the run. The two exports must be the same bytes.
#   cmake -DRUN=<resume_run> -DWORK=<dir> -DLMO=hard|soft -P resume.cmake
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})

function(run)
  execute_process(COMMAND ${RUN} ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "resume_run ${ARGN} failed (${rc})")
  endif()
endfunction()

run(pool ${WORK})
run(full ${WORK} ${LMO} ${WORK}/full.safetensors)
run(half ${WORK} ${LMO} ${WORK}/half.state)
run(resume ${WORK} ${LMO} ${WORK}/half.state ${WORK}/resumed.safetensors)
execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${WORK}/full.safetensors
                        ${WORK}/resumed.safetensors RESULT_VARIABLE differ)
if(differ)
  message(FATAL_ERROR "the resumed run's export differs from the uninterrupted run's")
endif()
file(SIZE ${WORK}/full.safetensors size)
message(STATUS "${LMO}: the resumed export equals the uninterrupted one (${size} bytes)")
