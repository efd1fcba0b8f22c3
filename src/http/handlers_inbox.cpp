// The privacy inbox: operators file, triage and act on requests. Every
// change goes through Workflow, which checks the state machine and writes
// the event and audit entry with it.
#include <cctype>

#include "http/handlers_common.h"
#include "http/json_input.h"
#include "http/limits.h"
#include "http/parse.h"
#include "lethe/audit.h"

namespace lethe::http {
namespace {

using bhttp::verb;

Reply Create(Service& s, Context& ctx) {
  Result<nlohmann::json> parsed = ParseObject(ctx.req.body(), false);
  if (!parsed.ok()) return Reply::Error(parsed.status());
  const nlohmann::json& b = *parsed;
  auto fail = [](const Status& st) { return Reply::Error(st); };
  Status st = OnlyFields(b, {"type", "regulation", "custom_sla", "channel", "subject", "received_at", "verified",
                             "verified_identities", "note", "params"});
  if (!st.ok()) return fail(st);

  NewRequest in;
  std::string text;
  if (!(st = GetString(b, "type", &text, true)).ok()) return fail(st);
  std::optional<RequestType> type = ParseRequestType(text);
  if (!type) return fail(Status::Invalid("unknown request type \"" + text + "\"", "/type"));
  in.type = *type;

  text.clear();
  if (!(st = GetString(b, "regulation", &text, false)).ok()) return fail(st);
  if (!text.empty()) {
    std::optional<Regulation> reg = ParseRegulation(text);
    if (!reg) return fail(Status::Invalid("unknown regulation \"" + text + "\"", "/regulation"));
    in.regulation = *reg;
  }
  if (!(st = GetString(b, "custom_sla", &in.custom_sla, false)).ok()) return fail(st);

  in.channel = "api";
  if (!(st = GetString(b, "channel", &in.channel, false)).ok()) return fail(st);
  bool channel_ok = !in.channel.empty() && in.channel.size() <= 32;
  for (unsigned char c : in.channel) channel_ok = channel_ok && (std::islower(c) || c == '_');
  if (!channel_ok) return fail(Status::Invalid("must be lowercase letters and _", "/channel"));

  auto subj = b.find("subject");
  if (subj == b.end() || !subj->is_object()) return fail(Status::Invalid("is required (an object)", "/subject"));
  if (!(st = OnlyFields(*subj, {"email", "user_id", "phone"}, "/subject")).ok()) return fail(st);
  if (!(st = GetString(*subj, "email", &in.subject.email, false, "/subject")).ok()) return fail(st);
  if (!(st = GetString(*subj, "user_id", &in.subject.user_id, false, "/subject")).ok()) return fail(st);
  if (!(st = GetString(*subj, "phone", &in.subject.phone, false, "/subject")).ok()) return fail(st);
  if (!(st = ValidateSubject(in.subject)).ok()) return fail(st);

  if (!(st = GetTime(b, "received_at", &in.received_at)).ok()) return fail(st);
  if (in.received_at && *in.received_at > ctx.now + kClockSkew)
    return fail(Status::Invalid("must not be in the future", "/received_at"));
  if (!(st = GetBool(b, "verified", &in.verified)).ok()) return fail(st);
  // "verified": true is the operator's word for every identity given;
  // "verified_identities": ["email"] says which ones were actually checked.
  if (b.contains("verified_identities")) {
    const nlohmann::json& v = b["verified_identities"];
    if (!v.is_array()) return fail(Status::Invalid("must be an array of identity kinds", "/verified_identities"));
    for (size_t k = 0; k < v.size(); ++k) {
      if (!v[k].is_string() || in.subject.Get(v[k].get<std::string>()).empty())
        return fail(Status::Invalid("not an identity given in /subject", "/verified_identities/" + std::to_string(k)));
      in.verified_identities.insert(v[k].get<std::string>());
    }
  }
  if (!(st = GetString(b, "note", &in.note, false)).ok()) return fail(st);
  if (b.contains("params")) {
    if (!b["params"].is_object()) return fail(Status::Invalid("must be an object", "/params"));
    in.params = b["params"];
  }
  return DetailReply(s, s.workflow().Submit(in, ctx.principal.Actor()), ctx.now, false, 201);
}

Reply List(Service& s, Context& ctx) {
  for (const auto& [k, v] : ctx.query) {
    static const std::set<std::string> kKnown = {"status", "type", "regulation", "overdue", "due_before",
                                                 "assignee", "q", "limit", "cursor"};
    if (!kKnown.count(k)) return Reply::Error(Status::Invalid("unknown query parameter \"" + k + "\"", "/query/" + k));
  }
  Result<RequestFilter> page_params = ParsePageRequest(ctx.query);
  if (!page_params.ok()) return Reply::Error(page_params.status());
  RequestFilter f = *page_params;
  f.now = ctx.now;
  auto q = [&](const char* k) -> const std::string* {
    auto it = ctx.query.find(k);
    return it == ctx.query.end() || it->second.empty() ? nullptr : &it->second;
  };
  if (const std::string* v = q("status")) {
    f.status = ParseRequestStatus(*v);
    if (!f.status) return Reply::Error(Status::Invalid("unknown status \"" + *v + "\"", "/query/status"));
  }
  if (const std::string* v = q("type")) {
    f.type = ParseRequestType(*v);
    if (!f.type) return Reply::Error(Status::Invalid("unknown type \"" + *v + "\"", "/query/type"));
  }
  if (const std::string* v = q("regulation")) {
    f.regulation = ParseRegulation(*v);
    if (!f.regulation) return Reply::Error(Status::Invalid("unknown regulation \"" + *v + "\"", "/query/regulation"));
  }
  if (const std::string* v = q("overdue")) {
    if (*v != "true" && *v != "false") return Reply::Error(Status::Invalid("must be true or false", "/query/overdue"));
    f.overdue_only = *v == "true";
  }
  if (const std::string* v = q("due_before")) {
    // A bare date means "due before that day starts" (UTC).
    Result<Time> t = ParseRfc3339(v->size() == 10 ? *v + "T00:00:00Z" : *v);
    if (!t.ok()) return Reply::Error(Status::Invalid("must be an RFC 3339 time or YYYY-MM-DD", "/query/due_before"));
    f.due_before = *t;
  }
  if (const std::string* v = q("assignee")) f.assignee = *v;
  if (const std::string* v = q("q")) f.q = *v;
  Result<RequestPage> page = ListPage(s, f);
  if (!page.ok()) return Reply::Error(page.status());
  return Reply::Json(200, PageJson(*page, ctx.now));
}

Reply Show(Service& s, Context& ctx) { return DetailReply(s, s.store().Get(ctx.params["id"]), ctx.now, false); }

// POST /v1/requests/{id}/<action>: the body's fields depend on the action.
Reply Act(Service& s, Context& ctx, Action action, const std::string& name) {
  Result<nlohmann::json> parsed = ParseObject(ctx.req.body(), true);
  if (!parsed.ok()) return Reply::Error(parsed.status());
  const nlohmann::json& b = *parsed;
  std::string reason;
  nlohmann::json args = nlohmann::json::object();
  Status st;
  switch (action) {
    case Action::kHold: {
      st = OnlyFields(b, {"reason", "kind"});
      std::string kind = "other";
      if (st.ok()) st = GetString(b, "kind", &kind, false);
      if (st.ok() && kind != "identity" && kind != "clarification" && kind != "other")
        st = Status::Invalid("must be identity, clarification or other", "/kind");
      args["reason_kind"] = kind;
      break;
    }
    case Action::kAssign: {
      st = OnlyFields(b, {"assignee", "reason"});
      if (st.ok() && !b.contains("assignee")) st = Status::Invalid("is required (a name, or null to unassign)", "/assignee");
      if (st.ok() && !b["assignee"].is_null() && !b["assignee"].is_string())
        st = Status::Invalid("must be a string or null", "/assignee");
      if (st.ok()) args["assignee"] = b["assignee"];
      break;
    }
    case Action::kVerify:
      st = OnlyFields(b, {"reason", "identities"});
      if (st.ok() && b.contains("identities")) args["identities"] = b["identities"];
      break;
    case Action::kNote:
      st = OnlyFields(b, {"note"});
      if (st.ok()) st = GetString(b, "note", &reason, true);
      break;
    default:
      st = OnlyFields(b, {"reason"});
      break;
  }
  if (!st.ok()) return Reply::Error(st);
  if (action != Action::kNote) {
    st = GetString(b, "reason", &reason, action == Action::kDeny || action == Action::kExtend);
    if (!st.ok()) return Reply::Error(st);
  }
  (void)name;
  // Stopping a running request (cancel or fail while in_progress) is the
  // admin's; the core refuses it without this (403).
  if (ctx.principal.role == Role::kAdmin) args["stop_running"] = true;
  return DetailReply(s, s.workflow().Act(ctx.params["id"], action, ctx.principal.Actor(), reason, args), ctx.now,
                     false);
}

Reply Plan(Service& s, Context& ctx) {
  Result<Request> r = s.store().Get(ctx.params["id"]);
  if (!r.ok()) return Reply::Error(r.status());
  if (s.executor() == nullptr) return Reply::Error(Status::Unavailable("no executor is configured"));
  Result<nlohmann::json> plan = s.executor()->Plan(*r);
  if (!plan.ok()) return Reply::Error(plan.status());
  return Reply::Json(200, *plan);
}

Reply Export(Service& s, Context& ctx) {
  Result<Request> r = s.store().Get(ctx.params["id"]);
  if (!r.ok()) return Reply::Error(r.status());
  return ExportReply(s, *r, ctx.principal.Actor(), ctx.now, "inbox");
}

// Who the operator key belongs to: the inbox hides the actions a role may not take.
Reply Me(Context& ctx) {
  return Reply::Json(200, {{"name", ctx.principal.name}, {"role", std::string(ToString(ctx.principal.role))}});
}

Reply Stats(Service& s, Context& ctx) {
  Result<nlohmann::json> st = s.store().Stats(ctx.now);
  if (!st.ok()) return Reply::Error(st.status());
  return Reply::Json(200, *st);
}

Reply Audit(Service& s, Context& ctx) {
  std::string id;
  if (auto it = ctx.query.find("request_id"); it != ctx.query.end()) id = it->second;
  Result<std::vector<AuditEntry>> entries = s.store().Audit(id);
  if (!entries.ok()) return Reply::Error(entries.status());
  nlohmann::json items = nlohmann::json::array();
  for (const AuditEntry& e : *entries) items.push_back(ToJson(e));
  nlohmann::json j = {{"items", std::move(items)}};
  if (id.empty()) {
    // The whole log is a keyed chain, anchored when configured; verify it so
    // the UI can show it is intact.
    Result<ChainReport> chain = s.engine().CheckAudit();
    j["chain"] = chain.ok() ? nlohmann::json{{"ok", true}}
                            : nlohmann::json{{"ok", false}, {"message", chain.status().message()}};
  }
  return Reply::Json(200, j);
}

}  // namespace

void AddInboxRoutes(Router& r, Service& s) {
  Service* sp = &s;
  r.Add(verb::post, "/v1/requests", Access::kAct, [sp](Context& c) { return Create(*sp, c); }, true);
  r.Add(verb::get, "/v1/requests", Access::kRead, [sp](Context& c) { return List(*sp, c); });
  r.Add(verb::get, "/v1/requests/{id}", Access::kRead, [sp](Context& c) { return Show(*sp, c); });
  r.Add(verb::get, "/v1/requests/{id}/plan", Access::kRead, [sp](Context& c) { return Plan(*sp, c); });
  r.Add(verb::get, "/v1/requests/{id}/export", Access::kAct, [sp](Context& c) { return Export(*sp, c); });
  const std::pair<const char*, Action> kActions[] = {
      {"verify", Action::kVerify}, {"approve", Action::kApprove}, {"deny", Action::kDeny},
      {"extend", Action::kExtend}, {"hold", Action::kHold},       {"resume", Action::kResume},
      {"assign", Action::kAssign}, {"notes", Action::kNote},      {"cancel", Action::kCancel},
      {"retry", Action::kRetry}};
  for (const auto& [name, action] : kActions) {
    std::string n = name;
    Action a = action;
    r.Add(verb::post, "/v1/requests/{id}/" + n, Access::kAct, [sp, a, n](Context& c) { return Act(*sp, c, a, n); });
  }
  // Only an admin may fail a request by hand: the way out of a stuck one.
  r.Add(verb::post, "/v1/requests/{id}/fail", Access::kAdmin,
        [sp](Context& c) { return Act(*sp, c, Action::kFail, "fail"); });
  r.Add(verb::get, "/v1/stats", Access::kRead, [sp](Context& c) { return Stats(*sp, c); });
  r.Add(verb::get, "/v1/me", Access::kRead, [](Context& c) { return Me(c); });
  r.Add(verb::get, "/v1/audit", Access::kAudit, [sp](Context& c) { return Audit(*sp, c); });
}

}  // namespace lethe::http
