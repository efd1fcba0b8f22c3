// The HTTP API end to end, over a real socket: self-service, the inbox,
// validation, idempotency, pagination, subject links, OpenDSR, operations.
#include <mutex>
#include <set>
#include <thread>

#include <catch2/catch.hpp>

#include "http_test_util.h"
#include "notify/links.h"

using namespace lethe;
using namespace lethe::testing;
using bhttp::verb;

namespace {

json NewInbox(const std::string& email, const std::string& type = "access", bool verified = true) {
  return {{"type", type}, {"regulation", "gdpr"}, {"subject", {{"email", email}}}, {"verified", verified}};
}

bool HasEvent(const json& request, const std::string& kind) {
  for (const auto& e : request["events"])
    if (e["kind"] == kind) return true;
  return false;
}

}  // namespace

TEST_CASE("self-service: create, list, show, export, cancel; other subjects see 404", "[http][self]") {
  Harness h;
  const std::string ada = SubjectToken("user-1", "ada@example.com");
  const std::string bob = SubjectToken("user-2", "bob@example.com");

  Response created = h.Post("/v1/self/requests", ada, {{"type", "access"}});
  REQUIRE(created.status == 201);
  json r = created.Json();
  const std::string id = r["id"];
  CHECK(r["status"] == "approved");  // access is auto-approved in the test config
  CHECK(r["channel"] == "self_service");
  CHECK(r["subject"]["email"] == "ada@example.com");
  CHECK(r["subject"]["user_id"] == "user-1");
  CHECK(HasEvent(r, "received"));

  // Only the owner sees it; to anyone else it does not exist.
  CHECK(h.Get("/v1/self/requests/" + id, ada).status == 200);
  Response other = h.Get("/v1/self/requests/" + id, bob);
  CHECK(other.status == 404);
  CHECK(other.Json()["error"]["code"] == "not_found");
  CHECK(h.Delete("/v1/self/requests/" + id, bob).status == 404);
  CHECK(h.Get("/v1/self/requests/" + id + "/export", bob).status == 404);
  CHECK(h.Get("/v1/self/requests", bob).Json()["items"].empty());
  json mine = h.Get("/v1/self/requests", ada).Json();
  REQUIRE(mine["items"].size() == 1);
  CHECK(mine["items"][0]["id"] == id);
  CHECK(mine["next_cursor"].is_null());

  // Not done yet: no export.
  CHECK(h.Get("/v1/self/requests/" + id + "/export", ada).status == 409);
  REQUIRE(h.service->RunWorkers().ok());
  json done = h.Get("/v1/self/requests/" + id, ada).Json();
  CHECK(done["status"] == "completed");
  Response zip = h.Get("/v1/self/requests/" + id + "/export", ada);
  REQUIRE(zip.status == 200);
  CHECK(zip.headers["Content-Type"] == "application/zip");
  CHECK(zip.body.rfind("PK", 0) == 0);
  // The download is in the audit log, without the subject's email.
  Response audit = h.Get("/v1/audit?request_id=" + id, kAuditorKey);
  REQUIRE(audit.status == 200);
  bool downloaded = false;
  const json entries = audit.Json();
  for (const auto& e : entries["items"]) downloaded = downloaded || e["kind"] == "downloaded";
  CHECK(downloaded);
  CHECK(audit.body.find("ada@example.com") == std::string::npos);

  // Erasure is not auto-approved here: pending, and the subject may cancel it.
  Response erase = h.Post("/v1/self/requests", ada, {{"type", "erasure"}});
  REQUIRE(erase.status == 201);
  const std::string eid = erase.Json()["id"];
  CHECK(erase.Json()["status"] == "pending");
  Response cancelled = h.Delete("/v1/self/requests/" + eid, ada);
  REQUIRE(cancelled.status == 200);
  CHECK(cancelled.Json()["status"] == "cancelled");
  // Cancelling twice is an illegal transition: 409 naming the status.
  Response again = h.Delete("/v1/self/requests/" + eid, ada);
  CHECK(again.status == 409);
  CHECK_THAT(again.Json()["error"]["message"].get<std::string>(), Catch::Contains("cancelled"));

  // Bad input is 400 with the field.
  Response bad = h.Post("/v1/self/requests", ada, {{"type", "everything"}});
  CHECK(bad.status == 400);
  CHECK(bad.ErrorField() == "/type");
  Response unknown = h.Post("/v1/self/requests", ada, {{"type", "access"}, {"email", "x@y.z"}});
  CHECK(unknown.status == 400);
  CHECK(unknown.ErrorField() == "/email");
}

