// A tiny test registry: TEST(name) { CHECK(cond) << ... }.
#pragma once

#include <cstdio>
#include <vector>

namespace ranvier_test {

struct Case {
  const char* name;
  void (*fn)();
};
inline std::vector<Case>& registry() {
  static std::vector<Case> r;
  return r;
}
inline int& current_failures() {
  static int n = 0;
  return n;
}
struct Registrar {
  Registrar(const char* name, void (*fn)()) { registry().push_back({name, fn}); }
};

}  // namespace ranvier_test

#define RANVIER_TEST(name)                                              \
  static void name();                                                   \
  static ranvier_test::Registrar name##_registrar(#name, &name);        \
  static void name()

#define RANVIER_CHECK(cond, ...)                                        \
  do {                                                                  \
    if (!(cond)) {                                                      \
      ++ranvier_test::current_failures();                               \
      std::printf("  %s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond); \
      std::printf(__VA_ARGS__);                                         \
      std::printf("\n");                                                \
    }                                                                   \
  } while (0)
