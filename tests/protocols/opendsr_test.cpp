// OpenDSR 2.0 (https://github.com/opendsr/opendsr-spec, "OpenDSR
// Specification 2.0") against the real server on loopback. Every assertion
// names the section it checks; "contract §4" is Lethe's own reading of it.
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdio>

#include <catch2/catch.hpp>

#include "notify/notifier.h"
#include "protocols/protocol_util.h"

using namespace lethe;
using namespace lethe::testing;

namespace {

constexpr const char* kId = "a7551968-d5d6-44b2-9831-815ac9017798";

json NewOpenDsr(const std::string& id = kId, json identities = nullptr) {
  if (identities.is_null())
    identities = {{{"identity_type", "email"}, {"identity_value", "od@example.com"}, {"identity_format", "raw"}}};
  return {{"api_version", "2.0"},
          {"regulation", "gdpr"},
          {"subject_request_id", id},
          {"subject_request_type", "erasure"},
          {"subject_identities", identities},
          {"submitted_time", "2026-01-31T10:00:00Z"}};
}

json ConfigWithOpenDsr(const TempDir& dir, json opendsr) {
  json cfg = TestConfigJson(dir.str());
  cfg["notify"] = {{"opendsr", opendsr}};
  return cfg;
}

struct ClockPin {
  explicit ClockPin(Time t) { SetClockForTesting(t); }
  ~ClockPin() { SetClockForTesting(Time{}); }
};

}  // namespace

TEST_CASE("OpenDSR 2.0 errors: error.code is the HTTP status as an integer", "[protocols][opendsr]") {
  Harness h;
  auto check = [](const Response& r, unsigned status) {
    INFO(r.body);
    CHECK(r.status == status);
    json e = r.Json()["error"];
    // OpenDSR 2.0 "Error responses": {"error": {"code": <int>, "message": <string>}}.
    CHECK(e["code"].is_number_integer());
    CHECK(e["code"] == status);
    CHECK(e["message"].is_string());
  };
  json bad = NewOpenDsr();
  bad["subject_request_type"] = "rectification";
  check(h.Post("/opendsr/requests", kOperatorKey, bad), 400);
  check(Call(h.port, bhttp::verb::post, "/opendsr/requests", NewOpenDsr().dump()), 401);
  check(h.Post("/opendsr/requests", kAuditorKey, NewOpenDsr()), 403);
  check(h.Get(std::string("/opendsr/requests/") + kId, kOperatorKey), 404);
  check(Call(h.port, bhttp::verb::put, "/opendsr/requests", "", {{"Authorization", Bearer(kOperatorKey)}}), 405);
  // Refused by the server before a handler runs (413), still OpenDSR-shaped.
  check(h.Post("/opendsr/requests", kOperatorKey, json{{"x", std::string(1100000, 'a')}}), 413);
  // Lethe's own routes keep their string codes (contract §4).
  CHECK(h.Get("/v1/requests/nope", kOperatorKey).Json()["error"]["code"] == "not_found");
}

TEST_CASE("OpenDSR 2.0 cancel: 202 Accepted, received_time is the cancellation's", "[protocols][opendsr]") {
  const Time t0 = *ParseRfc3339("2026-02-02T09:00:00Z");
  ClockPin pin(t0);
  Harness h;
  Response created = h.Post("/opendsr/requests", kOperatorKey, NewOpenDsr());
  REQUIRE(created.status == 201);
  CHECK(created.Json()["received_time"] == "2026-02-02T09:00:00Z");

  SetClockForTesting(t0 + std::chrono::hours(3));
  Response del = h.Delete(std::string("/opendsr/requests/") + kId, kOperatorKey);
  // OpenDSR 2.0 "Cancelling a request": HTTP 202 with the status body.
  CHECK(del.status == 202);
  json j = del.Json();
  CHECK(j["request_status"] == "cancelled");
  CHECK(j["subject_request_id"] == kId);
  // "received_time": when the processor received this (cancellation) request.
  CHECK(j["received_time"] == "2026-02-02T12:00:00Z");
}

