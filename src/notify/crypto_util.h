// Small crypto helpers private to src/notify: randomness and constant-time
// comparison. Digests come from the core's hex helpers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "lethe/hex.h"

namespace lethe::notify {

using ::lethe::HmacSha256Hex;
using ::lethe::Sha256Hex;
// n bytes from OpenSSL's CSPRNG; false if the generator failed.
bool RandomBytes(unsigned char* out, size_t n);
// Constant-time equality of two strings of possibly different length
// (the length itself is not secret here: both are fixed-size digests).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace lethe::notify
