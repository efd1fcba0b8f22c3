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

Result<NewRequest> ParseInboxCreateRequest(std::string_view body, Time now) {
  LETHE_ASSIGN_OR_RETURN(auto parsed, ParseObject(body, false));
  const nlohmann::json& b = parsed;
  LETHE_RETURN_IF_ERROR(OnlyFields(b, {"type", "regulation", "custom_sla", "channel", "subject", "received_at",
                                       "verified", "verified_identities", "note", "params"}));

  NewRequest in;
  std::string text;
  LETHE_RETURN_IF_ERROR(GetString(b, "type", &text, true));
  std::optional<RequestType> type = ParseRequestType(text);
  if (!type) return Status::Invalid("unknown request type \"" + text + "\"", "/type");
  in.type = *type;

  text.clear();
  LETHE_RETURN_IF_ERROR(GetString(b, "regulation", &text, false));
  if (!text.empty()) {
    std::optional<Regulation> reg = ParseRegulation(text);
    if (!reg) return Status::Invalid("unknown regulation \"" + text + "\"", "/regulation");
    in.regulation = *reg;
  }
  LETHE_RETURN_IF_ERROR(GetString(b, "custom_sla", &in.custom_sla, false));

  in.channel = "api";
  LETHE_RETURN_IF_ERROR(GetString(b, "channel", &in.channel, false));
  bool channel_ok = !in.channel.empty() && in.channel.size() <= 32;
  for (unsigned char c : in.channel) channel_ok = channel_ok && (std::islower(c) || c == '_');
  if (!channel_ok) return Status::Invalid("must be lowercase letters and _", "/channel");

  auto subj = b.find("subject");
  if (subj == b.end() || !subj->is_object()) return Status::Invalid("is required (an object)", "/subject");
  LETHE_RETURN_IF_ERROR(OnlyFields(*subj, {"email", "user_id", "phone"}, "/subject"));
  LETHE_RETURN_IF_ERROR(GetString(*subj, "email", &in.subject.email, false, "/subject"));
  LETHE_RETURN_IF_ERROR(GetString(*subj, "user_id", &in.subject.user_id, false, "/subject"));
  LETHE_RETURN_IF_ERROR(GetString(*subj, "phone", &in.subject.phone, false, "/subject"));
  LETHE_RETURN_IF_ERROR(ValidateSubject(in.subject));

  LETHE_RETURN_IF_ERROR(GetTime(b, "received_at", &in.received_at));
  if (in.received_at && *in.received_at > now + kClockSkew)
    return Status::Invalid("must not be in the future", "/received_at");
  LETHE_RETURN_IF_ERROR(GetBool(b, "verified", &in.verified));
  // "verified": true is the operator's word for every identity given;
  // "verified_identities": ["email"] says which ones were actually checked.
  if (b.contains("verified_identities")) {
    const nlohmann::json& v = b["verified_identities"];
    if (!v.is_array()) return Status::Invalid("must be an array of identity kinds", "/verified_identities");
    for (size_t k = 0; k < v.size(); ++k) {
      if (!v[k].is_string() || in.subject.Get(v[k].get<std::string>()).empty())
        return Status::Invalid("not an identity given in /subject", "/verified_identities/" + std::to_string(k));
      in.verified_identities.insert(v[k].get<std::string>());
    }
  }
  LETHE_RETURN_IF_ERROR(GetString(b, "note", &in.note, false));
  if (b.contains("params")) {
    if (!b["params"].is_object()) return Status::Invalid("must be an object", "/params");
    in.params = b["params"];
  }
  return in;
}

Result<RequestFilter> ParseInboxListRequest(const Query& query) {
  for (const auto& [k, v] : query) {
    static const std::set<std::string> kKnown = {"status",   "type", "regulation", "overdue", "due_before",
                                                 "assignee", "q",    "limit",      "cursor"};
    if (!kKnown.count(k)) return Status::Invalid("unknown query parameter \"" + k + "\"", "/query/" + k);
  }
  LETHE_ASSIGN_OR_RETURN(auto page, ParsePageRequest(query));
  RequestFilter f = page;
  // An empty parameter is no filter.
  auto q = [&](const char* k) -> const std::string* {
    auto it = query.find(k);
    return it == query.end() || it->second.empty() ? nullptr : &it->second;
  };
  if (const std::string* v = q("status")) {
    f.status = ParseRequestStatus(*v);
    if (!f.status) return Status::Invalid("unknown status \"" + *v + "\"", "/query/status");
  }
  if (const std::string* v = q("type")) {
    f.type = ParseRequestType(*v);
    if (!f.type) return Status::Invalid("unknown type \"" + *v + "\"", "/query/type");
  }
  if (const std::string* v = q("regulation")) {
    f.regulation = ParseRegulation(*v);
    if (!f.regulation) return Status::Invalid("unknown regulation \"" + *v + "\"", "/query/regulation");
  }
  if (const std::string* v = q("overdue")) {
    if (*v != "true" && *v != "false") return Status::Invalid("must be true or false", "/query/overdue");
    f.overdue_only = *v == "true";
  }
  if (const std::string* v = q("due_before")) {
    // A bare date means "due before that day starts" (UTC).
    Result<Time> t = ParseRfc3339(v->size() == 10 ? *v + "T00:00:00Z" : *v);
    if (!t.ok()) return Status::Invalid("must be an RFC 3339 time or YYYY-MM-DD", "/query/due_before");
    f.due_before = *t;
  }
  if (const std::string* v = q("assignee")) f.assignee = *v;
  if (const std::string* v = q("q")) f.q = *v;
  return f;
}

