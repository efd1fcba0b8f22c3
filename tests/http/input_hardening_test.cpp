// Hostile and odd input at the HTTP edge, over a real socket: deep and
// duplicate-key JSON, foreign media types, malformed query parameters;
// what idempotency records keep; what subjects see of internal failures;
// who may read /metrics and what /healthz says.
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sqlite3.h>

#include <cstring>

#include <catch2/catch.hpp>

#include "http_test_util.h"

using namespace lethe;
using namespace lethe::testing;
using bhttp::verb;

namespace {

json NewInbox(const std::string& email) {
  return {{"type", "access"}, {"regulation", "gdpr"}, {"subject", {{"email", email}}}, {"verified", true}};
}

std::string NestedObjects(int depth) {
  std::string s;
  for (int i = 0; i < depth; ++i) s += "{\"a\":";
  s += "{}";
  for (int i = 0; i < depth; ++i) s += "}";
  return s;
}

// A request with exactly the headers given (no Content-Type unless named).
Response Raw(unsigned short port, verb method, const std::string& target, const std::string& body,
             const std::map<std::string, std::string>& headers) {
  boost::asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.connect(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port));
  bhttp::request<bhttp::string_body> req{method, target, 11};
  req.set(bhttp::field::host, "127.0.0.1");
  for (const auto& [k, v] : headers) req.set(k, v);
  req.body() = body;
  req.prepare_payload();
  bhttp::write(stream, req);
  beast::flat_buffer buf;
  bhttp::response_parser<bhttp::string_body> parser;
  bhttp::read(stream, buf, parser);
  Response r;
  r.status = parser.get().result_int();
  r.body = parser.get().body();
  for (const auto& f : parser.get()) r.headers[std::string(f.name_string())] = std::string(f.value());
  return r;
}

// Runs SQL on the harness's store file through a second connection: how a
// test makes the real store fail (a table gone) without mocking it.
void StoreSql(Harness& h, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open((h.dir.str() + "/lethe.db").c_str(), &db) == SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  INFO((err ? err : ""));
  sqlite3_free(err);
  sqlite3_close(db);
  REQUIRE(rc == SQLITE_OK);
}

class FailingExecutor : public Executor {
 public:
  Result<Outcome> Execute(const Request&) override {
    return Status::Io("connector app: /srv/lethe/secret/app.db: disk I/O error (SQLITE_IOERR)");
  }
  Result<json> Plan(const Request&) override { return json::object(); }
};

}  // namespace

TEST_CASE("a 60,000-deep body answers 400, and the server keeps serving", "[http][json]") {
  Harness h;
  const std::string tok = SubjectToken("user-deep", "deep@example.com");
  const std::string body = "{\"type\":\"access\",\"params\":" + NestedObjects(60000) + "}";
  REQUIRE(body.size() > 350000);
  REQUIRE(body.size() < 1024 * 1024);
  Response r = Call(h.port, verb::post, "/v1/self/requests", body, {{"Authorization", Bearer(tok)}});
  CHECK(r.status == 400);
  CHECK_THAT(r.Json()["error"]["message"].get<std::string>(), Catch::Contains("deeper than 64"));
  CHECK(r.ErrorField().rfind("/params/a/a", 0) == 0);
  Response inbox =
      Call(h.port, verb::post, "/v1/requests",
           "{\"type\":\"access\",\"subject\":{\"email\":\"d@example.com\"},\"params\":" + NestedObjects(60000) + "}",
           {{"Authorization", Bearer(kOperatorKey)}});
  CHECK(inbox.status == 400);
  CHECK(Call(h.port, verb::get, "/healthz").status == 200);
  // 64 levels are fine: the body itself is level 1, params 2, 62 more inside.
  json ok_body = {{"type", "access"}, {"params", json::parse(NestedObjects(61))}};
  CHECK(h.Post("/v1/self/requests", tok, ok_body).status == 201);
}

