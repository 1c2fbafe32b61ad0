// FUZZ_CHECK(condition): what a fuzz target asserts about a parser's result. A violation prints the
// condition and aborts, which libFuzzer reports as a crash with the input that caused it (and the
// corpus replay test in tests/fuzz as a failure). Not for production code.
#ifndef INTEROP_FUZZ_FUZZ_CHECK_H_
#define INTEROP_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(condition)                                                                 \
  do {                                                                                        \
    if (!(condition)) {                                                                       \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                           \
    }                                                                                         \
  } while (0)

#endif  // INTEROP_FUZZ_FUZZ_CHECK_H_
