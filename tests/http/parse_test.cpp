// The Parse*Request functions (http/parse.h) without a server: valid input
// gives the typed request, and each refusal names its field, exactly as the
// 400 reply's "field" does (api_test and input_hardening_test check the
// same over a socket for a few of them).
#include <catch2/catch.hpp>

#include "http/parse.h"

using namespace lethe;
using namespace lethe::http;

namespace {

// The field pointer of a refusal; "(ok)" when the input was accepted, and
// the message when the refusal is not kInvalid (so a test names what it got).
template <class T>
std::string FieldOf(const Result<T>& r) {
  if (r.ok()) return "(ok)";
  if (r.status().code() != Code::kInvalid) return "not kInvalid: " + r.status().ToString();
  return r.status().field();
}

}  // namespace

TEST_CASE("ParseVerifyCodeRequest", "[http][parse]") {
  Result<VerifyCodeRequest> ok = ParseVerifyCodeRequest(R"({"request_id":"req_1","code":"123456"})");
  REQUIRE(ok.ok());
  CHECK(ok->request_id == "req_1");
  CHECK(ok->code == "123456");

  CHECK(FieldOf(ParseVerifyCodeRequest("")) == "");
  CHECK(FieldOf(ParseVerifyCodeRequest("[]")) == "");
  CHECK(FieldOf(ParseVerifyCodeRequest(R"({"request_id":"req_1"})")) == "/code");
  CHECK(FieldOf(ParseVerifyCodeRequest(R"({"code":"1"})")) == "/request_id");
  CHECK(FieldOf(ParseVerifyCodeRequest(R"({"request_id":"","code":"1"})")) == "/request_id");
  CHECK(FieldOf(ParseVerifyCodeRequest(R"({"request_id":"r","code":7})")) == "/code");
  CHECK(FieldOf(ParseVerifyCodeRequest(R"({"request_id":"r","code":"1","x~y":1})")) == "/x~0y");
}

TEST_CASE("ParsePageRequest", "[http][parse]") {
  Result<RequestFilter> none = ParsePageRequest({});
  REQUIRE(none.ok());
  CHECK(none->limit == RequestFilter().limit);
  CHECK(none->cursor.empty());

  Result<RequestFilter> ok = ParsePageRequest({{"limit", "500"}, {"cursor", "1700000000.req_abc"}, {"other", "x"}});
  REQUIRE(ok.ok());
  CHECK(ok->limit == 500);
  CHECK(ok->cursor == "1700000000.req_abc");
  CHECK(ParsePageRequest({{"limit", "1"}})->limit == 1);

  for (const char* bad : {"0", "501", "-1", "", "10x", "x", "99999999999999999999"})
    CHECK(FieldOf(ParsePageRequest({{"limit", bad}})) == "/query/limit");
  for (const char* bad : {"", "abc", ".req", "17.", "1x.req", "1.a b", "1234567890123456789.r"})
    CHECK(FieldOf(ParsePageRequest({{"cursor", bad}})) == "/query/cursor");
}

TEST_CASE("ParseSelfCreateRequest", "[http][parse]") {
  Result<NewRequest> ok = ParseSelfCreateRequest(R"({"type":"erasure","note":"bye","params":{"a":1}})");
  REQUIRE(ok.ok());
  CHECK(ok->type == RequestType::kErasure);
  CHECK(ok->note == "bye");
  CHECK(ok->params == nlohmann::json{{"a", 1}});
  // Who the subject is comes from the JWT, never from here.
  CHECK(ok->subject.email.empty());
  CHECK(ok->owner.empty());
  CHECK_FALSE(ok->verified);

  CHECK(FieldOf(ParseSelfCreateRequest("")) == "");
  CHECK(FieldOf(ParseSelfCreateRequest("{}")) == "/type");
  CHECK(FieldOf(ParseSelfCreateRequest(R"({"type":"forget"})")) == "/type");
  CHECK(FieldOf(ParseSelfCreateRequest(R"({"type":1})")) == "/type");
  CHECK(FieldOf(ParseSelfCreateRequest(R"({"type":"access","note":false})")) == "/note");
  CHECK(FieldOf(ParseSelfCreateRequest(R"({"type":"access","params":[]})")) == "/params");
  // The body may not name the subject: the JWT does.
  CHECK(FieldOf(ParseSelfCreateRequest(R"({"type":"access","subject":{"email":"a@b.c"}})")) == "/subject");
}
