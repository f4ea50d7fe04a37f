# cmake -DBUILD_DIR=... -DPREFIX=... -P install.cmake
# A clean `cmake --install` of the build tree into PREFIX (stale files must not hide a broken
# install), then a check that the pieces an outside user needs are there.
file(REMOVE_RECURSE "${PREFIX}")
execute_process(COMMAND "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${PREFIX}"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cmake --install ${BUILD_DIR} --prefix ${PREFIX} failed (${rc}):\n${out}\n${err}")
endif()
foreach(pattern include/fwmerge.h */libfwmerge.so */libfwmerge.so.0 */pkgconfig/fwmerge.pc
        */cmake/fwmerge/fwmergeConfig.cmake */cmake/fwmerge/fwmergeConfigVersion.cmake
        */cmake/fwmerge/fwmergeTargets.cmake)
  file(GLOB_RECURSE found "${PREFIX}/${pattern}")
  if(NOT found)
    file(GLOB_RECURSE all RELATIVE "${PREFIX}" "${PREFIX}/*")
    message(FATAL_ERROR "the install lacks ${pattern}; installed files:\n${all}")
  endif()
endforeach()

# The command line, when built: installed as bin/fwmerge and runnable from the prefix (its RPATH
# finds the installed library, not the build tree's).
if(WITH_CLI)
  if(NOT EXISTS "${PREFIX}/bin/fwmerge")
    message(FATAL_ERROR "the install lacks bin/fwmerge")
  endif()
  execute_process(COMMAND "${PREFIX}/bin/fwmerge" --help RESULT_VARIABLE rc OUTPUT_VARIABLE out
                  ERROR_VARIABLE err)
  if(NOT rc EQUAL 0 OR NOT out MATCHES "merge")
    message(FATAL_ERROR "${PREFIX}/bin/fwmerge --help failed (${rc}):\n${out}\n${err}")
  endif()
endif()