TEST_CASE("inbox: file, triage and act on a request", "[http][inbox]") {
  Harness h;
  json body = NewInbox("carol@example.com", "erasure", false);
  body["received_at"] = "2026-01-31T10:00:00Z";
  body["note"] = "arrived by letter";
  Response created = h.Post("/v1/requests", kOperatorKey, body);
  REQUIRE(created.status == 201);
  json r = created.Json();
  const std::string id = r["id"];
  CHECK(r["status"] == "unverified");
  CHECK(r["received_at"] == "2026-01-31T10:00:00Z");
  CHECK(r["due_at"] == "2026-03-02T22:59:59Z");  // one month, rolled past the weekend, Berlin time
  const std::string base = "/v1/requests/" + id;

  // Approve before verifying: the state machine refuses.
  Response early = h.Post(base + "/approve", kOperatorKey, json());
  CHECK(early.status == 409);
  CHECK(h.Post(base + "/verify", kOperatorKey, json()).Json()["status"] == "pending");

  Response no_reason = h.Post(base + "/deny", kOperatorKey, json::object());
  CHECK(no_reason.status == 400);
  CHECK(no_reason.ErrorField() == "/reason");
  Response bad_kind = h.Post(base + "/hold", kOperatorKey, {{"reason", "who?"}, {"kind", "lunch"}});
  CHECK(bad_kind.status == 400);
  CHECK(bad_kind.ErrorField() == "/kind");

  json held = h.Post(base + "/hold", kOperatorKey, {{"reason", "need ID"}, {"kind", "identity"}}).Json();
  CHECK(held["status"] == "on_hold");
  CHECK(h.Post(base + "/resume", kOperatorKey, json()).Json()["status"] == "pending");
  json assigned = h.Post(base + "/assign", kOperatorKey, {{"assignee", "oscar"}}).Json();
  CHECK(assigned["assignee"] == "oscar");
  CHECK(h.Post(base + "/notes", kOperatorKey, {{"note", "called the subject"}}).status == 200);
  CHECK(h.Post(base + "/notes", kOperatorKey, {{"reason", "x"}}).ErrorField() == "/reason");

  Response plan = h.Get(base + "/plan", kAuditorKey);
  REQUIRE(plan.status == 200);
  CHECK(plan.Json().contains("connectors"));

  json approved = h.Post(base + "/approve", kOperatorKey, json()).Json();
  CHECK(approved["status"] == "approved");
  json shown = h.Get(base, kAuditorKey).Json();
  for (const char* kind : {"received", "verified", "on_hold", "assigned", "note", "approved"}) {
    INFO(kind);
    CHECK(HasEvent(shown, kind));
  }
  CHECK(shown["tasks"].is_array());
  CHECK(shown["assignee"] == "oscar");

  // Filters.
  CHECK(h.Get("/v1/requests?status=approved", kAuditorKey).Json()["items"].size() == 1);
  CHECK(h.Get("/v1/requests?status=pending", kAuditorKey).Json()["items"].empty());
  CHECK(h.Get("/v1/requests?assignee=oscar", kAuditorKey).Json()["items"].size() == 1);
  CHECK(h.Get("/v1/requests?type=access", kAuditorKey).Json()["items"].empty());
  CHECK(h.Get("/v1/requests?overdue=true", kAuditorKey).Json()["items"].size() == 1);  // due 2026-03-02
  CHECK(h.Get("/v1/requests?q=" + id.substr(4, 8), kAuditorKey).Json()["items"].size() == 1);
  CHECK(h.Get("/v1/requests?due_before=2026-03-01", kAuditorKey).Json()["items"].empty());
  CHECK(h.Get("/v1/requests?due_before=2026-03-04", kAuditorKey).Json()["items"].size() == 1);
  CHECK(h.Get("/v1/requests?status=bogus", kAuditorKey).ErrorField() == "/query/status");
  CHECK(h.Get("/v1/requests?limit=0", kAuditorKey).ErrorField() == "/query/limit");
  CHECK(h.Get("/v1/requests?colour=red", kAuditorKey).ErrorField() == "/query/colour");
  CHECK(h.Get("/v1/requests?cursor=garbage", kAuditorKey).ErrorField() == "/query/cursor");
  CHECK(h.Get("/v1/requests?q=%27%20OR%201%3D1%20--%25_", kAuditorKey).Json()["items"].empty());
  CHECK(h.Get("/v1/requests?q=%zz", kAuditorKey).status == 400);

  // Extension is too late (the first deadline has passed); cancel ends it.
  Response ext = h.Post(base + "/extend", kOperatorKey, {{"reason", "complex"}});
  CHECK(ext.status == 409);
  CHECK(h.Post(base + "/cancel", kOperatorKey, json()).Json()["status"] == "cancelled");
  CHECK(h.Post(base + "/retry", kOperatorKey, json()).status == 409);
  CHECK(h.Get("/v1/requests/req_doesnotexist", kAuditorKey).status == 404);

  json stats = h.Get("/v1/stats", kAuditorKey).Json();
  CHECK(stats["by_status"]["cancelled"] == 1);
}