std::optional<Action> ParseActionName(std::string_view name) {
  if (name == "notes") return Action::kNote;
  std::optional<Action> a = ParseAction(name);
  // "note" is spelt "notes" on the path; start and complete are the worker's.
  if (!a || *a == Action::kNote || *a == Action::kStart || *a == Action::kComplete) return std::nullopt;
  return a;
}

Result<ActRequest> ParseActRequest(Action action, std::string_view body) {
  LETHE_ASSIGN_OR_RETURN(auto parsed, ParseObject(body, true));
  const nlohmann::json& b = parsed;
  ActRequest in;
  switch (action) {
    case Action::kHold: {
      LETHE_RETURN_IF_ERROR(OnlyFields(b, {"reason", "kind"}));
      std::string kind = "other";
      LETHE_RETURN_IF_ERROR(GetString(b, "kind", &kind, false));
      if (kind != "identity" && kind != "clarification" && kind != "other")
        return Status::Invalid("must be identity, clarification or other", "/kind");
      in.args["reason_kind"] = kind;
      break;
    }
    case Action::kAssign:
      LETHE_RETURN_IF_ERROR(OnlyFields(b, {"assignee", "reason"}));
      if (!b.contains("assignee")) return Status::Invalid("is required (a name, or null to unassign)", "/assignee");
      if (!b["assignee"].is_null() && !b["assignee"].is_string())
        return Status::Invalid("must be a string or null", "/assignee");
      in.args["assignee"] = b["assignee"];
      break;
    case Action::kVerify:
      LETHE_RETURN_IF_ERROR(OnlyFields(b, {"reason", "identities"}));
      if (b.contains("identities")) in.args["identities"] = b["identities"];
      break;
    case Action::kNote:
      LETHE_RETURN_IF_ERROR(OnlyFields(b, {"note"}));
      LETHE_RETURN_IF_ERROR(GetString(b, "note", &in.reason, true));
      return in;
    default: LETHE_RETURN_IF_ERROR(OnlyFields(b, {"reason"})); break;
  }
  LETHE_RETURN_IF_ERROR(GetString(b, "reason", &in.reason, action == Action::kDeny || action == Action::kExtend));
  return in;
}

namespace {

using bhttp::verb;

Reply Create(Service& s, Context& ctx) {
  Result<NewRequest> in = ParseInboxCreateRequest(ctx.req.body(), ctx.now);
  if (!in.ok()) return Reply::Error(in.status());
  return DetailReply(s, s.workflow().Submit(*in, ctx.principal.Actor()), ctx.now, false, 201);
}

Reply List(Service& s, Context& ctx) {
  Result<RequestFilter> f = ParseInboxListRequest(ctx.query);
  if (!f.ok()) return Reply::Error(f.status());
  f->now = ctx.now;
  Result<RequestPage> page = ListPage(s, *f);
  if (!page.ok()) return Reply::Error(page.status());
  return Reply::Json(200, PageJson(*page, ctx.now));
}

Reply Show(Service& s, Context& ctx) { return DetailReply(s, s.store().Get(ctx.params["id"]), ctx.now, false); }

Reply Act(Service& s, Context& ctx, Action action) {
  Result<ActRequest> in = ParseActRequest(action, ctx.req.body());
  if (!in.ok()) return Reply::Error(in.status());
  // Stopping a running request (cancel or fail while in_progress) is the
  // admin's; the core refuses it without this (403).
  if (ctx.principal.role == Role::kAdmin) in->args["stop_running"] = true;
  return DetailReply(s, s.workflow().Act(ctx.params["id"], action, ctx.principal.Actor(), in->reason, in->args),
                     ctx.now, false);
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
  r.Add(
      verb::post, "/v1/requests", Access::kAct, [sp](Context& c) { return Create(*sp, c); }, true);
  r.Add(verb::get, "/v1/requests", Access::kRead, [sp](Context& c) { return List(*sp, c); });
  r.Add(verb::get, "/v1/requests/{id}", Access::kRead, [sp](Context& c) { return Show(*sp, c); });
  r.Add(verb::get, "/v1/requests/{id}/plan", Access::kRead, [sp](Context& c) { return Plan(*sp, c); });
  r.Add(verb::get, "/v1/requests/{id}/export", Access::kAct, [sp](Context& c) { return Export(*sp, c); });
  for (std::string_view name : kActionNames) {
    const Action a = *ParseActionName(name);
    // Only an admin may fail a request by hand: the way out of a stuck one.
    const Access access = a == Action::kFail ? Access::kAdmin : Access::kAct;
    r.Add(verb::post, "/v1/requests/{id}/" + std::string(name), access, [sp, a](Context& c) { return Act(*sp, c, a); });
  }
  r.Add(verb::get, "/v1/stats", Access::kRead, [sp](Context& c) { return Stats(*sp, c); });
  r.Add(verb::get, "/v1/me", Access::kRead, [](Context& c) { return Me(c); });
  r.Add(verb::get, "/v1/audit", Access::kAudit, [sp](Context& c) { return Audit(*sp, c); });
}

}  // namespace lethe::http
