// The Parse*Request functions (http/parse.h) without a server: valid input
// gives the typed request, and each refusal names its field, exactly as the
// 400 reply's "field" does (api_test and input_hardening_test check the
// same over a socket for a few of them).
#include <catch2/catch.hpp>

#include <set>

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
