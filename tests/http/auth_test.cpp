// Authentication over real HTTP: every way a JWT or an operator key can be
// wrong is a 401, and roles are enforced per endpoint.
#include <catch2/catch.hpp>

#include "http_test_util.h"

using namespace lethe;
using namespace lethe::testing;
using bhttp::verb;

TEST_CASE("VerifyJwt accepts a good token and rejects each broken claim", "[http][auth]") {
  http::JwtSettings s{kJwtSecret, kIssuer, kAudience};
  const Time now = Now();
  auto verify = [&](const std::string& t) { return http::VerifyJwt(t, s, now); };

  auto ok = verify(SubjectToken("u1", "ada@example.com"));
  REQUIRE(ok.ok());
  CHECK(ok->sub == "u1");
  CHECK(ok->email == "ada@example.com");

  // aud may be an array containing ours.
  CHECK(verify(SubjectToken("u1", "a@x.io", 3600, {{"aud", {"other", kAudience}}})).ok());
  CHECK_FALSE(verify(SubjectToken("u1", "a@x.io", 3600, {{"aud", {"other"}}})).ok());

  struct Case {
    const char* name;
    std::string token;
    const char* msg;
  };
  const json p = {{"sub", "u1"}, {"email", "a@x.io"}, {"iss", kIssuer}, {"aud", kAudience}, {"exp", ToUnix(now) + 600}};
  std::vector<Case> cases = {
      {"expired", SubjectToken("u1", "a@x.io", -3600), "expired"},
      {"no exp", SubjectToken("u1", "a@x.io", 3600, {{"exp", nullptr}}), "exp"},
      {"wrong audience", SubjectToken("u1", "a@x.io", 3600, {{"aud", "someone-else"}}), "audience"},
      {"wrong issuer", SubjectToken("u1", "a@x.io", 3600, {{"iss", "https://evil.example"}}), "issuer"},
      {"no sub", SubjectToken("u1", "a@x.io", 3600, {{"sub", nullptr}}), "sub"},
      {"no email", SubjectToken("u1", "a@x.io", 3600, {{"email", nullptr}}), "email"},
      {"wrong key", http::SignJwt(p, "another-secret"), "signature"},
      {"alg none", http::Base64UrlEncode(R"({"alg":"none","typ":"JWT"})") + "." + http::Base64UrlEncode(p.dump()) + ".",
       "HS256"},
      {"alg HS512", http::SignJwt(p, kJwtSecret, {{"alg", "HS512"}}), "HS256"},
      {"malformed", "not-a-token", "malformed"},
      {"bad base64", "a.b.c$", "malformed"},
      {"tampered payload",
       [&] {
         std::string t = http::SignJwt(p, kJwtSecret);
         json evil = p;
         evil["sub"] = "u2";
         size_t d1 = t.find('.'), d2 = t.rfind('.');
         return t.substr(0, d1 + 1) + http::Base64UrlEncode(evil.dump()) + t.substr(d2);
       }(),
       "signature"},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    auto r = verify(c.token);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kUnauthorized);
    CHECK_THAT(r.status().message(), Catch::Contains(c.msg));
  }
}

TEST_CASE("Base64url round-trips and refuses non-canonical input", "[http][auth]") {
  for (const std::string& s :
       std::vector<std::string>{"", "f", "fo", "foo", "foob", "fooba", "foobar", std::string("\0\xff\xfe", 3)}) {
    std::string out;
    REQUIRE(http::Base64UrlDecode(http::Base64UrlEncode(s), &out));
    CHECK(out == s);
  }
  std::string out;
  CHECK_FALSE(http::Base64UrlDecode("Zm9v=", &out));  // padding
  CHECK_FALSE(http::Base64UrlDecode("Zh", &out));     // "f" is "Zg": stray bits set
  CHECK_FALSE(http::Base64UrlDecode("Z", &out));
}

