// Small crypto helpers private to src/notify: digests, HMAC, randomness,
// base64. Kept here (not in the core) so notify builds on its own.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace lethe::notify {

std::string Sha256Hex(std::string_view data);
std::string HmacSha256Hex(std::string_view key, std::string_view data);
// n bytes from OpenSSL's CSPRNG; false if the generator failed.
bool RandomBytes(unsigned char* out, size_t n);
std::string Base64(std::string_view data);
std::string Base64Url(std::string_view data);  // no padding
// Constant-time equality of two strings of possibly different length
// (the length itself is not secret here: both are fixed-size digests).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace lethe::notify
