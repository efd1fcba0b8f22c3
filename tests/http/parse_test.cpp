// The Parse*Request functions (http/parse.h) without a server: valid input
// gives the typed request, and each refusal names its field, exactly as the
// 400 reply's "field" does (api_test and input_hardening_test check the
// same over a socket for a few of them).
#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <vector>

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

TEST_CASE("ParseInboxCreateRequest", "[http][parse]") {
  const Time now = *ParseRfc3339("2026-01-10T12:00:00Z");
  Result<NewRequest> ok = ParseInboxCreateRequest(
      R"({"type":"access","regulation":"ccpa","channel":"web_form","subject":{"email":"ada@example.com","user_id":"42"},
          "received_at":"2026-01-09T08:00:00Z","verified_identities":["email"],"note":"by phone","params":{}})",
      now);
  REQUIRE(ok.ok());
  CHECK(ok->type == RequestType::kAccess);
  CHECK(ok->regulation == Regulation::kCcpa);
  CHECK(ok->channel == "web_form");
  CHECK(ok->subject.email == "ada@example.com");
  CHECK(ok->subject.user_id == "42");
  CHECK(ok->received_at == ParseRfc3339("2026-01-09T08:00:00Z").value());
  CHECK(ok->verified_identities == std::set<std::string>{"email"});
  CHECK(ok->note == "by phone");
  CHECK_FALSE(ok->verified);
  // Defaults: channel "api", no regulation (the workflow's default applies).
  Result<NewRequest> minimal = ParseInboxCreateRequest(R"({"type":"erasure","subject":{"user_id":"7"}})", now);
  REQUIRE(minimal.ok());
  CHECK(minimal->channel == "api");
  CHECK_FALSE(minimal->regulation.has_value());
  // A little clock skew is allowed.
  CHECK(ParseInboxCreateRequest(R"({"type":"access","subject":{"user_id":"7"},"received_at":"2026-01-10T12:04:00Z"})",
                                now)
            .ok());

  auto field = [&](const std::string& body) { return FieldOf(ParseInboxCreateRequest(body, now)); };
  const std::string subj = R"("subject":{"user_id":"7"})";
  CHECK(field("") == "");
  CHECK(field("{}") == "/type");
  CHECK(field(R"({"type":"access","subject":{},"bogus":1})") == "/bogus");
  CHECK(field(R"({"type":"forget",)" + subj + "}") == "/type");
  CHECK(field(R"({"type":"access","regulation":"mars",)" + subj + "}") == "/regulation");
  CHECK(field(R"({"type":"access","custom_sla":3,)" + subj + "}") == "/custom_sla");
  CHECK(field(R"({"type":"access","channel":"Web",)" + subj + "}") == "/channel");
  CHECK(field(R"({"type":"access","channel":"",)" + subj + "}") == "/channel");
  CHECK(field(R"({"type":"access","channel":")" + std::string(33, 'a') + R"(",)" + subj + "}") == "/channel");
  CHECK(field(R"({"type":"access"})") == "/subject");
  CHECK(field(R"({"type":"access","subject":"ada"})") == "/subject");
  CHECK(field(R"({"type":"access","subject":{"name":"Ada"}})") == "/subject/name");
  CHECK(field(R"({"type":"access","subject":{"email":5}})") == "/subject/email");
  CHECK(field(R"({"type":"access","subject":{"user_id":[]}})") == "/subject/user_id");
  CHECK(field(R"({"type":"access","subject":{"phone":true}})") == "/subject/phone");
  CHECK(field(R"({"type":"access","received_at":"yesterday",)" + subj + "}") == "/received_at");
  CHECK(field(R"({"type":"access","received_at":"2026-01-10T12:06:00Z",)" + subj + "}") == "/received_at");
  CHECK(field(R"({"type":"access","verified":"yes",)" + subj + "}") == "/verified");
  CHECK(field(R"({"type":"access","verified_identities":"email",)" + subj + "}") == "/verified_identities");
  CHECK(field(R"({"type":"access","verified_identities":["user_id","email"],)" + subj + "}") ==
        "/verified_identities/1");
  CHECK(field(R"({"type":"access","note":{},)" + subj + "}") == "/note");
  CHECK(field(R"({"type":"access","params":"x",)" + subj + "}") == "/params");
}

