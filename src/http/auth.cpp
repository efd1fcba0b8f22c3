#include "http/auth.h"

#include <algorithm>
#include <cctype>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "lethe/hex.h"
#include "lethe/strict_json.h"

namespace lethe::http {
namespace {

std::string HmacSha256Raw(std::string_view key, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), mac, &len);
  return std::string(reinterpret_cast<char*>(mac), len);
}

// The credential after "Bearer " (scheme is case-insensitive, RFC 7235).
Result<std::string_view> BearerToken(std::string_view h) {
  if (h.empty()) return Status::Unauthorized("missing Authorization header");
  constexpr std::string_view kScheme = "bearer ";
  if (h.size() <= kScheme.size()) return Status::Unauthorized("expected \"Authorization: Bearer <credential>\"");
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(h[i])) != kScheme[i])
      return Status::Unauthorized("expected \"Authorization: Bearer <credential>\"");
  }
  std::string_view t = h.substr(kScheme.size());
  while (!t.empty() && t.front() == ' ') t.remove_prefix(1);
  while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
  if (t.empty()) return Status::Unauthorized("empty bearer credential");
  return t;
}

Result<nlohmann::json> DecodeJsonPart(std::string_view part, const char* what) {
  std::string raw;
  if (!Base64UrlDecode(part, &raw))
    return Status::Unauthorized(std::string("malformed token: bad ") + what + " encoding");
  // I-JSON (RFC 7493, as RFC 7515 section 4 and RFC 7519 section 4 ask):
  // with two "sub" claims, which one would a check see and which one the
  // handler? Duplicates, deep nesting and huge integers are refused.
  Result<nlohmann::json> j = ParseStrictJson(raw);
  if (!j.ok()) return Status::Unauthorized(std::string("malformed token: ") + what + ": " + j.status().ToString());
  if (!j->is_object()) return Status::Unauthorized(std::string("malformed token: ") + what + " is not a JSON object");
  return j;
}

}  // namespace

std::string_view ToString(Role r) {
  switch (r) {
    case Role::kAuditor: return "auditor";
    case Role::kOperator: return "operator";
    case Role::kAdmin: return "admin";
  }
  return "auditor";
}

std::string SignJwt(const nlohmann::json& payload, std::string_view secret, const nlohmann::json& header) {
  std::string signing = Base64UrlEncode(header.dump()) + "." + Base64UrlEncode(payload.dump());
  return signing + "." + Base64UrlEncode(HmacSha256Raw(secret, signing));
}

