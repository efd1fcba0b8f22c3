// What erasure writes in place of a value it may not delete (contract §2,
// "erase": mask). Connector-facing: every connector that masks writes exactly
// these, so a resumed erasure recognises a value it has already masked.
#pragma once

#include <string>
#include <string_view>

namespace lethe {

// What a "hash" mask writes: "hmac:" + HmacSha256Hex(key, value). The prefix
// lets a resumed erasure see a value is already masked and leave it alone.
std::string MaskHash(std::string_view key, std::string_view value);
inline constexpr std::string_view kMaskHashPrefix = "hmac:";
// What a "redact" mask writes.
inline constexpr std::string_view kRedacted = "[redacted]";

}  // namespace lethe
