// Subject links: what the subject reaches from an email, without an account.
// Both endpoints are public, so they reveal as little as possible: the code
// check answers with the status only, and a bad token is a plain 404.
#include "http/handlers_common.h"
#include "http/json_input.h"
#include "notify/links.h"

namespace lethe::http {
namespace {

using bhttp::verb;

Reply Verify(Service& s, Context& ctx) {
  Result<nlohmann::json> parsed = ParseObject(ctx.req.body(), false);
  if (!parsed.ok()) return Reply::Error(parsed.status());
  Status st = OnlyFields(*parsed, {"request_id", "code"});
  std::string id, code;
  if (st.ok()) st = GetString(*parsed, "request_id", &id, true);
  if (st.ok()) st = GetString(*parsed, "code", &code, true);
  if (!st.ok()) return Reply::Error(st);
  st = CheckVerificationCode(s.store(), id, code, ctx.now);
  if (!st.ok()) return Reply::Error(st);
  // A code mailed to the address proves that address, nothing else the
  // request claims (contract §3, Identity).
  Result<Request> r = s.workflow().Act(id, Action::kVerify, "subject", "email code", {{"identities", {"email"}}});
  if (!r.ok()) return Reply::Error(r.status());
  return Reply::Json(200, {{"request_id", r->id}, {"status", ToString(r->status)}, {"verified", r->verified}});
}

Reply Download(Service& s, Context& ctx) {
  Result<std::string> id = ResolveDownloadToken(s.store(), ctx.params["token"], ctx.now);
  if (!id.ok()) return Reply::Error(id.status());
  Result<Request> r = s.store().Get(*id);
  if (!r.ok()) return Reply::Error(Status::NotFound("no such download"));
  return ExportReply(s, *r, "subject", ctx.now, "link");
}

}  // namespace

void AddSubjectLinkRoutes(Router& r, Service& s) {
  Service* sp = &s;
  r.Add(verb::post, "/v1/verify", Access::kPublic, [sp](Context& c) { return Verify(*sp, c); });
  r.Add(verb::get, "/v1/downloads/{token}", Access::kPublic, [sp](Context& c) { return Download(*sp, c); });
}

}  // namespace lethe::http
