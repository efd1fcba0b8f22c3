// Base64 (RFC 4648 §4) and base64url (§5), the two alphabets Lethe speaks:
// standard for HTTP Basic and signatures in headers, url-safe without padding
// for JWTs and tokens in links.
#pragma once

#include <string>
#include <string_view>

namespace lethe::util {

std::string Base64Encode(std::string_view bytes);     // with '=' padding
std::string Base64UrlEncode(std::string_view bytes);  // no padding (RFC 7515 §2)

// Strict decoding of unpadded base64url: false on any character outside the
// alphabet, on an impossible length, or on non-zero leftover bits (so that
// one value has exactly one encoding: a token cannot be altered and still
// verify).
bool Base64UrlDecode(std::string_view text, std::string* bytes);

}  // namespace lethe::util
