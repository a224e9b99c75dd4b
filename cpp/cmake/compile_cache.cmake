# Object cache for pip builds (see compile_cache.py beside this file).
#
# `pip install .` builds in a new isolated environment each time, and scikit-build-core then
# deletes CMakeCache.txt and CMakeFiles/ of its build directory (build/<wheel tag>), which
# hold every object file: without a cache, `pip install ".[docs]"` after `pip install .`
# recompiles everything. The cache lives in <build dir>/compile-cache, outside CMakeFiles/,
# and is keyed on the preprocessed source, so it survives that and the changing path of the
# isolated environment's pybind11.
#
# On by default for scikit-build-core builds (pip, python -m build) unless a compiler
# launcher (ccache, ...) is already set; -DRANVIER_COMPILE_CACHE=ON/OFF forces it.
if(SKBUILD AND NOT CMAKE_CXX_COMPILER_LAUNCHER AND "$ENV{CMAKE_CXX_COMPILER_LAUNCHER}" STREQUAL "")
  set(_ranvier_cache_default ON)
else()
  set(_ranvier_cache_default OFF)
endif()
option(RANVIER_COMPILE_CACHE "Cache object files in <build>/compile-cache (pip rebuilds)" ${_ranvier_cache_default})
set(RANVIER_COMPILE_CACHE_MAX_MIB 512 CACHE STRING "Size limit of the object cache (MiB)")

if(RANVIER_COMPILE_CACHE AND (CMAKE_CXX_COMPILER_LAUNCHER OR NOT "$ENV{CMAKE_CXX_COMPILER_LAUNCHER}" STREQUAL ""))
  message(STATUS "ranvier: a compiler launcher (CMAKE_CXX_COMPILER_LAUNCHER) is set: object cache off")
elseif(RANVIER_COMPILE_CACHE AND NOT MSVC)
  # The interpreter running the build (scikit-build-core passes it), else any Python 3.
  if(Python_EXECUTABLE)
    set(_ranvier_cache_python "${Python_EXECUTABLE}")
  else()
    find_package(Python3 COMPONENTS Interpreter QUIET)
    set(_ranvier_cache_python "${Python3_EXECUTABLE}")
  endif()
  if(_ranvier_cache_python)
    set(RANVIER_COMPILE_CACHE_DIR "${CMAKE_BINARY_DIR}/compile-cache")
    set(_ranvier_cache_script "${CMAKE_CURRENT_LIST_DIR}/compile_cache.py")
    set(CMAKE_CXX_COMPILER_LAUNCHER "${_ranvier_cache_python};${_ranvier_cache_script};${RANVIER_COMPILE_CACHE_DIR}")
    # The module's link does the link-time optimization of the bindings: cache it too.
    if(NOT CMAKE_VERSION VERSION_LESS 3.21)
      set(CMAKE_CXX_LINKER_LAUNCHER "${_ranvier_cache_python};${_ranvier_cache_script};--link;${RANVIER_COMPILE_CACHE_DIR}")
    endif()
    execute_process(COMMAND "${_ranvier_cache_python}" "${_ranvier_cache_script}" --prune
                            "${RANVIER_COMPILE_CACHE_DIR}" "${RANVIER_COMPILE_CACHE_MAX_MIB}")
    message(STATUS "ranvier: object cache in ${RANVIER_COMPILE_CACHE_DIR}")
  else()
    message(STATUS "ranvier: no Python interpreter found: object cache off")
  endif()
endif()

# ranvier_stable_file_macros(<target> <dir> <name>): __FILE__ of headers under <dir> reads
# <name>/... in <target>'s objects. pybind11's headers expand __FILE__ in a few messages;
# under pip's build isolation they live in a new temporary directory each time, which would
# change the objects (and miss the cache) although nothing else did.
include(CheckCXXCompilerFlag)
function(ranvier_stable_file_macros target dir name)
  if(NOT dir OR MSVC)
    return()
  endif()
  check_cxx_compiler_flag("-fmacro-prefix-map=/a=b" RANVIER_HAVE_MACRO_PREFIX_MAP)
  if(RANVIER_HAVE_MACRO_PREFIX_MAP)
    target_compile_options(${target} PRIVATE "-fmacro-prefix-map=${dir}=${name}")
  endif()
endfunction()
