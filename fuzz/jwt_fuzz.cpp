// The self-service JWT parser (VerifyJwt and base64url, src/http/auth.cpp).
//
// The first byte picks what the rest is:
//   0: a whole token, as a caller sends it;
//   1: a payload (any bytes), signed with the right key and a good header, so
//      the claim checks behind the signature are reached;
//   2: bytes for the base64url round trip.
//
// Properties: every refusal is kUnauthorized with a message that never
// echoes the token; an accepted token's payload is strict JSON whose claims
// pass each check (HS256, exp, iss, aud, sub, email); base64url decoding is
// canonical (decode -> encode gives the same text) and encode -> decode is
// the identity.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <string>

#include "fuzz_check.h"
#include "http/auth.h"
#include "lethe/strict_json.h"

namespace {

using lethe::http::Base64UrlDecode;
using lethe::http::Base64UrlEncode;

const lethe::Time kNow = lethe::FromUnix(1767225600);  // 2026-01-01

lethe::http::JwtSettings Settings() {
  lethe::http::JwtSettings s;
  s.secret = "fuzz-secret-of-thirty-two-bytes!";
  s.issuer = "https://app.example";
  s.audience = "lethe";
  return s;
}

std::string Hmac(const std::string& key, const std::string& data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), mac, &len);
  return std::string(reinterpret_cast<char*>(mac), len);
}

lethe::Result<lethe::http::Principal> Verify(const std::string& token) {
  lethe::Result<lethe::http::Principal> p = lethe::http::VerifyJwt(token, Settings(), kNow);
  if (!p.ok()) {
    FUZZ_CHECK(p.status().code() == lethe::Code::kUnauthorized, "refusals are 401");
    FUZZ_CHECK(!p.status().message().empty(), "refusals say why");
    if (token.size() >= 8) FUZZ_CHECK(p.status().message().find(token) == std::string::npos, "never echoes the token");
  }
  return p;
}

void CheckAccepted(const lethe::http::Principal& p, const std::string& payload) {
  lethe::Result<nlohmann::json> c = lethe::ParseStrictJson(payload);
  FUZZ_CHECK(c.ok() && c->is_object(), "an accepted payload is a strict JSON object");
  FUZZ_CHECK(c->contains("exp") && (*c)["exp"].is_number(), "exp is required");
  FUZZ_CHECK((*c)["exp"].get<double>() + 30 > static_cast<double>(lethe::ToUnix(kNow)), "exp is in the future");
  FUZZ_CHECK(c->value("iss", nlohmann::json()) == Settings().issuer, "iss matches");
  FUZZ_CHECK(!p.sub.empty() && c->value("sub", nlohmann::json()) == p.sub, "sub is the claim");
  FUZZ_CHECK(!p.email.empty() && c->value("email", nlohmann::json()) == p.email, "email is the claim");
  FUZZ_CHECK(p.kind == lethe::http::Principal::Kind::kSubject, "a token names a subject");
}

void TokenAsSent(const std::string& token) {
  lethe::Result<lethe::http::Principal> p = Verify(token);
  if (!p.ok()) return;
  // Accepted without our key? Only if the fuzzer forged an HMAC, which it
  // cannot; so the signature and payload must be genuinely ours.
  size_t d1 = token.find('.'), d2 = token.rfind('.');
  std::string payload;
  FUZZ_CHECK(Base64UrlDecode(token.substr(d1 + 1, d2 - d1 - 1), &payload), "payload decodes");
  CheckAccepted(*p, payload);
}

void SignedPayload(const std::string& payload) {
  const std::string signing = Base64UrlEncode(R"({"alg":"HS256","typ":"JWT"})") + "." + Base64UrlEncode(payload);
  const std::string token = signing + "." + Base64UrlEncode(Hmac(Settings().secret, signing));
  lethe::Result<lethe::http::Principal> p = Verify(token);
  if (p.ok()) CheckAccepted(*p, payload);
}

void Base64RoundTrip(const std::string& bytes) {
  std::string enc = Base64UrlEncode(bytes), dec;
  FUZZ_CHECK(enc.find_first_of("+/=") == std::string::npos, "url-safe alphabet, no padding");
  FUZZ_CHECK(Base64UrlDecode(enc, &dec) && dec == bytes, "encode -> decode is the identity");
  if (Base64UrlDecode(bytes, &dec)) FUZZ_CHECK(Base64UrlEncode(dec) == bytes, "only canonical text decodes");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0: TokenAsSent(rest); break;
    case 1: SignedPayload(rest); break;
    default: Base64RoundTrip(rest); break;
  }
  return 0;
}
