// Self-service: the host application's Settings page, acting for a signed-in
// subject (JWT). A subject sees and touches only requests it owns.
#include <spdlog/spdlog.h>

#include "http/handlers_common.h"
#include "http/json_input.h"
#include "http/parse.h"

namespace lethe::http {

Result<NewRequest> ParseSelfCreateRequest(std::string_view body) {
  LETHE_ASSIGN_OR_RETURN(auto parsed, ParseObject(body, false));
  const nlohmann::json& b = parsed;
  LETHE_RETURN_IF_ERROR(OnlyFields(b, {"type", "params", "note"}));
  std::string type;
  LETHE_RETURN_IF_ERROR(GetString(b, "type", &type, true));
  NewRequest in;
  std::optional<RequestType> t = ParseRequestType(type);
  if (!t) return Status::Invalid("unknown request type \"" + type + "\"", "/type");
  in.type = *t;
  LETHE_RETURN_IF_ERROR(GetString(b, "note", &in.note, false));
  if (b.contains("params")) {
    if (!b["params"].is_object()) return Status::Invalid("must be an object", "/params");
    in.params = b["params"];
  }
  return in;
}

namespace {

using bhttp::verb;

// The host app signed in this subject: its JWT is the identity check.
// `sub` is the app's user id, so it is also the user_id identity.
void FromSignedInSubject(const Principal& p, NewRequest* in) {
  in->channel = "self_service";
  in->subject.email = p.email;
  in->subject.user_id = p.sub;
  in->owner = p.sub;
  in->verified = true;
}

Reply Create(Service& s, Context& ctx) {
  Result<NewRequest> in = ParseSelfCreateRequest(ctx.req.body());
  if (!in.ok()) return Reply::Error(in.status());
  FromSignedInSubject(ctx.principal, &*in);
  return DetailReply(s, s.workflow().Submit(*in, "subject"), ctx.now, true, 201);
}

Reply List(Service& s, Context& ctx) {
  Result<RequestFilter> f = ParsePageRequest(ctx.query);
  if (!f.ok()) return Reply::Error(f.status());
  f->owner = ctx.principal.sub;
  f->owner_ref = s.workflow().OwnerRef(ctx.principal.sub);
  f->now = ctx.now;
  Result<RequestPage> page = ListPage(s, *f);
  if (!page.ok()) return Reply::Error(page.status());
  nlohmann::json j = PageJson(*page, ctx.now);
  for (auto& item : j["items"]) HideInternals(item);
  return Reply::Json(200, j);
}

Reply Show(Service& s, Context& ctx) {
  return DetailReply(s, LoadOwned(s, ctx.params["id"], ctx.principal.sub), ctx.now, true);
}

Reply Cancel(Service& s, Context& ctx) {
  Result<Request> r = LoadOwned(s, ctx.params["id"], ctx.principal.sub);
  if (!r.ok()) return Reply::Error(r.status());
  return DetailReply(s, s.workflow().Act(r->id, Action::kCancel, "subject", "cancelled by the subject"), ctx.now, true);
}

Reply Export(Service& s, Context& ctx) {
  Result<Request> r = LoadOwned(s, ctx.params["id"], ctx.principal.sub);
  if (!r.ok()) return Reply::Error(r.status());
  return ExportReply(s, *r, "subject", ctx.now, "self_service");
}

}  // namespace

void AddSelfRoutes(Router& r, Service& s) {
  Service* sp = &s;
  r.Add(
      verb::post, "/v1/self/requests", Access::kSubject, [sp](Context& c) { return Create(*sp, c); }, true);
  r.Add(verb::get, "/v1/self/requests", Access::kSubject, [sp](Context& c) { return List(*sp, c); });
  r.Add(verb::get, "/v1/self/requests/{id}", Access::kSubject, [sp](Context& c) { return Show(*sp, c); });
  r.Add(verb::delete_, "/v1/self/requests/{id}", Access::kSubject, [sp](Context& c) { return Cancel(*sp, c); });
  r.Add(verb::get, "/v1/self/requests/{id}/export", Access::kSubject, [sp](Context& c) { return Export(*sp, c); });
}

}  // namespace lethe::http
