// Parsing JSON that came from outside (HTTP bodies, JWT payloads, config
// files, connector responses) as I-JSON (RFC 7493) with a depth limit.
//
// nlohmann::json::parse accepts any nesting depth, and the value it builds
// is later copied and dumped recursively: a 600 kB body of 60,000 nested
// objects overflows the stack. It also lets the last of two equal keys win
// ({"type":"erasure","type":"access"} reads as access) and turns integers
// beyond 64 bits into doubles that lose digits. ParseStrictJson refuses all
// three while parsing (SAX), so no deep tree is ever built, and names the
// JSON pointer at fault. Never throws.
#pragma once

#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "lethe/status.h"

namespace lethe {

// Containers (objects and arrays) may nest this deep; one more is refused.
inline constexpr int kMaxJsonDepth = 64;
// Integers must lie within ±2^53: every such integer is exact in an IEEE
// double, so any JSON reader (JavaScript included) sees the same number.
inline constexpr int64_t kMaxJsonInteger = int64_t{1} << 53;

// The document in `text`, or kInvalid whose field() is the JSON pointer at
// fault ("" for the root) and whose message says what is wrong and at which
// byte: malformed JSON, nesting deeper than kMaxJsonDepth, a duplicate
// object key, or an integer beyond ±kMaxJsonInteger.
Result<nlohmann::json> ParseStrictJson(std::string_view text);

}  // namespace lethe