TEST_CASE("inbox: extend, deny and retry", "[http][inbox]") {
  Harness h;
  const std::string a = h.Post("/v1/requests", kOperatorKey, NewInbox("d@example.com")).Json()["id"];
  json ext = h.Post("/v1/requests/" + a + "/extend", kOperatorKey, {{"reason", "many systems"}}).Json();
  CHECK(ext["extended"] == true);
  CHECK(h.Post("/v1/requests/" + a + "/extend", kOperatorKey, {{"reason", "again"}}).status == 409);
  json denied = h.Post("/v1/requests/" + a + "/deny", kOperatorKey, {{"reason", "manifestly unfounded"}}).Json();
  CHECK(denied["status"] == "denied");
}

TEST_CASE("malformed and unknown input is 400 naming the field, never 5xx", "[http][validation]") {
  Harness h;
  auto post_raw = [&](const std::string& body) {
    return Call(h.port, verb::post, "/v1/requests", body, {{"Authorization", Bearer(kOperatorKey)}});
  };
  Response malformed = post_raw("{\"type\": ");
  CHECK(malformed.status == 400);
  CHECK(malformed.Json()["error"]["code"] == "invalid");
  CHECK(post_raw("[1,2]").status == 400);
  CHECK(post_raw("\"access\"").status == 400);
  CHECK(post_raw("").status == 400);
  CHECK(post_raw("{\"type\": \"access\", \"subject\": {\"email\": \"\xff\xfe@x.io\"}}").status < 500);

  json unknown = NewInbox("e@example.com");
  unknown["subject"]["shoe_size"] = 44;
  Response u = h.Post("/v1/requests", kOperatorKey, unknown);
  CHECK(u.status == 400);
  CHECK(u.ErrorField() == "/subject/shoe_size");
  json top = NewInbox("e@example.com");
  top["priority"] = "high";
  CHECK(h.Post("/v1/requests", kOperatorKey, top).ErrorField() == "/priority");

  json wrong_type = NewInbox("e@example.com");
  wrong_type["verified"] = "yes";
  CHECK(h.Post("/v1/requests", kOperatorKey, wrong_type).ErrorField() == "/verified");
  json bad_email = NewInbox("not-an-email");
  CHECK(h.Post("/v1/requests", kOperatorKey, bad_email).ErrorField() == "/subject/email");
  json future = NewInbox("e@example.com");
  future["received_at"] = "2999-01-01T00:00:00Z";
  CHECK(h.Post("/v1/requests", kOperatorKey, future).ErrorField() == "/received_at");
  json bad_time = NewInbox("e@example.com");
  bad_time["received_at"] = "yesterday";
  CHECK(h.Post("/v1/requests", kOperatorKey, bad_time).ErrorField() == "/received_at");
  json no_subject = {{"type", "access"}};
  CHECK(h.Post("/v1/requests", kOperatorKey, no_subject).ErrorField() == "/subject");
  json bad_reg = NewInbox("e@example.com");
  bad_reg["regulation"] = "hipaa";
  CHECK(h.Post("/v1/requests", kOperatorKey, bad_reg).ErrorField() == "/regulation");
  // Action bodies are checked too.
  const std::string id = h.Post("/v1/requests", kOperatorKey, NewInbox("e@example.com")).Json()["id"];
  CHECK(h.Post("/v1/requests/" + id + "/approve", kOperatorKey, {{"reasn", "typo"}}).ErrorField() == "/reasn");
  CHECK(Call(h.port, verb::post, "/v1/requests/" + id + "/approve", "{oops", {{"Authorization", Bearer(kOperatorKey)}})
            .status == 400);
}