TEST_CASE("OpenDSR 2.0 subject_request_id: a UUID, scoped to the operator key", "[protocols][opendsr]") {
  Harness h;
  // "subject_request_id: a UUID v4 string" (OpenDSR 2.0 request object).
  for (const std::string bad : {"b1", "not-a-uuid", "a7551968d5d644b29831815ac9017798",
                                "a7551968-d5d6-44b2-9831-815ac901779g", "../../a7551968-d5d6-44b2-9831-815ac9017798"}) {
    INFO(bad);
    Response r = h.Post("/opendsr/requests", kOperatorKey, NewOpenDsr(bad));
    CHECK(r.status == 400);
    CHECK(r.ErrorField() == "/subject_request_id");
  }

  // Contract §4: scoped to the operator key that created it.
  REQUIRE(h.Post("/opendsr/requests", kOperatorKey, NewOpenDsr()).status == 201);
  const std::string path = std::string("/opendsr/requests/") + kId;
  CHECK(h.Get(path, kOperatorKey).status == 200);
  CHECK(h.Get(path, kAdminKey).status == 404);  // another key: not even its existence
  CHECK(h.Get(path, kAuditorKey).status == 404);
  CHECK(h.Delete(path, kAdminKey).status == 404);  // and it cannot cancel it
  CHECK(h.Get(path, kOperatorKey).Json()["request_status"] == "pending");

  // The same id under another key files that key's own request.
  json other = NewOpenDsr(kId, {{{"identity_type", "email"}, {"identity_value", "second@example.com"}}});
  Response second = h.Post("/opendsr/requests", kAdminKey, other);
  CHECK(second.status == 201);
  json list = h.Get("/v1/requests?type=erasure", kAdminKey).Json();
  REQUIRE(list["items"].size() == 2);
  std::set<std::string> emails;
  for (const auto& it : list["items"]) emails.insert(it["subject"]["email"].get<std::string>());
  CHECK(emails == std::set<std::string>{"od@example.com", "second@example.com"});
  // Cancelling under the admin key leaves the operator's request alone.
  CHECK(h.Delete(path, kAdminKey).status == 202);
  CHECK(h.Get(path, kOperatorKey).Json()["request_status"] == "pending");
  // Ids are compared without regard to case (a UUID's hex digits).
  std::string upper = kId;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  CHECK(h.Get("/opendsr/requests/" + upper, kOperatorKey).status == 200);
}

TEST_CASE("OpenDSR 2.0 discovery lists only spec identity types", "[protocols][opendsr]") {
  Harness h;
  json d = Call(h.port, bhttp::verb::get, "/opendsr/discovery").Json();
  // OpenDSR 2.0 "Identity types": phone_number is none of them.
  std::set<std::string> types;
  for (const auto& i : d["supported_identities"]) types.insert(i["identity_type"].get<std::string>());
  CHECK(types == std::set<std::string>{"email", "controller_customer_id"});
  // And an identity type discovery does not list is refused.
  Response r = h.Post("/opendsr/requests", kOperatorKey,
                      NewOpenDsr(kId, {{{"identity_type", "phone_number"}, {"identity_value", "+49 30 1234"}}}));
  CHECK(r.status == 400);
  CHECK(r.ErrorField() == "/subject_identities/0/identity_type");
}

TEST_CASE("OpenDSR identities get the inbox's validation", "[protocols][opendsr]") {
  Harness h;
  struct Case {
    std::string type, value;
  };
  const std::vector<Case> cases = {
      {"email", "no-at-sign.example.com"},
      {"email", "a@b@example.com"},
      {"email", "line\nbreak@example.com"},
      {"email", "space @example.com"},
      {"email", "@example.com"},
      {"controller_customer_id", "42\r\nX: y"},
      {"controller_customer_id", std::string("4\0002", 3)},
      {"controller_customer_id", std::string(300, '9')},
  };
  for (const Case& c : cases) {
    INFO(c.type << " " << json(c.value).dump());
    Response r = h.Post("/opendsr/requests", kOperatorKey,
                        NewOpenDsr(kId, {{{"identity_type", c.type}, {"identity_value", c.value}}}));
    CHECK(r.status == 400);
    CHECK(r.ErrorField() == "/subject_identities/0/identity_value");
    // The value itself is not echoed back (it is personal data).
    if (c.value.size() > 3) CHECK(r.body.find(c.value) == std::string::npos);
  }
  CHECK(h.Get("/v1/requests", kAuditorKey).Json()["items"].empty());
  CHECK(h.Post("/opendsr/requests", kOperatorKey,
               NewOpenDsr(kId, {{{"identity_type", "controller_customer_id"}, {"identity_value", "user-42"}}}))
            .status == 201);
}