TEST_CASE("ParseInboxListRequest", "[http][parse]") {
  Result<RequestFilter> ok = ParseInboxListRequest({{"status", "pending"},
                                                    {"type", "erasure"},
                                                    {"regulation", "gdpr"},
                                                    {"overdue", "true"},
                                                    {"due_before", "2026-02-01"},
                                                    {"assignee", "ops"},
                                                    {"q", "ada"},
                                                    {"limit", "20"}});
  REQUIRE(ok.ok());
  CHECK(ok->status == RequestStatus::kPending);
  CHECK(ok->type == RequestType::kErasure);
  CHECK(ok->regulation == Regulation::kGdpr);
  CHECK(ok->overdue_only);
  CHECK(ok->due_before == ParseRfc3339("2026-02-01T00:00:00Z").value());
  CHECK(ok->assignee == "ops");
  CHECK(ok->q == "ada");
  CHECK(ok->limit == 20);
  // An empty parameter is no filter.
  Result<RequestFilter> empty = ParseInboxListRequest({{"status", ""}, {"overdue", ""}});
  REQUIRE(empty.ok());
  CHECK_FALSE(empty->status.has_value());
  CHECK_FALSE(empty->overdue_only);

  CHECK(FieldOf(ParseInboxListRequest({{"sort", "due"}})) == "/query/sort");
  CHECK(FieldOf(ParseInboxListRequest({{"status", "done"}})) == "/query/status");
  CHECK(FieldOf(ParseInboxListRequest({{"type", "forget"}})) == "/query/type");
  CHECK(FieldOf(ParseInboxListRequest({{"regulation", "mars"}})) == "/query/regulation");
  CHECK(FieldOf(ParseInboxListRequest({{"overdue", "1"}})) == "/query/overdue");
  CHECK(FieldOf(ParseInboxListRequest({{"due_before", "soon"}})) == "/query/due_before");
  CHECK(FieldOf(ParseInboxListRequest({{"limit", "0"}})) == "/query/limit");
  CHECK(FieldOf(ParseInboxListRequest({{"cursor", "x"}})) == "/query/cursor");
}

TEST_CASE("ParseActionName: one name per route, the state machine's spelling", "[http][parse]") {
  for (std::string_view name : kActionNames) {
    std::optional<Action> a = ParseActionName(name);
    REQUIRE(a.has_value());
    // Every route name but "notes" is the state machine's own name.
    CHECK(ToString(*a) == (name == "notes" ? "note" : name));
  }
  CHECK(ParseActionName("notes") == Action::kNote);
  CHECK(ParseActionName("fail") == Action::kFail);
  for (std::string_view not_a_route : {"note", "start", "complete", "", "Approve", "delete"})
    CHECK_FALSE(ParseActionName(not_a_route).has_value());
}

TEST_CASE("ParseActRequest", "[http][parse]") {
  // An empty body is {}: approve needs no input.
  Result<ActRequest> approve = ParseActRequest(Action::kApprove, "");
  REQUIRE(approve.ok());
  CHECK(approve->reason.empty());
  CHECK(approve->args == nlohmann::json::object());

  Result<ActRequest> deny = ParseActRequest(Action::kDeny, R"({"reason":"manifestly unfounded"})");
  REQUIRE(deny.ok());
  CHECK(deny->reason == "manifestly unfounded");
  Result<ActRequest> hold = ParseActRequest(Action::kHold, R"({"kind":"identity","reason":"need ID"})");
  REQUIRE(hold.ok());
  CHECK(hold->args == nlohmann::json{{"reason_kind", "identity"}});
  CHECK(ParseActRequest(Action::kHold, "{}")->args == nlohmann::json{{"reason_kind", "other"}});
  CHECK(ParseActRequest(Action::kAssign, R"({"assignee":null})")->args == nlohmann::json{{"assignee", nullptr}});
  CHECK(ParseActRequest(Action::kAssign, R"({"assignee":"bo"})")->args == nlohmann::json{{"assignee", "bo"}});
  CHECK(ParseActRequest(Action::kVerify, R"({"identities":["email"]})")->args ==
        nlohmann::json{{"identities", {"email"}}});
  CHECK(ParseActRequest(Action::kNote, R"({"note":"called back"})")->reason == "called back");

  CHECK(FieldOf(ParseActRequest(Action::kApprove, "[1]")) == "");
  CHECK(FieldOf(ParseActRequest(Action::kApprove, R"({"note":"x"})")) == "/note");
  CHECK(FieldOf(ParseActRequest(Action::kApprove, R"({"reason":1})")) == "/reason");
  CHECK(FieldOf(ParseActRequest(Action::kDeny, "")) == "/reason");
  CHECK(FieldOf(ParseActRequest(Action::kExtend, R"({"reason":""})")) == "/reason");
  CHECK(FieldOf(ParseActRequest(Action::kHold, R"({"kind":"bored"})")) == "/kind");
  CHECK(FieldOf(ParseActRequest(Action::kHold, R"({"kind":"other","assignee":"x"})")) == "/assignee");
  CHECK(FieldOf(ParseActRequest(Action::kAssign, "{}")) == "/assignee");
  CHECK(FieldOf(ParseActRequest(Action::kAssign, R"({"assignee":3})")) == "/assignee");
  CHECK(FieldOf(ParseActRequest(Action::kVerify, R"({"kind":"x"})")) == "/kind");
  CHECK(FieldOf(ParseActRequest(Action::kNote, "{}")) == "/note");
  CHECK(FieldOf(ParseActRequest(Action::kNote, R"({"note":"x","reason":"y"})")) == "/reason");
}

