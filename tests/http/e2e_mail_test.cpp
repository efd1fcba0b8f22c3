// End to end through the real SMTP sink (maildev): an emailed request is
// verified with the code from the mail, executed, and its export fetched
// through the download link from the second mail.
#include <regex>

#include <catch2/catch.hpp>

#include "http_test_util.h"
#include "notify_test_support.h"

using namespace lethe;
using namespace lethe::testing;
using bhttp::verb;

TEST_CASE("emailed request: code by mail, verify, execute, download link by mail", "[http][e2e][mail]") {
  const std::string smtp = notify_test::ServiceEnv("LETHE_SMTP_URL");
  const std::string email = "e2e-" + notify_test::RandomTag() + "@example.com";
  TempDir tmp;  // only for the config's base dir name; Harness has its own
  json cfg = TestConfigJson(tmp.str());
  cfg["notify"] = {{"smtp", {{"url", smtp}, {"from", "privacy@example.com"}}}};
  Harness h(cfg);

  json body = {{"type", "access"}, {"channel", "email"}, {"subject", {{"email", email}}}};
  Response created = h.Post("/v1/requests", kOperatorKey, body);
  REQUIRE(created.status == 201);
  const std::string id = created.Json()["id"];
  REQUIRE(created.Json()["status"] == "unverified");

  REQUIRE(h.service->TickScheduler().ok());  // delivers the outbox
  auto mails = notify_test::MailsTo(email, 1);
  REQUIRE(mails.size() == 1);
  std::smatch m;
  const std::string text = mails[0].value("text", "");
  REQUIRE(std::regex_search(text, m, std::regex("\\b(\\d{6})\\b")));
  Response verified = Call(h.port, verb::post, "/v1/verify", json{{"request_id", id}, {"code", m[1].str()}}.dump());
  REQUIRE(verified.status == 200);
  CHECK(verified.Json()["status"] == "pending");

  REQUIRE(h.Post("/v1/requests/" + id + "/approve", kOperatorKey, json()).status == 200);
  REQUIRE(h.service->RunWorkers().ok());
  REQUIRE(h.Get("/v1/requests/" + id, kAuditorKey).Json()["status"] == "completed");
  REQUIRE(h.service->TickScheduler().ok());
  mails = notify_test::MailsTo(email, 2);
  REQUIRE(mails.size() >= 2);
  std::string link_text;
  for (const auto& mail : mails) link_text += mail.value("text", "");
  REQUIRE(std::regex_search(link_text, m, std::regex("/v1/downloads/([A-Za-z0-9_-]{43})")));
  Response zip = Call(h.port, verb::get, "/v1/downloads/" + m[1].str());
  REQUIRE(zip.status == 200);
  CHECK(zip.body.rfind("PK", 0) == 0);
}