TEST_CASE("Idempotency-Key returns the first result again", "[http][idempotency]") {
  Harness h;
  const json body = NewInbox("f@example.com");
  Response first = h.Post("/v1/requests", kOperatorKey, body, {{"Idempotency-Key", "k-123"}});
  REQUIRE(first.status == 201);
  Response second = h.Post("/v1/requests", kOperatorKey, body, {{"Idempotency-Key", "k-123"}});
  REQUIRE(second.status == 201);
  CHECK(second.Json()["id"] == first.Json()["id"]);
  CHECK(second.headers["Idempotent-Replayed"] == "true");
  CHECK(h.Get("/v1/requests", kAuditorKey).Json()["items"].size() == 1);

  // The same key with another body is a conflict, not a silent replay.
  CHECK(h.Post("/v1/requests", kOperatorKey, NewInbox("g@example.com"), {{"Idempotency-Key", "k-123"}}).status == 409);
  // Keys are per caller: another operator's "k-123" is a new request.
  Response other = h.Post("/v1/requests", kAdminKey, body, {{"Idempotency-Key", "k-123"}});
  CHECK(other.status == 201);
  CHECK(other.Json()["id"] != first.Json()["id"]);
  // A failed attempt is not remembered: the corrected retry goes through.
  json bad = body;
  bad["type"] = "nope";
  CHECK(h.Post("/v1/requests", kOperatorKey, bad, {{"Idempotency-Key", "k-9"}}).status == 400);
  CHECK(h.Post("/v1/requests", kOperatorKey, bad, {{"Idempotency-Key", "k-9"}}).status == 400);

  // Self-service too.
  const std::string tok = SubjectToken("user-9", "h@example.com");
  Response s1 = h.Post("/v1/self/requests", tok, {{"type", "access"}}, {{"Idempotency-Key", "click-1"}});
  Response s2 = h.Post("/v1/self/requests", tok, {{"type", "access"}}, {{"Idempotency-Key", "click-1"}});
  REQUIRE(s1.status == 201);
  CHECK(s2.Json()["id"] == s1.Json()["id"]);
}

TEST_CASE("pagination walks every request once, due first", "[http][inbox]") {
  Harness h;
  std::set<std::string> created;
  for (int i = 0; i < 23; ++i) {
    json b = NewInbox("p" + std::to_string(i) + "@example.com");
    b["received_at"] = FormatRfc3339(Now() - std::chrono::hours(24 * (i % 9)));
    Response r = h.Post("/v1/requests", kOperatorKey, b);
    REQUIRE(r.status == 201);
    created.insert(r.Json()["id"].get<std::string>());
  }
  std::set<std::string> seen;
  std::string cursor, last_due;
  int pages = 0;
  for (;;) {
    std::string target = "/v1/requests?limit=5";
    if (!cursor.empty()) target += "&cursor=" + cursor;
    json page = h.Get(target, kAuditorKey).Json();
    ++pages;
    for (const auto& item : page["items"]) {
      CHECK(seen.insert(item["id"].get<std::string>()).second);  // no duplicates
      CHECK(item["due_at"].get<std::string>() >= last_due);      // due first
      last_due = item["due_at"];
    }
    if (page["next_cursor"].is_null()) break;
    cursor = page["next_cursor"];
    REQUIRE(pages < 20);
  }
  CHECK(pages == 5);
  CHECK(seen == created);
}

