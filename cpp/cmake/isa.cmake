# The one place that maps an ISA name to compiler flags.
#
# Kernel sources carry their ISA in the file name: `<family>-<tile>-<isa>.cpp`
# (for example `f32-gemm-6x16-avx2.cpp`). Only those files get the ISA's flags;
# everything else is compiled for the portable baseline, so the library runs on
# any x86-64 (and builds on aarch64, where only the `-scalar` kernels exist).

set(RANVIER_ISA_FLAGS_scalar "")
set(RANVIER_ISA_FLAGS_avx2 "-mavx2;-mfma;-mf16c")
set(RANVIER_ISA_FLAGS_avx512 "-mavx512f;-mavx2;-mfma;-mf16c")
# AVX512_BF16 (vcvtne2ps2bf16, vdpbf16ps): the bf16 GEMM kernels; BW for the 16-bit
# permutes that interleave bf16 pairs while packing.
set(RANVIER_ISA_FLAGS_avx512bf16 "-mavx512bf16;-mavx512bw;-mavx512f;-mavx2;-mfma;-mf16c")

# ISAs compiled into this build.
set(RANVIER_ISAS scalar)
if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64|i.86)$" AND NOT MSVC)
  list(APPEND RANVIER_ISAS avx2 avx512)
  # The bf16 tier needs a compiler that knows -mavx512bf16 (GCC >= 10, Clang >= 9);
  # without it the tier is simply not compiled in and mixed_bfloat16 runs emulated.
  include(CheckCXXCompilerFlag)
  check_cxx_compiler_flag("-mavx512bf16" RANVIER_CXX_HAS_AVX512BF16)
  if(RANVIER_CXX_HAS_AVX512BF16)
    list(APPEND RANVIER_ISAS avx512bf16)
  endif()
endif()

# ranvier_isa_of(<file> <out-var>): the ISA suffix of a kernel file, or "" if none.
function(ranvier_isa_of file out)
  get_filename_component(stem "${file}" NAME_WE)
  set(isa "")
  foreach(candidate scalar avx2 avx512 avx512bf16)
    if(stem MATCHES "-${candidate}$")
      set(isa ${candidate})
    endif()
  endforeach()
  set(${out} "${isa}" PARENT_SCOPE)
endfunction()

# ranvier_kernel_sources(<out-var> <files...>): keeps the files whose ISA is compiled
# in, and sets each one's compile flags from its suffix.
function(ranvier_kernel_sources out)
  set(kept "")
  foreach(f ${ARGN})
    ranvier_isa_of("${f}" isa)
    if(isa STREQUAL "")
      list(APPEND kept "${f}")
    elseif(isa IN_LIST RANVIER_ISAS)
      list(APPEND kept "${f}")
      if(RANVIER_ISA_FLAGS_${isa})
        set_source_files_properties("${f}" PROPERTIES COMPILE_OPTIONS "${RANVIER_ISA_FLAGS_${isa}}")
      endif()
    endif()
  endforeach()
  set(${out} "${kept}" PARENT_SCOPE)
endfunction()
