// Small helpers shared by the executor and the connectors: masks and JSON
// pointer tokens (digests come from core/hex.h, base64 from lethe/util/base64.h). Internal to src/exec and connectors/.
#pragma once

#include <string>
#include <string_view>

#include "core/hex.h"
#include "lethe/json_pointer.h"

namespace lethe::exec {

using ::lethe::HmacSha256Hex;
using ::lethe::Sha256Hex;

// What a "hash" mask writes: "hmac:" + HmacSha256Hex(key, value). The prefix
// lets a resumed erasure see a value is already masked and leave it alone.
std::string MaskHash(std::string_view key, std::string_view value);
inline constexpr std::string_view kMaskHashPrefix = "hmac:";
// What a "redact" mask writes.
inline constexpr std::string_view kRedacted = "[redacted]";

// RFC 6901 reference token (one definition, in the core).
using lethe::PointerToken;

}  // namespace lethe::exec