TEST_CASE("ParseOpenDsrCreateRequest", "[http][parse]") {
  const Time now = *ParseRfc3339("2026-01-10T12:00:00Z");
  // The URL check resolves hosts in the server; here it is a rule on the text.
  std::vector<std::string> checked;
  CallbackUrlCheck check = [&](const std::string& u) {
    checked.push_back(u);
    return u.rfind("https://", 0) == 0 ? Status::Ok() : Status::Invalid("must be https");
  };
  const std::string srid = "6F9619FF-8B86-D011-B42D-00C04FC964FF";
  const std::string ids = R"("subject_identities":[{"identity_type":"email","identity_value":"ada@example.com"}])";
  const std::string head = R"({"subject_request_id":")" + srid + R"(","subject_request_type":"erasure",)";

  Result<NewRequest> ok =
      ParseOpenDsrCreateRequest(R"({"api_version":"2.0","regulation":"gdpr","subject_request_id":")" + srid +
                                    R"(","subject_request_type":"portability","submitted_time":"2026-01-10T11:00:00Z",
             "subject_identities":[{"identity_type":"email","identity_value":"ada@example.com","identity_format":"raw"},
                                   {"identity_type":"controller_customer_id","identity_value":"c-42"}],
             "status_callback_urls":["https://controller.example/cb"],"property_id":"p","extensions":{}})",
                                now, check);
  REQUIRE(ok.ok());
  CHECK(ok->type == RequestType::kPortability);
  CHECK(ok->regulation == Regulation::kGdpr);
  CHECK(ok->external_id == srid);
  CHECK(ok->channel == "opendsr");
  CHECK(ok->verified);
  CHECK(ok->subject.email == "ada@example.com");
  CHECK(ok->subject.user_id == "c-42");
  CHECK(ok->received_at == ParseRfc3339("2026-01-10T11:00:00Z").value());
  CHECK(ok->status_callback_urls == std::vector<std::string>{"https://controller.example/cb"});
  CHECK(checked == std::vector<std::string>{"https://controller.example/cb"});
  REQUIRE(ParseOpenDsrCreateRequest(head + ids + "}", now, check).ok());

  auto field = [&](const std::string& body) { return FieldOf(ParseOpenDsrCreateRequest(body, now, check)); };
  CHECK(field("") == "");
  CHECK(field(head + ids + R"(,"subject":{}})") == "/subject");
  CHECK(field(head + ids + R"(,"api_version":"1.0"})") == "/api_version");
  CHECK(field(R"({"subject_request_type":"erasure",)" + ids + "}") == "/subject_request_id");
  CHECK(field(R"({"subject_request_id":"not-a-uuid","subject_request_type":"erasure",)" + ids + "}") ==
        "/subject_request_id");
  CHECK(field(R"({"subject_request_id":")" + srid + R"(",)" + ids + "}") == "/subject_request_type");
  // Lethe's other types have no OpenDSR form.
  CHECK(field(R"({"subject_request_id":")" + srid + R"(","subject_request_type":"rectification",)" + ids + "}") ==
        "/subject_request_type");
  CHECK(field(head + ids + R"(,"regulation":"custom"})") == "/regulation");
  CHECK(field(head + ids + R"(,"regulation":"mars"})") == "/regulation");
  CHECK(field(head + R"("subject_identities":[]})") == "/subject_identities");
  CHECK(field(head + R"("extensions":{}})") == "/subject_identities");
  CHECK(field(head + R"("subject_identities":["ada"]})") == "/subject_identities/0");
  CHECK(field(head + R"("subject_identities":[{"identity_type":"email","identity_value":"a@b.c","x":1}]})") ==
        "/subject_identities/0/x");
  CHECK(field(head + R"("subject_identities":[{"identity_value":"a@b.c"}]})") == "/subject_identities/0/identity_type");
  CHECK(field(head + R"("subject_identities":[{"identity_type":"email"}]})") == "/subject_identities/0/identity_value");
  CHECK(
      field(
          head +
          R"("subject_identities":[{"identity_type":"email","identity_value":"a@b.c","identity_format":"sha256"}]})") ==
      "/subject_identities/0/identity_format");
  CHECK(
      field(
          head +
          R"("subject_identities":[{"identity_type":"email","identity_value":"a@b.c"},{"identity_type":"phone","identity_value":"1"}]})") ==
      "/subject_identities/1/identity_type");
  CHECK(field(head + R"("subject_identities":[{"identity_type":"email","identity_value":"not-an-address"}]})") ==
        "/subject_identities/0/identity_value");
  CHECK(field(head + R"("subject_identities":[{"identity_type":"controller_customer_id","identity_value":")" +
              std::string(257, 'x') + R"("}]})") == "/subject_identities/0/identity_value");
  CHECK(field(head + ids + R"(,"submitted_time":"2026-01-10T12:06:00Z"})") == "/submitted_time");
  CHECK(field(head + ids + R"(,"submitted_time":"noon"})") == "/submitted_time");
  CHECK(field(head + ids + R"(,"status_callback_urls":"https://a.example"})") == "/status_callback_urls");
  CHECK(field(head + ids + R"(,"status_callback_urls":["https://a.example",7]})") == "/status_callback_urls/1");
  CHECK(field(head + ids + R"(,"status_callback_urls":["http://a.example"]})") == "/status_callback_urls/0");
  CHECK(field(head + ids + R"(,"status_callback_urls":["https://a.example/\n"]})") == "/status_callback_urls/0");
  CHECK(field(head + ids + R"(,"extensions":[]})") == "/extensions");
}

TEST_CASE("IsUuid: the subject_request_id form", "[http][parse]") {
  CHECK(IsUuid("6f9619ff-8b86-d011-b42d-00c04fc964ff"));
  CHECK(IsUuid("6F9619FF-8B86-D011-B42D-00C04FC964FF"));
  CHECK_FALSE(IsUuid("6f9619ff8b86d011b42d00c04fc964ff"));
  CHECK_FALSE(IsUuid("6f9619ff-8b86-d011-b42d-00c04fc964fg"));
  CHECK_FALSE(IsUuid("{6f9619ff-8b86-d011-b42d-00c04fc964ff}"));
  CHECK_FALSE(IsUuid(""));
}

TEST_CASE("ParseStaticPathRequest: nothing climbs out of the root", "[http][parse]") {
  auto relative = [](std::string_view tail, std::string_view target) {
    Result<StaticPathRequest> r = ParseStaticPathRequest(tail, target);
    if (!r.ok()) return r.status().code() == Code::kNotFound ? std::string("(404)") : r.status().ToString();
    return r->to_directory ? std::string("(301)") : r->relative;
  };
  CHECK(relative("app.js", "/inbox/app.js") == "app.js");
  CHECK(relative("css/a%20b.css", "/inbox/css/a%20b.css?v=1") == "css/a b.css");
  CHECK(relative("", "/inbox/") == "index.html");
  CHECK(relative("", "/inbox/?x=1") == "index.html");
  CHECK(relative("docs/", "/inbox/docs/") == "docs/index.html");
  // The mount without its slash: relative links would resolve wrongly.
  CHECK(relative("", "/inbox") == "(301)");
  CHECK(relative("", "/inbox?x=/") == "(301)");
  for (std::string_view bad : {"../lethe.json", "%2e%2e/lethe.json", "a/../../x", "./app.js", "a/./b", "%2fetc/passwd",
                               "a%5cb", "bad%zz", "a%00b"})
    CHECK(relative(bad, "/inbox/x") == "(404)");
}
