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