TEST_CASE("rate limits answer 429", "[http][ratelimit]") {
  http::ServiceOptions opts;
  opts.subject_burst = 3;
  opts.subject_per_second = 0.001;
  Harness h(json(), std::move(opts));
  const std::string tok = SubjectToken("user-r", "r@example.com");
  for (int i = 0; i < 3; ++i) CHECK(h.Post("/v1/self/requests", tok, {{"type", "objection"}}).status == 201);
  Response limited = h.Post("/v1/self/requests", tok, {{"type", "objection"}});
  CHECK(limited.status == 429);
  CHECK(limited.Json()["error"]["code"] == "rate_limited");
  // Another subject has its own budget; reads are not limited.
  CHECK(h.Post("/v1/self/requests", SubjectToken("user-s", "s@example.com"), {{"type", "objection"}}).status == 201);
  CHECK(h.Get("/v1/self/requests", tok).status == 200);
}

TEST_CASE("subject links: email verification code and download token", "[http][links]") {
  Harness h;
  const std::string id = h.Post("/v1/requests", kOperatorKey, NewInbox("v@example.com", "access", false)).Json()["id"];
  Result<Request> r = h.service->store().Get(id);
  REQUIRE(r.ok());
  // What sending the verification mail does (links.h: the code is made at send time).
  Result<std::string> minted = MintVerificationCode(h.service->store(), id, Now());
  REQUIRE(minted.ok());
  const std::string code = *minted;
  const std::string wrong = code == "000000" ? "111111" : "000000";
  auto verify = [&](const json& b) { return Call(h.port, verb::post, "/v1/verify", b.dump()); };
  CHECK(verify({{"request_id", id}, {"code", wrong}}).status == 400);
  CHECK(verify({{"request_id", id}}).ErrorField() == "/code");
  Response ok = verify({{"request_id", id}, {"code", code}});
  REQUIRE(ok.status == 200);
  CHECK(ok.Json()["status"] == "pending");
  CHECK(ok.body.find("v@example.com") == std::string::npos);          // public endpoint: no PII back
  CHECK(verify({{"request_id", id}, {"code", code}}).status >= 400);  // consumed

  REQUIRE(h.Post("/v1/requests/" + id + "/approve", kOperatorKey, json()).status == 200);
  REQUIRE(h.service->RunWorkers().ok());
  Result<Request> done = h.service->store().Get(id);
  REQUIRE(done.ok());
  REQUIRE(done->status == RequestStatus::kCompleted);
  Result<std::string> token = MintDownloadToken(h.service->store(), id, Now() + std::chrono::hours(1), Now());
  REQUIRE(token.ok());
  Response zip = Call(h.port, verb::get, "/v1/downloads/" + *token);
  REQUIRE(zip.status == 200);
  CHECK(zip.body.rfind("PK", 0) == 0);
  CHECK(Call(h.port, verb::get, "/v1/downloads/" + std::string(43, 'A')).status == 404);
  CHECK(Call(h.port, verb::get, "/v1/downloads/..%2F..%2Fetc%2Fpasswd").status == 404);
  // The inbox can fetch it too.
  CHECK(h.Get("/v1/requests/" + id + "/export", kOperatorKey).status == 200);
  CHECK(h.Get("/v1/requests/" + id + "/export", kAuditorKey).status == 403);
}

