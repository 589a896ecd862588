// The fuzzers' oracle check: a failed one names its file and line, then aborts, which libFuzzer
// reports as a crash with the input that caused it (the harness is often inlined into one frame,
// so the line is what tells oracles apart).
#pragma once

#include <cstdio>
#include <cstdlib>

inline void fuzz_require_at(bool condition, const char* file, int line) {
  if (condition) return;
  std::fprintf(stderr, "%s:%d: oracle failed\n", file, line);
  std::abort();
}
#define require(condition) fuzz_require_at((condition), __FILE__, __LINE__)