TEST_CASE("OpenDSR status_callback_urls: https to public hosts only, unless allowed", "[protocols][opendsr]") {
  TempDir cfg_dir;
  Harness h(ConfigWithOpenDsr(cfg_dir, {{"allow_callback_hosts", {"127.0.0.1", "Callbacks.Internal"}}}));
  int n = 0;
  auto post = [&](const std::string& url) {
    char id[40];
    std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%012d", ++n);
    json b = NewOpenDsr(id);
    b["status_callback_urls"] = {"https://93.184.215.14/first", url};
    return h.Post("/opendsr/requests", kOperatorKey, b);
  };
  // Contract §4: https only; no loopback/private/link-local after resolution.
  for (const std::string bad :
       {"http://93.184.215.14/cb", "ftp://93.184.215.14/cb", "https://localhost/cb", "https://127.0.0.2/cb",
        "https://10.1.2.3/cb", "https://172.16.0.1/cb", "https://192.168.1.1/cb",
        "https://169.254.169.254/latest/meta-data", "https://100.64.0.1/cb", "https://0.0.0.0/cb", "https://[::1]/cb",
        "https://[fe80::1]/cb", "https://[fd00::1]/cb", "https://[::ffff:127.0.0.1]/cb",
        "https://user@93.184.215.14/cb", "https:///cb", "not a url"}) {
    INFO(bad);
    Response r = post(bad);
    CHECK(r.status == 400);
    // The second URL is the bad one: the pointer says so.
    CHECK(r.ErrorField() == "/status_callback_urls/1");
  }
  // Public https: accepted (an address literal needs no DNS here).
  CHECK(post("https://93.184.215.14:8443/cb").status == 201);
  CHECK(post("https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/cb").status == 201);
  // notify.opendsr.allow_callback_hosts: listed hosts (compared literally,
  // without regard to case) may be http and private.
  CHECK(post("http://127.0.0.1:9/cb").status == 201);
  CHECK(post("http://callbacks.internal/cb").status == 201);
  // Only the host listed, not 127.0.0.1's other names.
  CHECK(post("http://localhost/cb").status == 400);

  // Contract §4: checked again at send time. A queued callback to a host
  // that is not allowed is refused without a connection being made.
  Message m;
  m.channel = "webhook";
  m.signing = "opendsr";
  m.payload = "{}";
  m.url = "https://127.0.0.2:1/cb";  // loopback, and not the listed 127.0.0.1
  Status st = h.service->notifier()->Send(m, "d-1");
  CHECK(st.code() == Code::kInvalid);
  CHECK_THAT(st.message(), Catch::Contains("loopback"));
  m.url = "http://93.184.215.14/cb";
  CHECK(h.service->notifier()->Send(m, "d-2").code() == Code::kInvalid);
}

TEST_CASE("OpenDSR responses carry the legacy X-OpenGDPR-* names beside X-OpenDSR-*", "[protocols][opendsr]") {
  TempDir cfg_dir;
  EVP_PKEY* key = EVP_RSA_gen(2048);
  REQUIRE(key != nullptr);
  const std::string pem = cfg_dir.str() + "/opendsr.pem";
  FILE* f = std::fopen(pem.c_str(), "w");
  REQUIRE(f != nullptr);
  REQUIRE(PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr) == 1);
  std::fclose(f);
  EVP_PKEY_free(key);
  json cfg = ConfigWithOpenDsr(cfg_dir, {{"private_key_file", pem}});
  cfg["public_url"] = "https://privacy.example.test";
  Harness h(cfg);

  auto check = [](const Response& r) {
    INFO(r.body);
    // OpenDSR 2.0 "Response signing": X-OpenDSR-Signature and
    // X-OpenDSR-Processor-Domain; the OpenGDPR 1.x names carry the same values.
    REQUIRE(r.headers.count("X-OpenDSR-Signature"));
    CHECK(!r.headers.at("X-OpenDSR-Signature").empty());
    CHECK(r.headers.count("X-OpenGDPR-Signature"));
    CHECK(r.headers.at("X-OpenGDPR-Signature") == r.headers.at("X-OpenDSR-Signature"));
    CHECK(r.headers.at("X-OpenDSR-Processor-Domain") == "privacy.example.test");
    CHECK(r.headers.at("X-OpenGDPR-Processor-Domain") == "privacy.example.test");
  };
  check(h.Post("/opendsr/requests", kOperatorKey, NewOpenDsr()));
  check(h.Get(std::string("/opendsr/requests/") + kId, kOperatorKey));
  check(h.Delete(std::string("/opendsr/requests/") + kId, kOperatorKey));
}
