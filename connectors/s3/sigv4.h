// AWS Signature Version 4, as S3 needs it. A pure function of its inputs (no
// clock, no network), so the published AWS test vectors can check every step:
// the canonical request, the string to sign and the signature.
#pragma once

#include "lethe/util/uri.h"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lethe/hex.h"

namespace lethe::s3 {

struct SigV4Request {
  std::string method;  // "GET"
  // The path as the server sees it before percent-encoding ("/bucket/a b.txt");
  // it is encoded once, as S3 wants (not twice, as other AWS services do).
  std::string path;
  // Query parameters, not yet encoded. Order does not matter.
  std::vector<std::pair<std::string, std::string>> query;
  // Headers to sign; must include "host" and "x-amz-date". Names in any case.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string payload_sha256;  // lowercase hex SHA-256 of the body
};

struct SigV4Credentials {
  std::string access_key;
  std::string secret_key;
  std::string region;   // "us-east-1"
  std::string service;  // "s3"
};

struct SigV4Signature {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;      // lowercase hex
  std::string authorization;  // the Authorization header's value
};

// Percent-encodes per SigV4: unreserved characters (A-Z a-z 0-9 - . _ ~)
// stay, everything else becomes %XX with uppercase hex; '/' stays when
// `keep_slash` (paths) and is encoded otherwise (query names and values).
// That is RFC 3986 percent-encoding: the one encoder in lethe/util/uri.h.
inline constexpr auto& UriEncode = util::PercentEncode;

// The canonical query string: encoded name=value pairs sorted by byte order.
std::string CanonicalQuery(const std::vector<std::pair<std::string, std::string>>& query);

// `amz_date` is the request's x-amz-date, "YYYYMMDDTHHMMSSZ".
SigV4Signature SignV4(const SigV4Request& req, const SigV4Credentials& creds, const std::string& amz_date);

// Lowercase hex SHA-256 (the core's).
using ::lethe::Sha256Hex;

}  // namespace lethe::s3
