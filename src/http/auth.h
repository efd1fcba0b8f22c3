// Who is calling: operators by bearer key, subjects by HS256 JWT from the
// host application. Both checks are constant-time where a secret is compared.
#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "lethe/config.h"
#include "lethe/status.h"
#include "lethe/time.h"

#include "lethe/util/base64.h"

namespace lethe::http {

enum class Role { kAuditor, kOperator, kAdmin };
std::string_view ToString(Role r);

struct Principal {
  enum class Kind { kNone, kOperator, kSubject } kind = Kind::kNone;
  std::string name;  // operator name (kOperator)
  Role role = Role::kAuditor;
  std::string sub;    // JWT sub (kSubject)
  std::string email;  // JWT email (kSubject): PII, never logged
  // Stable key for rate limits and idempotency records; carries no PII
  // beyond the host app's opaque sub.
  std::string Key() const { return kind == Kind::kOperator ? "op:" + name : "sub:" + sub; }
  // The actor written into events and the audit log.
  std::string Actor() const { return kind == Kind::kOperator ? name : "subject"; }
};

struct JwtSettings {
  std::string secret;  // empty: self-service disabled (every token is 401)
  std::string issuer;
  std::string audience;
  int64_t leeway_seconds = 30;  // clock skew between the host app and us
};

// Verifies a compact HS256 JWT: the header's alg must be exactly "HS256",
// the signature must match (constant-time), exp is required and in the
// future, nbf (if present) in the past, iss and aud must match (aud may be
// a string or an array), sub and email must be non-empty strings.
// Every failure is kUnauthorized with a message that names the check (and
// never echoes the token).
Result<Principal> VerifyJwt(std::string_view token, const JwtSettings& s, Time now);

// Builds a signed HS256 token from a payload (tests, the demo, the bench).
std::string SignJwt(const nlohmann::json& payload, std::string_view secret,
                    const nlohmann::json& header = {{"alg", "HS256"}, {"typ", "JWT"}});

// Base64url for tokens is lethe/util/base64.h (strict decoding).
using util::Base64UrlDecode;
using util::Base64UrlEncode;

class Authenticator {
 public:
  Authenticator(std::vector<OperatorKey> operators, JwtSettings jwt)
      : operators_(std::move(operators)), jwt_(std::move(jwt)) {}

  // `authorization` is the raw header value. kUnauthorized when absent,
  // malformed, or matching no key / no valid token.
  Result<Principal> Operator(std::string_view authorization) const;
  Result<Principal> Subject(std::string_view authorization, Time now) const;
  bool self_service_enabled() const { return !jwt_.secret.empty(); }

 private:
  std::vector<OperatorKey> operators_;
  JwtSettings jwt_;
};

// Token bucket per key: `burst` requests at once, refilled at `per_second`.
class RateLimiter {
 public:
  RateLimiter(double burst, double per_second) : burst_(burst), rate_(per_second) {}
  // True if the caller may proceed (and takes a token).
  bool Allow(const std::string& key);

 private:
  struct Bucket {
    double tokens;
    std::chrono::steady_clock::time_point at;
  };
  std::mutex mu_;
  double burst_, rate_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace lethe::http
