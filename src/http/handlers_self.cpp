// Self-service: the host application's Settings page, acting for a signed-in
// subject (JWT). A subject sees and touches only requests it owns.
#include <spdlog/spdlog.h>

#include "http/handlers_common.h"
#include "http/json_input.h"

namespace lethe::http {
namespace {

using bhttp::verb;

Reply Create(Service& s, Context& ctx) {
  Result<nlohmann::json> body = ParseObject(ctx.req.body(), false);
  if (!body.ok()) return Reply::Error(body.status());
  Status st = OnlyFields(*body, {"type", "params", "note"});
  if (!st.ok()) return Reply::Error(st);
  std::string type;
  st = GetString(*body, "type", &type, true);
  if (!st.ok()) return Reply::Error(st);
  NewRequest in;
  std::optional<RequestType> t = ParseRequestType(type);
  if (!t) return Reply::Error(Status::Invalid("unknown request type \"" + type + "\"", "/type"));
  in.type = *t;
  st = GetString(*body, "note", &in.note, false);
  if (!st.ok()) return Reply::Error(st);
  if (body->contains("params")) {
    if (!(*body)["params"].is_object()) return Reply::Error(Status::Invalid("must be an object", "/params"));
    in.params = (*body)["params"];
  }
  in.channel = "self_service";
  // The host app signed in this subject: its JWT is the identity check.
  // `sub` is the app's user id, so it is also the user_id identity.
  in.subject.email = ctx.principal.email;
  in.subject.user_id = ctx.principal.sub;
  in.owner = ctx.principal.sub;
  in.verified = true;
  return DetailReply(s, s.workflow().Submit(in, "subject"), ctx.now, true, 201);
}

Reply List(Service& s, Context& ctx) {
  RequestFilter f;
  Status st = PageParams(ctx, &f);
  if (!st.ok()) return Reply::Error(st);
  f.owner = ctx.principal.sub;
  f.owner_ref = s.workflow().OwnerRef(ctx.principal.sub);
  f.now = ctx.now;
  Result<RequestPage> page = s.store().List(f);
  if (!page.ok() && page.status().field() == "/cursor")
    return Reply::Error(Status::Invalid(page.status().message(), "/query/cursor"));
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
  return DetailReply(s, s.workflow().Act(r->id, Action::kCancel, "subject", "cancelled by the subject"), ctx.now,
                     true);
}

Reply Export(Service& s, Context& ctx) {
  Result<Request> r = LoadOwned(s, ctx.params["id"], ctx.principal.sub);
  if (!r.ok()) return Reply::Error(r.status());
  return ExportReply(s, *r, "subject", ctx.now, "self_service");
}

}  // namespace

void AddSelfRoutes(Router& r, Service& s) {
  Service* sp = &s;
  r.Add(verb::post, "/v1/self/requests", Access::kSubject, [sp](Context& c) { return Create(*sp, c); }, true);
  r.Add(verb::get, "/v1/self/requests", Access::kSubject, [sp](Context& c) { return List(*sp, c); });
  r.Add(verb::get, "/v1/self/requests/{id}", Access::kSubject, [sp](Context& c) { return Show(*sp, c); });
  r.Add(verb::delete_, "/v1/self/requests/{id}", Access::kSubject, [sp](Context& c) { return Cancel(*sp, c); });
  r.Add(verb::get, "/v1/self/requests/{id}/export", Access::kSubject, [sp](Context& c) { return Export(*sp, c); });
}

}  // namespace lethe::http