TEST_CASE("duplicate keys and out-of-range integers are refused, naming the pointer", "[http][json]") {
  Harness h;
  const std::string tok = SubjectToken("user-dup", "dup@example.com");
  auto post_self = [&](const std::string& body) {
    return Call(h.port, verb::post, "/v1/self/requests", body, {{"Authorization", Bearer(tok)}});
  };
  // Last-wins would have filed an access request.
  Response dup = post_self(R"({"type":"erasure","type":"access"})");
  CHECK(dup.status == 400);
  CHECK(dup.ErrorField() == "/type");
  CHECK_THAT(dup.Json()["error"]["message"].get<std::string>(), Catch::Contains("duplicate"));
  CHECK(h.Get("/v1/self/requests", tok).Json()["items"].empty());

  Response big = post_self(R"({"type":"access","params":{"n":123456789012345678901234567890}})");
  CHECK(big.status == 400);
  CHECK(big.ErrorField() == "/params/n");
  CHECK(post_self(R"({"type":"access","params":{"n":9007199254740993}})").ErrorField() == "/params/n");
  Response edge = post_self(R"({"type":"access","params":{"n":9007199254740992}})");
  REQUIRE(edge.status == 201);
  CHECK(edge.Json()["params"]["n"].get<int64_t>() == 9007199254740992);

  // Operator bodies and action bodies too.
  Response op = Call(h.port, verb::post, "/v1/requests",
                     R"({"type":"access","subject":{"email":"a@example.com","email":"b@example.com"}})",
                     {{"Authorization", Bearer(kOperatorKey)}});
  CHECK(op.status == 400);
  CHECK(op.ErrorField() == "/subject/email");
}

TEST_CASE("a JWT payload with a duplicate claim is refused", "[http][json][auth]") {
  Harness h;
  // Two "sub" claims: which one would the check see, which one the handler?
  const std::string header = http::Base64UrlEncode(R"({"alg":"HS256","typ":"JWT"})");
  const int64_t now = ToUnix(Now());
  const std::string payload = http::Base64UrlEncode(std::string(R"({"sub":"victim","email":"e@example.com","iss":")") +
                                                    kIssuer + R"(","aud":")" + kAudience + R"(","exp":)" +
                                                    std::to_string(now + 3600) + R"(,"sub":"attacker"})");
  const std::string signing = header + "." + payload;
  // Properly signed: the signature is not the problem.
  unsigned char mac[64];
  unsigned int len = 0;
  HMAC(EVP_sha256(), kJwtSecret, static_cast<int>(strlen(kJwtSecret)),
       reinterpret_cast<const unsigned char*>(signing.data()), signing.size(), mac, &len);
  const std::string token = signing + "." + http::Base64UrlEncode(std::string(reinterpret_cast<char*>(mac), len));
  Response r = h.Get("/v1/self/requests", token);
  CHECK(r.status == 401);
  CHECK_THAT(r.Json()["error"]["message"].get<std::string>(), Catch::Contains("duplicate"));
  // The same payload without the second sub is accepted.
  CHECK(h.Get("/v1/self/requests", SubjectToken("victim", "e@example.com")).status == 200);
}

TEST_CASE("bodies must be application/json, else 415", "[http][json]") {
  Harness h;
  const std::string auth = Bearer(kOperatorKey);
  const std::string body = NewInbox("ct@example.com").dump();
  auto post = [&](std::map<std::string, std::string> headers) {
    headers["Authorization"] = auth;
    return Raw(h.port, verb::post, "/v1/requests", body, headers);
  };
  for (const char* bad : {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                          "application/jsonp", "application/json; charset=latin1"}) {
    INFO(bad);
    Response r = post({{"Content-Type", bad}});
    CHECK(r.status == 415);
    CHECK(r.Json()["error"]["code"] == "unsupported_media_type");
  }
  Response none = post({});
  CHECK(none.status == 415);
  CHECK(none.Json()["error"]["code"] == "unsupported_media_type");
  CHECK(h.Get("/v1/requests", kAuditorKey).Json()["items"].empty());

  CHECK(post({{"Content-Type", "application/json"}}).status == 201);
  CHECK(post({{"Content-Type", "application/json; charset=utf-8"}}).status == 201);
  CHECK(post({{"Content-Type", "Application/JSON;Charset=\"UTF-8\""}}).status == 201);
  // No body, no type needed (approve takes none).
  const std::string id = h.Get("/v1/requests", kAuditorKey).Json()["items"][0]["id"];
  CHECK(Raw(h.port, verb::post, "/v1/requests/" + id + "/notes", "", {{"Authorization", auth}}).status == 400);
}

