// Small crypto helpers, one copy for the whole engine: hex digests, HMAC and
// random ids (OpenSSL underneath). Base64 is in lethe/util/base64.h.
#pragma once

#include <string>
#include <string_view>

namespace lethe {

std::string Sha256Hex(std::string_view data);
std::string HmacSha256Hex(std::string_view key, std::string_view data);
// n random bytes from OpenSSL's CSPRNG, hex encoded (2n characters).
std::string RandomHex(size_t n);
// A new request id: "req_" + 20 random hex characters (80 bits: unguessable).
std::string NewRequestId();

}  // namespace lethe
