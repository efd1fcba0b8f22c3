// RFC 7493 (I-JSON) as Lethe applies it to every JSON body it accepts
// (contract §4): against the real server over loopback. Every assertion names
// the clause it checks. (RFC 7515/7519 JWT payloads: rfc7515_test.cpp and
// tests/http/input_hardening_test.cpp.)
#include <catch2/catch.hpp>

#include "protocols/protocol_util.h"

using namespace lethe;
using namespace lethe::testing;
using bhttp::verb;

namespace {

Response PostSelf(const Harness& h, const std::string& token, const std::string& body) {
  return Call(h.port, verb::post, "/v1/self/requests", body, {{"Authorization", Bearer(token)}});
}

}  // namespace

TEST_CASE("RFC 7493 §2.3: members with duplicate names are refused, naming the member", "[protocols][rfc7493]") {
  Harness h;
  const std::string tok = SubjectToken("ijson-dup", "ijson-dup@example.com");
  // §2.3 "Objects in I-JSON messages MUST NOT have members with duplicate names."
  Response r = PostSelf(h, tok, R"({"type":"erasure","type":"access"})");
  CHECK(r.status == 400);
  CHECK(r.ErrorField() == "/type");
  // Nested objects too, with the pointer of the nested member.
  Response nested = PostSelf(h, tok, R"({"type":"access","params":{"a":1,"a":2}})");
  CHECK(nested.status == 400);
  CHECK(nested.ErrorField() == "/params/a");
  // Nothing was filed by either.
  CHECK(h.Get("/v1/self/requests", tok).Json()["items"].empty());
}

TEST_CASE("RFC 7493 §2.2: integers outside ±(2^53-1) are refused, the edge is kept exact", "[protocols][rfc7493]") {
  Harness h;
  const std::string tok = SubjectToken("ijson-num", "ijson-num@example.com");
  // §2.2: numbers beyond IEEE 754 double precision are not interoperable; a
  // rectification would otherwise write 1.2345678901234568e+29.
  for (const char* n : {"123456789012345678901234567890", "9007199254740993", "-9007199254740993"}) {
    INFO(n);
    Response r = PostSelf(h, tok, std::string(R"({"type":"access","params":{"n":)") + n + "}}");
    CHECK(r.status == 400);
    CHECK(r.ErrorField() == "/params/n");
  }
  // §2.2: within [-(2^53)+1, (2^53)-1] integers are exact (and 2^53 itself is
  // still exactly representable, so Lethe keeps it).
  Response ok = PostSelf(h, tok, R"({"type":"access","params":{"n":9007199254740991}})");
  REQUIRE(ok.status == 201);
  CHECK(ok.Json()["params"]["n"].get<int64_t>() == 9007199254740991);
}

TEST_CASE("RFC 7493 §2.1: text that is not UTF-8, or a lone surrogate, is refused", "[protocols][rfc7493]") {
  Harness h;
  const std::string tok = SubjectToken("ijson-utf8", "ijson-utf8@example.com");
  // §2.1 "I-JSON messages MUST be encoded using UTF-8": a Latin-1 byte.
  Response latin1 = PostSelf(h, tok, "{\"type\":\"access\",\"params\":{\"name\":\"Jos\xe9\"}}");
  CHECK(latin1.status == 400);
  // §2.1 "MUST NOT include code points that identify Surrogates".
  Response surrogate = PostSelf(h, tok, R"({"type":"access","params":{"name":"\ud800"}})");
  CHECK(surrogate.status == 400);
  // Well-formed UTF-8 and a proper surrogate pair are fine.
  Response fine = PostSelf(h, tok, R"({"type":"access","params":{"name":"Jos\u00e9 \ud83d\ude00"}})");
  CHECK(fine.status == 201);
  CHECK(h.Get("/v1/self/requests", tok).Json()["items"].size() == 1);
}