TEST_CASE("idempotency records keep no body, expire after 24 h and are purged", "[http][idempotency]") {
  Harness h;
  const json body = NewInbox("idem-subject@example.com");
  Response first = h.Post("/v1/requests", kOperatorKey, body, {{"Idempotency-Key", "k-1"}});
  REQUIRE(first.status == 201);
  const std::string id = first.Json()["id"];

  // The record holds no copy of the response, so no identity value.
  Result<std::vector<Record>> recs = h.service->store().Records("idempotency", std::nullopt, 100);
  REQUIRE(recs.ok());
  REQUIRE(recs->size() == 1);
  const Record rec = recs->front();
  CHECK(rec.value.dump().find("idem-subject") == std::string::npos);
  CHECK_FALSE(rec.value.contains("body"));
  CHECK(rec.value["body_sha256"] == Sha256Hex(first.body));

  // The replay is rebuilt from the store: same request, same status.
  Response replay = h.Post("/v1/requests", kOperatorKey, body, {{"Idempotency-Key", "k-1"}});
  CHECK(replay.status == 201);
  CHECK(replay.headers["Idempotent-Replayed"] == "true");
  CHECK(replay.Json()["id"] == id);
  CHECK(replay.Json()["subject"]["email"] == "idem-subject@example.com");
  // Self-service replays show the subject's view.
  const std::string tok = SubjectToken("user-idem", "self-idem@example.com");
  Response s1 = h.Post("/v1/self/requests", tok, {{"type", "access"}, {"note", "n"}}, {{"Idempotency-Key", "c-1"}});
  Response s2 = h.Post("/v1/self/requests", tok, {{"type", "access"}, {"note", "n"}}, {{"Idempotency-Key", "c-1"}});
  REQUIRE(s1.status == 201);
  CHECK(s2.status == 201);
  CHECK(s2.Json()["id"] == s1.Json()["id"]);
  CHECK_FALSE(s2.Json().contains("note"));

  // 24 h later the key no longer replays: the same call files anew.
  Record aged = rec;
  aged.created_at = Now() - std::chrono::hours(25);
  aged.due_at = Now() - std::chrono::hours(1);
  REQUIRE(h.service->store().PutRecord(aged).ok());
  Response later = h.Post("/v1/requests", kOperatorKey, body, {{"Idempotency-Key", "k-1"}});
  CHECK(later.status == 201);
  CHECK(later.headers.count("Idempotent-Replayed") == 0);
  CHECK(later.Json()["id"] != id);

  // Expired records are purged when new keys are written.
  Record stale = rec;
  stale.key = "op:oscar:stale";
  stale.created_at = Now() - std::chrono::hours(48);
  stale.due_at = Now() - std::chrono::hours(24);
  REQUIRE(h.service->store().PutRecord(stale).ok());
  REQUIRE(h.Post("/v1/requests", kOperatorKey, NewInbox("other@example.com"), {{"Idempotency-Key", "k-2"}}).status ==
          201);
  Result<std::optional<Record>> gone = h.service->store().GetRecord("idempotency", "op:oscar:stale");
  REQUIRE(gone.ok());
  CHECK_FALSE(gone->has_value());
}

