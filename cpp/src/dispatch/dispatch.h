// dispatch: detects the CPU once, fills one table of kernel pointers, and lets
// RANVIER_ISA (or a test) cap the choice. Nothing above this layer tests CPU flags.
#pragma once

#include <string>
#include <vector>

#include "kernels/kernel_table.h"

namespace ranvier {

// Tiers, each a superset of the one below. avx512bf16 is avx512 plus the AVX512_BF16
// kernels (mixed_bfloat16 GEMMs on vdpbf16ps); below it those GEMMs are emulated.
enum class Isa : int { scalar = 0, avx2 = 1, avx512 = 2, avx512bf16 = 3 };
constexpr int kIsaCount = 4;

const char* isa_name(Isa isa);
// Parses "scalar" | "avx2" | "avx512" | "avx512bf16"; returns false for anything else.
bool parse_isa(const std::string& name, Isa* out);

// ISAs whose kernels are compiled into this build, lowest first.
std::vector<Isa> compiled_isas();
// True when the CPU has the instructions and the OS saves their register state.
bool cpu_supports(Isa isa);
// Compiled in and supported by this CPU/OS, lowest first.
std::vector<Isa> supported_isas();

// The ISA whose kernels are in use. On first use it is the best supported one,
// capped by the environment variable RANVIER_ISA when set (an unknown or
// unsupported value there throws std::invalid_argument on first use).
Isa active_isa();
// Switches every kernel to `isa`. Throws std::invalid_argument when the build
// lacks it or the CPU cannot run it (never an illegal-instruction crash).
void set_isa(Isa isa);

// The table of kernels for the active ISA.
const KernelTable& kernels();

}  // namespace ranvier
