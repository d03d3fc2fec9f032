# CMake toolchain file for scone-gcc (enclave binaries by default; set
# SCONE_NATIVE=1 in the environment for plain static musl programs):
#
#   cmake -DCMAKE_TOOLCHAIN_FILE=$(scone-gcc --scone-print=cmake-toolchain) ..
#
# Libraries and packages are searched only in the scone prefix
# (scone-gcc --scone-print=prefix: $SCONE_PREFIX, else
# ~/.local/share/scone/prefix), never in the host's /usr, whose glibc-built
# headers and archives cannot be linked into a musl enclave. `make install`
# goes there too unless CMAKE_INSTALL_PREFIX is given. Not a cross build:
# the programs built run on this machine (try_run and ctest work).

set(CMAKE_C_COMPILER scone-gcc)

execute_process(COMMAND scone-gcc --scone-print=prefix
                OUTPUT_VARIABLE SCONE_PREFIX OUTPUT_STRIP_TRAILING_WHITESPACE
                RESULT_VARIABLE _scone_rc)
if(NOT _scone_rc EQUAL 0)
  message(FATAL_ERROR "scone: `scone-gcc --scone-print=prefix` failed; is scone-gcc in PATH?")
endif()

set(CMAKE_FIND_ROOT_PATH "${SCONE_PREFIX}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# An enclave links statically: never pick a shared object.
set(CMAKE_FIND_LIBRARY_SUFFIXES ".a")
set(BUILD_SHARED_LIBS OFF CACHE BOOL "scone: static libraries only")
set(PKG_CONFIG_EXECUTABLE scone-pkg-config CACHE FILEPATH "scone's pkg-config wrapper")
set(CMAKE_INSTALL_PREFIX "${SCONE_PREFIX}" CACHE PATH "scone prefix")
