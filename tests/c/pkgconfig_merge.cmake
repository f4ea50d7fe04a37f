# cmake -DPREFIX=... -DSOURCE=... -DWORK=... -DCC=... -P pkgconfig_merge.cmake
# Builds SOURCE as strict C99 with the flags `pkg-config --cflags --libs fwmerge` gives for the
# installed copy in PREFIX, and runs it. EXTRA_FLAGS (optional, space-separated) are added to the
# compile and link line (the sanitizer build's -fsanitize flags).
find_program(PKG_CONFIG_EXE pkg-config REQUIRED)
file(GLOB_RECURSE pc_files "${PREFIX}/*/pkgconfig/fwmerge.pc")
list(LENGTH pc_files n_pc)
if(NOT n_pc EQUAL 1)
  message(FATAL_ERROR "expected one fwmerge.pc under ${PREFIX}, found: ${pc_files}")
endif()
get_filename_component(pc_dir "${pc_files}" DIRECTORY)
get_filename_component(libdir "${pc_dir}" DIRECTORY)

set(ENV{PKG_CONFIG_PATH} "${pc_dir}")
execute_process(COMMAND "${PKG_CONFIG_EXE}" --cflags --libs fwmerge
                RESULT_VARIABLE rc OUTPUT_VARIABLE flags ERROR_VARIABLE err
                OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "pkg-config --cflags --libs fwmerge failed: ${err}")
endif()
# The flags must point into the prefix the package was installed to (a .pc that hard-codes the
# configure-time prefix would silently use another copy, or none). Paths are compared resolved:
# a relocatable .pc gives e.g. -I<prefix>/lib/pkgconfig/../../include.
separate_arguments(flag_list UNIX_COMMAND "${flags}")
get_filename_component(want_include "${PREFIX}/include" REALPATH)
get_filename_component(want_lib "${libdir}" REALPATH)
set(include_ok FALSE)
set(lib_ok FALSE)
foreach(flag IN LISTS flag_list)
  if(flag MATCHES "^-I(.+)$")
    get_filename_component(dir "${CMAKE_MATCH_1}" REALPATH)
    if(dir STREQUAL want_include)
      set(include_ok TRUE)
    endif()
  elseif(flag MATCHES "^-L(.+)$")
    get_filename_component(dir "${CMAKE_MATCH_1}" REALPATH)
    if(dir STREQUAL want_lib)
      set(lib_ok TRUE)
    endif()
  endif()
endforeach()
if(NOT include_ok OR NOT lib_ok)
  file(READ "${pc_files}" pc_text)
  message(FATAL_ERROR "pkg-config flags '${flags}' do not point into the install prefix "
                      "${PREFIX} (want -I${want_include} and -L${want_lib}); the installed "
                      "${pc_files}:\n${pc_text}")
endif()

file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")
separate_arguments(extra_list UNIX_COMMAND "${EXTRA_FLAGS}")
execute_process(COMMAND "${CC}" -std=c99 -Wall -Wextra -Wpedantic -Werror ${extra_list} "${SOURCE}"
                        -o "${WORK}/closed_form_merge" ${flag_list}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "compiling ${SOURCE} as C99 with '${flags}' failed:\n${out}\n${err}")
endif()

set(ENV{LD_LIBRARY_PATH} "${libdir}")
execute_process(COMMAND "${WORK}/closed_form_merge" "${WORK}"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${out}${err}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "closed_form_merge (pkg-config build) exited with ${rc}")
endif()