TEST_CASE("self-service endpoints reject bad tokens over HTTP", "[http][auth]") {
  Harness h;
  const std::string good = SubjectToken("u1", "ada@example.com");
  REQUIRE(h.Get("/v1/self/requests", good).status == 200);

  const json p = {
      {"sub", "u1"}, {"email", "a@x.io"}, {"iss", kIssuer}, {"aud", kAudience}, {"exp", ToUnix(Now()) + 600}};
  std::vector<std::pair<std::string, std::string>> bad = {
      {"expired", SubjectToken("u1", "a@x.io", -3600)},
      {"wrong audience", SubjectToken("u1", "a@x.io", 3600, {{"aud", "x"}})},
      {"wrong issuer", SubjectToken("u1", "a@x.io", 3600, {{"iss", "x"}})},
      {"wrong key", http::SignJwt(p, "nope")},
      {"alg none", http::Base64UrlEncode(R"({"alg":"none"})") + "." + http::Base64UrlEncode(p.dump()) + "."},
      {"alg HS512", http::SignJwt(p, kJwtSecret, {{"alg", "HS512"}})},
      {"malformed", "garbage"},
      {"operator key", kAdminKey},
  };
  for (const auto& [name, token] : bad) {
    INFO(name);
    Response r = h.Get("/v1/self/requests", token);
    CHECK(r.status == 401);
    CHECK(r.Json()["error"]["code"] == "unauthorized");
    CHECK(r.headers["WWW-Authenticate"] == "Bearer");
  }
  // No header at all, and a non-Bearer scheme.
  CHECK(Call(h.port, verb::get, "/v1/self/requests").status == 401);
  CHECK(Call(h.port, verb::get, "/v1/self/requests", "", {{"Authorization", "Basic YTpi"}}).status == 401);
  // A JWT is not an operator key.
  CHECK(h.Get("/v1/requests", good).status == 401);
}

TEST_CASE("operator keys and roles", "[http][auth]") {
  Harness h;
  CHECK(h.Get("/v1/requests", "wrong-key").status == 401);
  CHECK(Call(h.port, verb::get, "/v1/requests").status == 401);
  // Case of the scheme does not matter (RFC 7235).
  CHECK(Call(h.port, verb::get, "/v1/requests", "", {{"Authorization", std::string("bearer ") + kAuditorKey}}).status ==
        200);

  const json body = {{"type", "access"}, {"subject", {{"email", "ada@example.com"}}}, {"verified", true}};
  // auditor: read-only, and the audit log.
  Response denied = h.Post("/v1/requests", kAuditorKey, body);
  CHECK(denied.status == 403);
  CHECK(denied.Json()["error"]["code"] == "forbidden");
  CHECK(h.Get("/v1/audit", kAuditorKey).status == 200);
  // operator: acts, but the audit log is not theirs.
  Response created = h.Post("/v1/requests", kOperatorKey, body);
  REQUIRE(created.status == 201);
  const std::string id = created.Json()["id"];
  CHECK(h.Get("/v1/audit", kOperatorKey).status == 403);
  CHECK(h.Post("/v1/requests/" + id + "/approve", kAuditorKey, json()).status == 403);
  CHECK(h.Get("/v1/requests/" + id, kAuditorKey).status == 200);
  CHECK(h.Get("/v1/stats", kAuditorKey).status == 200);
  CHECK(h.Get("/v1/me", kAuditorKey).Json()["role"] == "auditor");
  CHECK(h.Get("/v1/me", kOperatorKey).Json()["role"] == "operator");
  CHECK(h.Get("/v1/me", "not-a-key").status == 401);
  CHECK(h.Post("/v1/requests/" + id + "/approve", kOperatorKey, json()).status == 200);
  // admin: everything.
  CHECK(h.Get("/v1/audit?request_id=" + id, kAdminKey).status == 200);
  CHECK(h.Post("/v1/requests/" + id + "/assign", kAdminKey, {{"assignee", "alice"}}).status == 200);
}
