# CTest's java_outside_project: the project in SOURCE (bindings/java/outside), copied to WORK_DIR
# outside the source tree, depends on org.fwmerge:fwmerge as java_binding installed it in the local
# Maven repository, and runs its test offline (-o) twice: with no property, so NativeLoader takes
# libfwmerge_jni.so from the jar, then with -Dfwmerge.library.path=JNI_LIBRARY.
#   cmake -DMVN=mvn -DSOURCE=dir -DBINDING_POM=pom.xml -DWORK_DIR=dir -DJNI_LIBRARY=file
#         -P outside_project.cmake
foreach(var MVN SOURCE BINDING_POM WORK_DIR JNI_LIBRARY)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "outside_project.cmake: ${var} is not set")
  endif()
endforeach()

# The artifact's version: the binding's pom says it.
file(READ "${BINDING_POM}" pom)
string(REGEX MATCH "<artifactId>fwmerge</artifactId>[ \t\r\n]*<version>([^<]+)</version>" _ "${pom}")
set(version "${CMAKE_MATCH_1}")
if(NOT version)
  message(FATAL_ERROR "no org.fwmerge:fwmerge version in ${BINDING_POM}")
endif()

file(REMOVE_RECURSE "${WORK_DIR}")
file(COPY "${SOURCE}/" DESTINATION "${WORK_DIR}")

function(run what)
  execute_process(COMMAND "${MVN}" -o -B -ntp test -Dfwmerge.version=${version} ${ARGN}
                  WORKING_DIRECTORY "${WORK_DIR}" RESULT_VARIABLE rc OUTPUT_VARIABLE out
                  ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "mvn -o test (${what}) failed (${rc}):\n${out}\n${err}")
  endif()
  string(REGEX MATCH "libfwmerge_jni loaded from [^\n]*" loaded "${out}")
  message(STATUS "${what}: ok (${loaded})")
endfunction()

run("the JNI library in the jar" -Dexpect.loaded.from=jar:/native/)
get_filename_component(jni_dir "${JNI_LIBRARY}" DIRECTORY)
run("-Dfwmerge.library.path" -Dfwmerge.library.path=${jni_dir} -Dexpect.loaded.from=${JNI_LIBRARY})
