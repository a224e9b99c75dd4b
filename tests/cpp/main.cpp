// Minimal test runner for the C++ tests (no external framework).
//   ranvier_cpp_tests [NAME_PART]   runs every test, or those whose name contains NAME_PART
#include "testing.h"

#include <cstdio>
#include <cstring>

int main(int argc, char** argv) {
  int failed = 0, passed = 0;
  const char* only = argc > 1 ? argv[1] : nullptr;
  for (auto& t : ranvier_test::registry()) {
    if (only && !std::strstr(t.name, only)) continue;
    ranvier_test::current_failures() = 0;
    t.fn();
    if (ranvier_test::current_failures()) {
      std::printf("FAIL %s\n", t.name);
      ++failed;
    } else {
      ++passed;
    }
  }
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
