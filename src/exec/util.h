// Small helpers shared by the executor and the connectors: hashing, encoding,
// JSON pointer tokens. Internal to src/exec and connectors/.
#pragma once

#include <string>
#include <string_view>

namespace lethe::exec {

// Lowercase hex of SHA-256(data).
std::string Sha256Hex(std::string_view data);
// Lowercase hex of HMAC-SHA256(key, data).
std::string HmacSha256Hex(std::string_view key, std::string_view data);
// What a "hash" mask writes: "hmac:" + HmacSha256Hex(key, value). The prefix
// lets a resumed erasure see a value is already masked and leave it alone.
std::string MaskHash(std::string_view key, std::string_view value);
inline constexpr std::string_view kMaskHashPrefix = "hmac:";
// What a "redact" mask writes.
inline constexpr std::string_view kRedacted = "[redacted]";

std::string Base64(std::string_view data);

// RFC 6901 reference token: "~" -> "~0", "/" -> "~1".
std::string PointerToken(std::string_view key);

}  // namespace lethe::exec