Result<Principal> VerifyJwt(std::string_view token, const JwtSettings& s, Time now) {
  if (s.secret.empty()) return Status::Unauthorized("self-service is not configured");
  if (token.size() > 8192) return Status::Unauthorized("malformed token: too long");
  size_t d1 = token.find('.');
  size_t d2 = d1 == std::string_view::npos ? d1 : token.find('.', d1 + 1);
  if (d2 == std::string_view::npos || token.find('.', d2 + 1) != std::string_view::npos)
    return Status::Unauthorized("malformed token: expected three dot-separated parts");

  LETHE_ASSIGN_OR_RETURN(auto header, DecodeJsonPart(token.substr(0, d1), "header"));
  // Exactly HS256: "none", HS512, RS256 ... are all refused, so a token can
  // never choose a weaker check than the one we configured.
  auto alg = header.find("alg");
  if (alg == header.end() || !alg->is_string() || *alg != "HS256")
    return Status::Unauthorized("token algorithm must be HS256");
  // RFC 7515 §4.1.11: a recipient must refuse a token whose "crit" names an
  // extension it does not understand. Lethe implements none, so any "crit"
  // (well-formed or not) is refused.
  if (header.contains("crit")) return Status::Unauthorized("token names critical extensions Lethe does not implement");

  std::string sig;
  if (!Base64UrlDecode(token.substr(d2 + 1), &sig))
    return Status::Unauthorized("malformed token: bad signature encoding");
  std::string expected = HmacSha256Raw(s.secret, token.substr(0, d2));
  if (sig.size() != expected.size() || CRYPTO_memcmp(sig.data(), expected.data(), expected.size()) != 0)
    return Status::Unauthorized("token signature does not verify");

  // Only a token we signed gets its claims read.
  LETHE_ASSIGN_OR_RETURN(auto claims, DecodeJsonPart(token.substr(d1 + 1, d2 - d1 - 1), "payload"));
  const nlohmann::json& c = claims;
  const int64_t t = ToUnix(now);

  auto exp = c.find("exp");
  if (exp == c.end() || !exp->is_number()) return Status::Unauthorized("token has no exp");
  if (exp->get<double>() + static_cast<double>(s.leeway_seconds) <= static_cast<double>(t))
    return Status::Unauthorized("token has expired");
  auto nbf = c.find("nbf");
  if (nbf != c.end()) {
    if (!nbf->is_number()) return Status::Unauthorized("token nbf is not a number");
    if (nbf->get<double>() > static_cast<double>(t + s.leeway_seconds))
      return Status::Unauthorized("token is not valid yet");
  }
  auto iss = c.find("iss");
  if (iss == c.end() || !iss->is_string() || *iss != s.issuer)
    return Status::Unauthorized("token issuer does not match");
  auto aud = c.find("aud");
  bool aud_ok = false;
  if (aud != c.end() && aud->is_string()) aud_ok = *aud == s.audience;
  if (aud != c.end() && aud->is_array()) {
    for (const auto& a : *aud) aud_ok = aud_ok || (a.is_string() && a == s.audience);
  }
  if (!aud_ok) return Status::Unauthorized("token audience does not match");

  Principal p;
  p.kind = Principal::Kind::kSubject;
  auto sub = c.find("sub");
  auto email = c.find("email");
  if (sub == c.end() || !sub->is_string() || sub->get<std::string>().empty())
    return Status::Unauthorized("token has no sub");
  if (email == c.end() || !email->is_string() || email->get<std::string>().empty())
    return Status::Unauthorized("token has no email");
  p.sub = sub->get<std::string>();
  p.email = email->get<std::string>();
  if (p.sub.size() > 256 || p.email.size() > 320) return Status::Unauthorized("token claims too long");
  return p;
}

Result<Principal> Authenticator::Operator(std::string_view authorization) const {
  LETHE_ASSIGN_OR_RETURN(auto key, BearerToken(authorization));
  const std::string digest = Sha256Hex(key);
  // Look at every key without stopping early: the time taken says nothing
  // about which (or whether a) key came close.
  const OperatorKey* found = nullptr;
  for (const OperatorKey& op : operators_) {
    std::string want = op.key_sha256;
    std::transform(want.begin(), want.end(), want.begin(), [](unsigned char c) { return std::tolower(c); });
    if (want.size() == digest.size() && CRYPTO_memcmp(want.data(), digest.data(), digest.size()) == 0) found = &op;
  }
  if (found == nullptr) return Status::Unauthorized("unknown operator key");
  Principal p;
  p.kind = Principal::Kind::kOperator;
  p.name = found->name;
  p.role = found->role == "admin" ? Role::kAdmin : found->role == "operator" ? Role::kOperator : Role::kAuditor;
  return p;
}

Result<Principal> Authenticator::Subject(std::string_view authorization, Time now) const {
  LETHE_ASSIGN_OR_RETURN(auto token, BearerToken(authorization));
  return VerifyJwt(token, jwt_, now);
}

bool RateLimiter::Allow(const std::string& key) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> lock(mu_);
  if (buckets_.size() > 100000) {
    // Forget callers whose bucket has refilled: they lose nothing.
    for (auto it = buckets_.begin(); it != buckets_.end();) {
      double secs = std::chrono::duration<double>(now - it->second.at).count();
      it = it->second.tokens + secs * rate_ >= burst_ ? buckets_.erase(it) : std::next(it);
    }
  }
  auto [it, inserted] = buckets_.try_emplace(key, Bucket{burst_, now});
  Bucket& b = it->second;
  double secs = std::chrono::duration<double>(now - b.at).count();
  b.tokens = std::min(burst_, b.tokens + secs * rate_);
  b.at = now;
  if (b.tokens < 1.0) return false;
  b.tokens -= 1.0;
  return true;
}

}  // namespace lethe::http
