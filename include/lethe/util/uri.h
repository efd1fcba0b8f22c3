// Percent-encoding (RFC 3986 §2.1) for what Lethe puts into URLs: path
// segments and query values built from request ids, collection names and
// object keys. Only the unreserved set (§2.3: ALPHA DIGIT - . _ ~) stays as
// is, which is also what AWS SigV4 canonicalisation requires, so one encoder
// serves the router's links, Chroma's paths and S3's signatures.
#pragma once

#include <string>
#include <string_view>

namespace lethe::util {

// Encodes every byte outside the unreserved set as %XX (upper-case hex).
// With keep_slash, '/' stays as is (an S3 object key as a path).
std::string PercentEncode(std::string_view s, bool keep_slash = false);

}  // namespace lethe::util
