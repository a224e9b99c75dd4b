// Minimal test runner for the C++ tests (no external framework).
#include "testing.h"

#include <cstdio>

int main() {
  int failed = 0, passed = 0;
  for (auto& t : ranvier_test::registry()) {
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
