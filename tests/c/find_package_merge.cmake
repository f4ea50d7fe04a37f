# cmake -DPREFIX=... -DSOURCE=... -DWORK=... -DCC=... -DGENERATOR=... -DCONSUMER=... -DVERSION=... -P ...
# Configures, builds and runs the tiny CMake project CONSUMER, which finds the installed fwmerge
# with find_package(fwmerge CONFIG REQUIRED) from PREFIX and builds SOURCE against it. EXTRA_FLAGS
# (optional, space-separated) go into its C compile and link flags (the sanitizer build's).
file(REMOVE_RECURSE "${WORK}")
execute_process(COMMAND "${CMAKE_COMMAND}" -S "${CONSUMER}" -B "${WORK}" -G "${GENERATOR}"
                        "-DCMAKE_C_COMPILER=${CC}" "-DCMAKE_PREFIX_PATH=${PREFIX}"
                        "-DCMAKE_C_FLAGS=${EXTRA_FLAGS}" "-DCMAKE_EXE_LINKER_FLAGS=${EXTRA_FLAGS}"
                        "-DFW_EXPECTED_PREFIX=${PREFIX}" "-DFW_EXPECTED_VERSION=${VERSION}" "-DFW_SOURCE=${SOURCE}"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "configuring the find_package consumer failed:\n${out}\n${err}")
endif()
execute_process(COMMAND "${CMAKE_COMMAND}" --build "${WORK}"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "building the find_package consumer failed:\n${out}\n${err}")
endif()
file(MAKE_DIRECTORY "${WORK}/run")
execute_process(COMMAND "${WORK}/closed_form_merge" "${WORK}/run"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${out}${err}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "closed_form_merge (find_package build) exited with ${rc}")
endif()
