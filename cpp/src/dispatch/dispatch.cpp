#include "dispatch/dispatch.h"

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <stdexcept>

#include "dispatch/cpu_features.h"

namespace ranvier {

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::scalar: return "scalar";
    case Isa::avx2: return "avx2";
    case Isa::avx512: return "avx512";
    case Isa::avx512bf16: return "avx512bf16";
  }
  return "unknown";
}

bool parse_isa(const std::string& name, Isa* out) {
  if (name == "scalar") { *out = Isa::scalar; return true; }
  if (name == "avx2") { *out = Isa::avx2; return true; }
  if (name == "avx512") { *out = Isa::avx512; return true; }
  if (name == "avx512bf16") { *out = Isa::avx512bf16; return true; }
  return false;
}

std::vector<Isa> compiled_isas() {
  std::vector<Isa> v{Isa::scalar};
#ifdef RANVIER_HAVE_AVX2
  v.push_back(Isa::avx2);
#endif
#ifdef RANVIER_HAVE_AVX512
  v.push_back(Isa::avx512);
#endif
#if defined(RANVIER_HAVE_AVX512) && defined(RANVIER_HAVE_AVX512BF16)
  v.push_back(Isa::avx512bf16);
#endif
  return v;
}

bool cpu_supports(Isa isa) {
  switch (isa) {
    case Isa::scalar: return true;
    case Isa::avx2: return cpu_features().avx2_fma;
    case Isa::avx512: return cpu_features().avx512f;
    case Isa::avx512bf16: return cpu_features().avx512bf16;
  }
  return false;
}

std::vector<Isa> supported_isas() {
  std::vector<Isa> v;
  for (Isa isa : compiled_isas())
    if (cpu_supports(isa)) v.push_back(isa);
  return v;
}

namespace {

std::string supported_list() {
  std::string s;
  for (Isa i : supported_isas()) {
    if (!s.empty()) s += ", ";
    s += isa_name(i);
  }
  return s;
}

void check_runnable(Isa isa, const char* origin) {
  bool compiled = false;
  for (Isa i : compiled_isas()) compiled |= (i == isa);
  if (!compiled)
    throw std::invalid_argument(std::string(origin) + ": ISA '" + isa_name(isa) +
                                "' is not compiled into this build; supported here: " + supported_list());
  if (!cpu_supports(isa))
    throw std::invalid_argument(std::string(origin) + ": this CPU (or OS) does not support ISA '" +
                                isa_name(isa) + "'; supported here: " + supported_list());
}

KernelTable build_table(Isa isa) {
  KernelTable t;
  t.isa = static_cast<int>(isa);
  // Every family has a scalar kernel; wider ISAs override what they provide.
  fill_kernels_scalar(t);
#ifdef RANVIER_HAVE_AVX2
  if (isa >= Isa::avx2) fill_kernels_avx2(t);
#endif
#ifdef RANVIER_HAVE_AVX512
  if (isa >= Isa::avx512) fill_kernels_avx512(t);
#endif
#if defined(RANVIER_HAVE_AVX512) && defined(RANVIER_HAVE_AVX512BF16)
  if (isa >= Isa::avx512bf16) fill_kernels_avx512bf16(t);
#endif
  return t;
}

struct State {
  std::mutex mu;
  KernelTable tables[kIsaCount];
  std::atomic<const KernelTable*> active{nullptr};
};

State& state() {
  static State s;
  return s;
}

Isa initial_isa() {
  auto sup = supported_isas();
  Isa best = sup.back();
  const char* env = std::getenv("RANVIER_ISA");
  if (env && *env) {
    Isa want;
    if (!parse_isa(env, &want))
      throw std::invalid_argument(std::string("RANVIER_ISA='") + env +
                                  "' is not an ISA name; expected one of scalar, avx2, avx512, avx512bf16");
    check_runnable(want, "RANVIER_ISA");
    if (want < best) best = want;  // a cap, never a raise
  }
  return best;
}

const KernelTable* install(Isa isa) {
  State& s = state();
  KernelTable& t = s.tables[static_cast<int>(isa)];
  t = build_table(isa);
  s.active.store(&t, std::memory_order_release);
  return &t;
}

}  // namespace

namespace {
// The first call's table build, out of line: inlined into kernels(), its frame (registers
// saved, a large stack block) cost every call on the fast path ~10 ns.
[[gnu::noinline]] const KernelTable& first_kernels() {
  std::lock_guard<std::mutex> lock(state().mu);
  const KernelTable* t = state().active.load(std::memory_order_acquire);
  if (t) return *t;
  return *install(initial_isa());
}
}  // namespace

const KernelTable& kernels() {
  const KernelTable* t = state().active.load(std::memory_order_acquire);
  if (t) return *t;
  return first_kernels();
}

Isa active_isa() { return static_cast<Isa>(kernels().isa); }

void set_isa(Isa isa) {
  check_runnable(isa, "set_isa");
  std::lock_guard<std::mutex> lock(state().mu);
  install(isa);
}

}  // namespace ranvier
