// Property checks for the fuzz targets. A broken property aborts, which
// libFuzzer reports as a crash (and keeps the input) and which fails the
// replay ctest in the ordinary build. Never compiled out.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#define FUZZ_CHECK(cond, what)                                                                           \
  do {                                                                                                   \
    if (!(cond)) {                                                                                       \
      std::fprintf(stderr, "fuzz property broken at %s:%d: %s [%s]\n", __FILE__, __LINE__, what, #cond); \
      std::abort();                                                                                      \
    }                                                                                                    \
  } while (0)

namespace lethe::fuzz {

// The input split at `sep`: seeds stay readable text (one field a line).
inline std::vector<std::string> Split(std::string_view s, char sep, size_t max_parts = 64) {
  std::vector<std::string> out;
  size_t start = 0;
  while (out.size() + 1 < max_parts) {
    size_t at = s.find(sep, start);
    if (at == std::string_view::npos) break;
    out.emplace_back(s.substr(start, at - start));
    start = at + 1;
  }
  out.emplace_back(s.substr(start));
  return out;
}

// A valid JSON pointer: empty (the root) or '/'-separated tokens.
inline bool IsJsonPointer(const std::string& p) { return p.empty() || p[0] == '/'; }

}  // namespace lethe::fuzz
