// Subject links: what the subject reaches from an email, without an account.
// Both endpoints are public, so they reveal as little as possible: the code
// check answers with the status only, and a bad token is a plain 404.
#include "http/handlers_common.h"
#include "http/json_input.h"
#include "http/parse.h"
#include "notify/links.h"

namespace lethe::http {

Result<VerifyCodeRequest> ParseVerifyCodeRequest(std::string_view body) {
  LETHE_ASSIGN_OR_RETURN(auto parsed, ParseObject(body, false));
  VerifyCodeRequest in;
  LETHE_RETURN_IF_ERROR(OnlyFields(parsed, {"request_id", "code"}));
  LETHE_RETURN_IF_ERROR(GetString(parsed, "request_id", &in.request_id, true));
  LETHE_RETURN_IF_ERROR(GetString(parsed, "code", &in.code, true));
  return in;
}

namespace {

using bhttp::verb;

// The code check answers with the status only: the endpoint is public.
nlohmann::json VerifiedJson(const Request& r) {
  return {{"request_id", r.id}, {"status", ToString(r.status)}, {"verified", r.verified}};
}

Reply Verify(Service& s, Context& ctx) {
  Result<VerifyCodeRequest> in = ParseVerifyCodeRequest(ctx.req.body());
  if (!in.ok()) return Reply::Error(in.status());
  Status st = CheckVerificationCode(s.store(), in->request_id, in->code, ctx.now);
  if (!st.ok()) return Reply::Error(st);
  // A code mailed to the address proves that address, nothing else the
  // request claims (contract §3, Identity).
  Result<Request> r =
      s.workflow().Act(in->request_id, Action::kVerify, "subject", "email code", {{"identities", {"email"}}});
  if (!r.ok()) return Reply::Error(r.status());
  return Reply::Json(200, VerifiedJson(*r));
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
