# Builds fwmerge-<version>.jar at build time (so that `cmake --install` has a jar to install)
# without Maven: javac over the hand-written sources and SWIG's generated ones, plus the resource
# org/fwmerge/internal/install.properties, whose libdir is the path from the jar's install folder
# to the library folder (NativeLoader finds libfwmerge_jni.so there, or beside the jar, which is
# where the jar sits in the build tree). libfwmerge_jni.so itself is not packed: the installed one
# (RUNPATH $ORIGIN) stays beside libfwmerge.so. CTest's java_binding still builds, tests and
# installs the Maven artifact.
#   cmake -DJAVAC=javac -DJAR=jar -DSOURCES=dir -DGENERATED=dir -DWORK=dir -DOUTPUT=file.jar
#         -DLIBDIR=relative/path -P build_jar.cmake
foreach(var JAVAC JAR SOURCES GENERATED WORK OUTPUT LIBDIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "build_jar.cmake: ${var} is not set")
  endif()
endforeach()

file(GLOB_RECURSE sources "${SOURCES}/*.java" "${GENERATED}/*.java")
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}/classes/org/fwmerge/internal")
# An argument file: the source list is longer than a command line should be.
string(REPLACE ";" "\n" source_lines "${sources}")
file(WRITE "${WORK}/sources.txt" "${source_lines}\n")
# The lint flags of the pom: the same sources, so the same (absent) warnings.
execute_process(COMMAND "${JAVAC}" --release 17 -encoding UTF-8 -Xlint:all,-serial
                        -d "${WORK}/classes" "@${WORK}/sources.txt"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "javac failed (${rc}):\n${out}\n${err}")
elseif(out OR err)
  message("${out}${err}")
endif()
file(WRITE "${WORK}/classes/org/fwmerge/internal/install.properties"
     "# The library folder, relative to the folder the jar is installed in.\nlibdir=${LIBDIR}\n")
execute_process(COMMAND "${JAR}" --create --file "${OUTPUT}" -C "${WORK}/classes" .
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "jar failed (${rc}):\n${out}\n${err}")
endif()
