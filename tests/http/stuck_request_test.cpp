// Stopping a stuck in_progress request over HTTP (issue 8, item 6): only an
// admin may fail or cancel a running request, with a reason, and the hung
// worker holding it can no longer write its result.
#include <catch2/catch.hpp>

#include "http_test_util.h"

using namespace lethe;
using namespace lethe::testing;

TEST_CASE("only an admin stops a running request, with a reason", "[http][inbox][lease]") {
  Harness h;
  json body = {
      {"type", "access"}, {"regulation", "gdpr"}, {"subject", {{"email", "stuck@example.com"}}}, {"verified", true}};
  const std::string id = h.Post("/v1/requests", kOperatorKey, body).Json()["id"];
  const std::string base = "/v1/requests/" + id;
  REQUIRE(h.Post(base + "/approve", kOperatorKey, json()).status == 200);
  // A worker claims it and hangs (its lease stays live).
  const std::string hung = "host-a:1:aaaaaaaa#1";
  REQUIRE(h.service->workflow().Start(id, hung, std::chrono::seconds(600)).ok());
  REQUIRE(h.Get(base, kAuditorKey).Json()["status"] == "in_progress");

  // An operator can neither fail nor cancel it.
  Response op_fail = h.Post(base + "/fail", kOperatorKey, {{"reason", "stuck"}});
  CHECK(op_fail.status == 403);
  Response op_cancel = h.Post(base + "/cancel", kOperatorKey, {{"reason", "stuck"}});
  CHECK(op_cancel.status == 409);
  CHECK_THAT(op_cancel.body, Catch::Contains("in_progress"));
  // The admin must say why.
  Response no_reason = h.Post(base + "/fail", kAdminKey, json::object());
  CHECK(no_reason.status == 400);
  CHECK(no_reason.ErrorField() == "/reason");

  Response failed = h.Post(base + "/fail", kAdminKey, {{"reason", "connector app hangs"}});
  REQUIRE(failed.status == 200);
  json r = failed.Json();
  CHECK(r["status"] == "failed");
  const json& last = r["events"].back();
  CHECK(last["kind"] == "failed");
  CHECK(last["actor"] == "alice");
  CHECK(last["reason"] == "connector app hangs");

  // The hung worker returns: its result is refused.
  auto stale = h.service->workflow().Finish(id, hung, Result<Outcome>(Outcome{}));
  CHECK(stale.status().code() == Code::kConflict);
  CHECK(h.Get(base, kAuditorKey).Json()["status"] == "failed");
  // fail is only for a running request.
  CHECK(h.Post(base + "/fail", kAdminKey, {{"reason", "again"}}).status == 409);

  // Cancel of a running request, by the admin, with its reason.
  const std::string id2 = h.Post("/v1/requests", kOperatorKey, body).Json()["id"];
  REQUIRE(h.Post("/v1/requests/" + id2 + "/approve", kOperatorKey, json()).status == 200);
  REQUIRE(h.service->workflow().Start(id2, "host-b:2:bbbbbbbb#1", std::chrono::seconds(600)).ok());
  CHECK(h.Post("/v1/requests/" + id2 + "/cancel", kAdminKey, json::object()).ErrorField() == "/reason");
  Response cancelled = h.Post("/v1/requests/" + id2 + "/cancel", kAdminKey, {{"reason", "subject withdrew"}});
  REQUIRE(cancelled.status == 200);
  CHECK(cancelled.Json()["status"] == "cancelled");
}
