// Issue 8 over the real server: identities are verified one by one, and an
// erasure takes the subject's earlier exports (and their links) with it.
#include <catch2/catch.hpp>

#include "http_test_util.h"
#include "notify/links.h"

using namespace lethe;
using namespace lethe::testing;

TEST_CASE("an emailed code proves the email only, not the user id the request also claims", "[trust][identity]") {
  Harness h;
  Response created =
      h.Post("/v1/requests", kOperatorKey,
             {{"type", "access"}, {"channel", "email"}, {"subject", {{"email", "eve@evil.test"}, {"user_id", "42"}}}});
  REQUIRE(created.status == 201);
  const std::string id = created.Json()["id"];
  CHECK(created.Json()["unverified_identities"] == json::array({"email", "user_id"}));

  auto r = h.service->store().Get(id);
  REQUIRE(r.ok());
  auto code = MintVerificationCode(h.service->store(), id, Now());
  REQUIRE(code.ok());
  Response verified = Call(h.port, bhttp::verb::post, "/v1/verify", json{{"request_id", id}, {"code", *code}}.dump());
  REQUIRE(verified.status == 200);

  json shown = h.Get("/v1/requests/" + id, kOperatorKey).Json();
  CHECK(shown["status"] == "pending");
  CHECK(shown["verified_identities"] == json::array({"email"}));
  CHECK(shown["unverified_identities"] == json::array({"user_id"}));

  // The operator may prove the user id too, by their own judgement, and it shows.
  Response more = h.Post("/v1/requests/" + id + "/verify", kOperatorKey, {{"identities", {"user_id"}}});
  REQUIRE(more.status == 200);
  CHECK(more.Json()["unverified_identities"] == json::array());
  // ... but only identities the request claims.
  Response bogus = h.Post("/v1/requests/" + id + "/verify", kOperatorKey, {{"identities", {"phone"}}});
  CHECK(bogus.status == 400);
  CHECK(bogus.ErrorField() == "/identities/0");
}

TEST_CASE("identity shapes are checked at intake: a user id holding a path delimiter is refused", "[trust][identity]") {
  Harness h;
  for (const char* bad : {"42/private", "..", "a\\b", "x\ny"}) {
    Response r = h.Post("/v1/requests", kOperatorKey,
                        {{"type", "erasure"}, {"subject", {{"email", "x@example.com"}, {"user_id", bad}}}});
    CHECK(r.status == 400);
    CHECK(r.ErrorField() == "/subject/user_id");
    CHECK(r.body.find("private") == std::string::npos);  // the value is not echoed
  }
  Response ok = h.Post("/v1/requests", kOperatorKey,
                       {{"type", "erasure"}, {"subject", {{"email", "x@example.com"}, {"user_id", "auth0|42"}}}});
  CHECK(ok.status == 201);
}

TEST_CASE("after an erasure the subject's earlier exports are gone and their links answer 410", "[trust][erasure]") {
  Harness h;
  const std::string token = SubjectToken("u-ada", "ada@example.com");
  Response access = h.Post("/v1/self/requests", token, {{"type", "access"}});
  REQUIRE(access.status == 201);
  const std::string access_id = access.Json()["id"];
  REQUIRE(h.service->RunWorkers().ok());
  auto done = h.service->store().Get(access_id);
  REQUIRE(done.ok());
  REQUIRE(done->status == RequestStatus::kCompleted);
  const std::string zip = done->export_path;
  REQUIRE(std::filesystem::exists(zip));
  auto link = MintDownloadToken(h.service->store(), access_id, Now() + std::chrono::hours(24), Now());
  REQUIRE(link.ok());
  CHECK(Call(h.port, bhttp::verb::get, "/v1/downloads/" + *link).status == 200);

  // The erasure, filed and verified by an operator for the same person.
  Response erasure = h.Post(
      "/v1/requests", kOperatorKey,
      {{"type", "erasure"}, {"verified", true}, {"subject", {{"email", "ada@example.com"}, {"user_id", "u-ada"}}}});
  REQUIRE(erasure.status == 201);
  const std::string erasure_id = erasure.Json()["id"];
  REQUIRE(h.Post("/v1/requests/" + erasure_id + "/approve", kOperatorKey, json::object()).status == 200);
  REQUIRE(h.service->RunWorkers().ok());
  REQUIRE(h.Get("/v1/requests/" + erasure_id, kOperatorKey).Json()["status"] == "completed");

  CHECK_FALSE(std::filesystem::exists(zip));
  CHECK(Call(h.port, bhttp::verb::get, "/v1/downloads/" + *link).status == 410);
  CHECK(h.Get("/v1/self/requests/" + access_id + "/export", token).status == 410);
  // The settings page sees no download any more, and still sees its requests.
  json mine = h.Get("/v1/self/requests", token).Json();
  REQUIRE(mine["items"].size() == 1);
  CHECK(mine["items"][0]["export_available"] == false);
  // Nothing in the store names ada any more.
  json listed = h.Get("/v1/requests?q=ada%40example.com", kOperatorKey).Json();
  CHECK(listed["items"].empty());
  auto page = h.service->store().List(RequestFilter{});
  REQUIRE(page.ok());
  for (const auto& r : page->items) {
    CHECK(r.subject.email.empty());
    CHECK(r.owner != "u-ada");
    CHECK(r.ToJson(Now()).dump().find("ada@example.com") == std::string::npos);
  }
}