TEST_CASE("OpenDSR 2.0: discovery, create, status, cancel", "[http][opendsr]") {
  TempDir cfg_dir;
  json cfg = TestConfigJson(cfg_dir.str());
  cfg["notify"] = {{"opendsr", {{"allow_callback_hosts", {"127.0.0.1"}}}}};
  Harness h(cfg);
  Response disc = Call(h.port, verb::get, "/opendsr/discovery");
  REQUIRE(disc.status == 200);
  CHECK(disc.Json()["api_version"] == "2.0");
  CHECK(disc.Json()["supported_subject_request_types"].size() == 3);

  const json req = {{"api_version", "2.0"},
                    {"regulation", "gdpr"},
                    {"subject_request_id", "a7551968-d5d6-44b2-9831-815ac9017798"},
                    {"subject_request_type", "erasure"},
                    {"submitted_time", "2026-01-31T10:00:00Z"},
                    {"subject_identities",
                     {{{"identity_type", "email"}, {"identity_value", "o@example.com"}, {"identity_format", "raw"}}}},
                    {"status_callback_urls", {"http://127.0.0.1:9/cb"}}};
  CHECK(Call(h.port, verb::post, "/opendsr/requests", req.dump()).status == 401);
  Response created = h.Post("/opendsr/requests", kOperatorKey, req);
  REQUIRE(created.status == 201);
  json c = created.Json();
  CHECK(c["subject_request_id"] == req["subject_request_id"]);
  CHECK(c["request_status"] == "pending");
  CHECK(c["expected_completion_time"] == "2026-03-02T22:59:59Z");
  CHECK(c.contains("received_time"));
  CHECK(c["encoded_request"].get<std::string>().size() > 10);
  // A retry by the controller names the same request.
  Response again = h.Post("/opendsr/requests", kOperatorKey, req);
  CHECK(again.status == 201);
  CHECK(h.Get("/v1/requests?type=erasure", kAuditorKey).Json()["items"].size() == 1);

  const std::string path = "/opendsr/requests/" + req["subject_request_id"].get<std::string>();
  // subject_request_ids belong to the operator key that filed them.
  json status = h.Get(path, kOperatorKey).Json();
  CHECK(status["request_status"] == "pending");
  CHECK(status["api_version"] == "2.0");
  CHECK(h.Get(path, kAuditorKey).status == 404);
  CHECK(h.Get("/opendsr/requests/unknown-id", kOperatorKey).status == 404);
  Response del = h.Delete(path, kOperatorKey);
  REQUIRE(del.status == 202);
  CHECK(del.Json()["request_status"] == "cancelled");

  json bad = req;
  bad["subject_request_id"] = "0b1f6a2e-0000-4000-8000-000000000001";
  bad["subject_request_type"] = "rectification";
  CHECK(h.Post("/opendsr/requests", kOperatorKey, bad).ErrorField() == "/subject_request_type");
  bad = req;
  bad["subject_request_id"] = "0b1f6a2e-0000-4000-8000-000000000002";
  bad["subject_identities"][0]["identity_format"] = "sha256";
  CHECK(h.Post("/opendsr/requests", kOperatorKey, bad).ErrorField() == "/subject_identities/0/identity_format");
  bad = req;
  bad["subject_request_id"] = "0b1f6a2e-0000-4000-8000-000000000003";
  bad["vendor"] = 1;
  CHECK(h.Post("/opendsr/requests", kOperatorKey, bad).ErrorField() == "/vendor");
}

TEST_CASE("operations: healthz, metrics, unknown routes", "[http][ops]") {
  Harness h;
  CHECK(Call(h.port, verb::get, "/healthz").Json()["status"] == "ok");
  h.Post("/v1/requests", kOperatorKey, NewInbox("m@example.com"));
  Response m = h.Get("/metrics", kAuditorKey);
  REQUIRE(m.status == 200);
  CHECK_THAT(m.body, Catch::Contains("lethe_requests{status=\"pending\"} 1"));
  CHECK_THAT(m.body, Catch::Contains("lethe_requests_overdue 0"));
  CHECK_THAT(m.body, Catch::Contains("# TYPE lethe_request_execution_seconds summary"));
  CHECK_THAT(m.body, Catch::Contains("lethe_http_request_duration_seconds_bucket{le=\"+Inf\"}"));
  CHECK_THAT(m.body, Catch::Contains("lethe_http_request_duration_seconds_count"));
  Response nf = Call(h.port, verb::get, "/v2/nothing");
  CHECK(nf.status == 404);
  CHECK(nf.Json()["error"]["code"] == "not_found");
  CHECK(Call(h.port, verb::put, "/v1/requests").status == 405);
}

TEST_CASE("concurrent retries with one Idempotency-Key create one request", "[http][idempotency]") {
  Harness h;
  const json body = NewInbox("race@example.com");
  std::vector<std::thread> ts;
  std::mutex mu;
  std::vector<Response> got;
  for (int i = 0; i < 8; ++i) {
    ts.emplace_back([&] {
      Response r = h.Post("/v1/requests", kOperatorKey, body, {{"Idempotency-Key", "race-1"}});
      std::lock_guard<std::mutex> lock(mu);
      got.push_back(r);
    });
  }
  for (auto& t : ts) t.join();
  std::set<std::string> ids;
  for (const Response& r : got) {
    // Either the stored first result or "still in progress"; never a second request.
    CHECK((r.status == 201 || r.status == 409));
    if (r.status == 201) ids.insert(r.Json()["id"].get<std::string>());
  }
  CHECK(ids.size() == 1);
  CHECK(h.Get("/v1/requests", kAuditorKey).Json()["items"].size() == 1);
}