TEST_CASE("subjects see plain messages for internal failures; operators see the detail", "[http][errors]") {
  http::ServiceOptions opts;
  opts.executor = std::make_unique<FailingExecutor>();
  Harness h(json(), std::move(opts));
  const std::string tok = SubjectToken("user-f", "f@example.com");
  Response created = h.Post("/v1/self/requests", tok, {{"type", "access"}});
  REQUIRE(created.status == 201);
  const std::string id = created.Json()["id"];
  REQUIRE(h.service->RunWorkers().ok());

  Response mine = h.Get("/v1/self/requests/" + id, tok);
  REQUIRE(mine.status == 200);
  CHECK(mine.Json()["status"] == "failed");
  CHECK(mine.body.find("/srv/lethe") == std::string::npos);
  CHECK(mine.body.find("SQLITE_IOERR") == std::string::npos);
  Response list = h.Get("/v1/self/requests", tok);
  CHECK(list.body.find("/srv/lethe") == std::string::npos);
  // The operator still sees what went wrong.
  CHECK(h.Get("/v1/requests/" + id, kAuditorKey).body.find("/srv/lethe/secret/app.db") != std::string::npos);

  // A store failure on a subject route: a plain 500, no database text.
  StoreSql(h, "DROP TABLE events");
  Response broken = h.Get("/v1/self/requests/" + id, tok);
  CHECK(broken.status == 500);
  CHECK(broken.Json()["error"]["code"] == "internal");
  CHECK(broken.body.find("events") == std::string::npos);
  CHECK(broken.body.find("table") == std::string::npos);
  // Operator routes keep the detail.
  Response op = h.Get("/v1/requests/" + id, kAuditorKey);
  CHECK(op.status >= 500);
  CHECK(op.body.find("events") != std::string::npos);
}

TEST_CASE("/metrics needs an operator key and reuses its store scan; /healthz is terse", "[http][ops]") {
  http::ServiceOptions opts;
  opts.metrics_cache_seconds = 3600;
  Harness h(json(), std::move(opts));
  Response anon = Call(h.port, verb::get, "/metrics");
  CHECK(anon.status == 401);
  for (const char* key : {kAuditorKey, kOperatorKey, kAdminKey}) CHECK(h.Get("/metrics", key).status == 200);
  Response before = h.Get("/metrics", kAuditorKey);
  CHECK(before.body.find("lethe_requests{status=\"pending\"}") == std::string::npos);
  REQUIRE(h.Post("/v1/requests", kOperatorKey, NewInbox("m@example.com")).status == 201);
  // Within the cache time the store is not scanned again.
  Response cached = h.Get("/metrics", kAuditorKey);
  CHECK(cached.body.find("lethe_requests{status=\"pending\"}") == std::string::npos);
  CHECK_THAT(cached.body, Catch::Contains("lethe_http_request_duration_seconds_count"));

  Response ok = Call(h.port, verb::get, "/healthz");
  CHECK(ok.status == 200);
  CHECK(ok.Json() == json{{"status", "ok"}});
  StoreSql(h, "DROP TABLE records");
  Response down = Call(h.port, verb::get, "/healthz");
  CHECK(down.status == 503);
  CHECK(down.Json() == json{{"status", "unavailable"}});
}

TEST_CASE("malformed query parameters are 400 naming the parameter", "[http][validation]") {
  Harness h;
  const std::string tok = SubjectToken("user-q", "q@example.com");
  const std::string huge = std::string(30, '9') + ".req_x";
  struct Case {
    std::string target;
    std::string field;
  };
  const Case cases[] = {
      {"/v1/requests?cursor=" + huge, "/query/cursor"},
      {"/v1/requests?cursor=" + std::string(5000, '1') + ".x", "/query/cursor"},
      {"/v1/requests?cursor=abc", "/query/cursor"},
      {"/v1/requests?cursor=.x", "/query/cursor"},
      {"/v1/requests?cursor=12.", "/query/cursor"},
      {"/v1/requests?limit=99999999999999999999", "/query/limit"},
      {"/v1/requests?limit=ten", "/query/limit"},
      {"/v1/requests?limit=", "/query/limit"},
      {"/v1/requests?due_before=99999-01-01", "/query/due_before"},
      {"/v1/requests?due_before=2026-13-45", "/query/due_before"},
  };
  for (const Case& c : cases) {
    INFO(c.target.substr(0, 100));
    Response r = h.Get(c.target, kAuditorKey);
    CHECK(r.status == 400);
    CHECK(r.ErrorField() == c.field);
  }
  Response self = h.Get("/v1/self/requests?cursor=" + huge, tok);
  CHECK(self.status == 400);
  CHECK(self.ErrorField() == "/query/cursor");
}
