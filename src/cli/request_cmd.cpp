// `lethe request submit|list|show|verify|approve|deny|extend|hold|resume|cancel|fail|retry|assign|note`
// (plan and export live in request_exec_cmd.cpp: they need the executor).
// Works on the store directly, with or without a running server.
#include <cstdio>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/context.h"
#include "lethe/strict_json.h"

namespace lethe::cli {
namespace {

using nlohmann::json;

struct SubmitOptions {
  std::string config, type, regulation, sla, email, user_id, phone, received, note, channel = "cli", params;
  std::vector<std::string> verified_on;  // --verified-on email (repeatable): only these identities are proved
  bool verified = false, as_json = false;
};

struct ListOptions {
  std::string config, status, type, regulation, assignee, q, cursor, due_before;
  bool overdue = false, as_json = false;
  int limit = 50;
};

struct ActOptions {
  std::string config, id, reason, kind = "other", assignee, actor = "cli";
  std::vector<std::string> identities;  // verify: the kinds proved (all claimed ones when empty)
  bool as_json = false;
};

void PrintRequestLine(const Request& r, Time now) {
  std::string days = IsTerminal(r.status) ? "-" : std::to_string(DaysLeft(r.due_at, now));
  std::printf("%-24s %-13s %-12s %-8s %-10s %6s  %s\n", r.id.c_str(), std::string(ToString(r.type)).c_str(),
              std::string(ToString(r.status)).c_str(), std::string(ToString(r.regulation)).c_str(), r.due_date.c_str(),
              days.c_str(), r.assignee.value_or("").c_str());
}

void PrintDetail(const json& j) {
  std::printf("id:          %s\n", j["id"].get<std::string>().c_str());
  std::printf("type:        %s\n", j["type"].get<std::string>().c_str());
  std::printf("status:      %s\n", j["status"].get<std::string>().c_str());
  std::printf("regulation:  %s\n", j["regulation"].get<std::string>().c_str());
  std::printf("received:    %s\n", j["received_at"].get<std::string>().c_str());
  std::printf("due:         %s (%s)%s\n", j["due_date"].get<std::string>().c_str(),
              j["due_at"].get<std::string>().c_str(), j["extended"].get<bool>() ? " extended" : "");
  if (!j["days_left"].is_null())
    std::printf("days left:   %lld\n", static_cast<long long>(j["days_left"].get<int64_t>()));
  std::printf("subject:     %s\n", j["subject"].dump().c_str());
  std::printf("timeline:\n");
  for (const auto& e : j["events"]) {
    std::printf("  %s  %-10s %-10s %s\n", e["at"].get<std::string>().c_str(), e["kind"].get<std::string>().c_str(),
                e["actor"].get<std::string>().c_str(), e.value("reason", "").c_str());
  }
  if (!j["tasks"].empty()) {
    std::printf("tasks:\n");
    for (const auto& t : j["tasks"])
      std::printf("  %-12s %-20s %-8s %-8s %lld\n", t["connector"].get<std::string>().c_str(),
                  t["collection"].get<std::string>().c_str(), t["action"].get<std::string>().c_str(),
                  t["status"].get<std::string>().c_str(), static_cast<long long>(t["rows"].get<int64_t>()));
  }
  if (j.contains("result")) std::printf("result:      %s\n", j["result"].dump().c_str());
}

void Show(Engine& e, const Request& r, bool as_json) {
  json j = RequestDetail(e, r);
  if (as_json)
    std::printf("%s\n", j.dump(2).c_str());
  else
    PrintDetail(j);
}

void RunSubmit(const SubmitOptions& o) {
  NewRequest in;
  auto type = ParseRequestType(o.type);
  if (!type) return (void)Fail(Status::Invalid("--type: unknown request type \"" + o.type + "\""));
  in.type = *type;
  if (!o.regulation.empty()) {
    auto reg = ParseRegulation(o.regulation);
    if (!reg) return (void)Fail(Status::Invalid("--regulation: unknown regulation \"" + o.regulation + "\""));
    in.regulation = *reg;
  }
  in.custom_sla = o.sla;
  in.subject.email = o.email;
  in.subject.user_id = o.user_id;
  in.subject.phone = o.phone;
  in.verified = o.verified;
  in.verified_identities.insert(o.verified_on.begin(), o.verified_on.end());
  in.channel = o.channel;
  in.note = o.note;
  if (!o.received.empty()) {
    auto t = ParseRfc3339(o.received);
    if (!t.ok()) return (void)Fail(Status::Invalid("--received: " + t.status().message()));
    in.received_at = *t;
  }
  if (!o.params.empty()) {
    Result<json> params = ParseStrictJson(o.params);
    if (!params.ok()) return (void)Fail(Status::Invalid("--params: " + params.status().ToString()));
    if (!params->is_object()) return (void)Fail(Status::Invalid("--params: expected a JSON object"));
    in.params = std::move(*params);
  }
  auto e = OpenEngine(o.config);
  if (!e) return;
  auto r = e->workflow->Submit(in, o.channel == "cli" ? "cli" : o.channel);
  if (!r.ok()) return (void)Fail(r.status());
  if (o.as_json)
    Show(*e, *r, true);
  else
    std::printf("%s\n", r->id.c_str());
}

void RunList(const ListOptions& o) {
  RequestFilter f;
  f.now = Now();
  if (!o.status.empty()) {
    f.status = ParseRequestStatus(o.status);
    if (!f.status) return (void)Fail(Status::Invalid("--status: unknown status \"" + o.status + "\""));
  }
  if (!o.type.empty()) {
    f.type = ParseRequestType(o.type);
    if (!f.type) return (void)Fail(Status::Invalid("--type: unknown request type \"" + o.type + "\""));
  }
  if (!o.regulation.empty()) {
    f.regulation = ParseRegulation(o.regulation);
    if (!f.regulation) return (void)Fail(Status::Invalid("--regulation: unknown regulation \"" + o.regulation + "\""));
  }
  if (!o.assignee.empty()) f.assignee = o.assignee;
  if (!o.due_before.empty()) {
    auto t = ParseRfc3339(o.due_before);
    if (!t.ok()) return (void)Fail(Status::Invalid("--due-before: " + t.status().message()));
    f.due_before = *t;
  }
  f.overdue_only = o.overdue;
  f.q = o.q;
  f.limit = o.limit;
  f.cursor = o.cursor;
  auto e = OpenEngine(o.config);
  if (!e) return;
  auto page = e->store->List(f);
  if (!page.ok()) return (void)Fail(page.status());
  if (o.as_json) {
    json items = json::array();
    for (const auto& r : page->items) items.push_back(r.ToJson(f.now));
    json out = {{"items", items}, {"next_cursor", page->next_cursor.empty() ? json(nullptr) : json(page->next_cursor)}};
    std::printf("%s\n", out.dump(2).c_str());
    return;
  }
  std::printf("%-24s %-13s %-12s %-8s %-10s %6s  %s\n", "ID", "TYPE", "STATUS", "REG", "DUE", "DAYS", "ASSIGNEE");
  for (const auto& r : page->items) PrintRequestLine(r, f.now);
  if (!page->next_cursor.empty()) std::printf("more: --cursor %s\n", page->next_cursor.c_str());
}

void RunShow(const ActOptions& o) {
  auto e = OpenEngine(o.config);
  if (!e) return;
  auto r = e->store->Get(o.id);
  if (!r.ok()) return (void)Fail(r.status());
  Show(*e, *r, o.as_json);
}

void RunAct(Action action, const ActOptions& o) {
  auto e = OpenEngine(o.config);
  if (!e) return;
  json args = json::object();
  if (action == Action::kHold) args["reason_kind"] = o.kind;
  if (action == Action::kAssign) args["assignee"] = o.assignee.empty() ? json(nullptr) : json(o.assignee);
  if (action == Action::kVerify && !o.identities.empty()) args["identities"] = o.identities;
  // The CLI works on the store directly: whoever runs it has the admin's
  // reach, including stopping a running request (cancel, fail).
  args["stop_running"] = true;
  auto r = e->workflow->Act(o.id, action, o.actor, o.reason, args);
  if (!r.ok()) {
    // Invalid input from the command line is a usage error; a state conflict is a failed operation.
    return (void)Fail(r.status());
  }
  if (o.as_json)
    Show(*e, *r, true);
  else
    std::printf("%s %s\n", r->id.c_str(), std::string(ToString(r->status)).c_str());
}

}  // namespace

void AddRequestCommands(CLI::App& app) {
  auto* req = app.add_subcommand("request", "Submit, list, inspect and act on requests");
  req->require_subcommand(1);

  AddRequestExecCommands(*req);

  auto so = std::make_shared<SubmitOptions>();
  auto* submit = req->add_subcommand("submit", "Create a request");
  submit->add_option("--config", so->config, "Config file")->required();
  submit->add_option("--type", so->type, "access|portability|erasure|rectification|restriction|objection")->required();
  submit->add_option("--regulation", so->regulation, "gdpr|uk_gdpr|ccpa|lgpd|us_state|custom");
  submit->add_option("--sla", so->sla, "Custom SLA name (with --regulation custom)");
  submit->add_option("--email", so->email, "Subject email");
  submit->add_option("--user-id", so->user_id, "Subject user id");
  submit->add_option("--phone", so->phone, "Subject phone");
  submit->add_flag("--verified", so->verified, "Every identity given is already verified");
  submit->add_option("--verified-on", so->verified_on,
                     "Only this identity kind is verified (email, user_id, phone; repeatable)");
  submit->add_option("--received", so->received, "Receipt time (RFC 3339), for back-dated requests");
  submit->add_option("--note", so->note, "Free-text note");
  submit->add_option("--channel", so->channel, "Channel (cli, email, phone, web_form, ...)");
  submit->add_option("--params", so->params, "Type-specific JSON (rectification: {\"fields\": {...}})");
  submit->add_flag("--json", so->as_json, "Print the request as JSON");
  submit->callback([so] { RunSubmit(*so); });

  auto lo = std::make_shared<ListOptions>();
  auto* list = req->add_subcommand("list", "List requests, due first");
  list->add_option("--config", lo->config, "Config file")->required();
  list->add_option("--status", lo->status);
  list->add_option("--type", lo->type);
  list->add_option("--regulation", lo->regulation);
  list->add_option("--assignee", lo->assignee);
  list->add_option("--due-before", lo->due_before);
  list->add_flag("--overdue", lo->overdue);
  list->add_option("--q", lo->q, "Search id, email, user id, note");
  list->add_option("--limit", lo->limit)->check(CLI::Range(1, 500));
  list->add_option("--cursor", lo->cursor);
  list->add_flag("--json", lo->as_json);
  list->callback([lo] { RunList(*lo); });

  auto show_o = std::make_shared<ActOptions>();
  auto* show = req->add_subcommand("show", "Show one request with its timeline and tasks");
  show->add_option("--config", show_o->config, "Config file")->required();
  show->add_option("id", show_o->id, "Request id")->required();
  show->add_flag("--json", show_o->as_json);
  show->callback([show_o] { RunShow(*show_o); });

  struct Verb {
    const char* name;
    Action action;
    const char* help;
  };
  const Verb verbs[] = {
      {"verify", Action::kVerify, "Mark the subject's identity verified"},
      {"approve", Action::kApprove, "Approve: queue for execution"},
      {"deny", Action::kDeny, "Deny (needs --reason)"},
      {"extend", Action::kExtend, "Extend the deadline once (needs --reason)"},
      {"hold", Action::kHold, "Put on hold (--kind identity|clarification|other)"},
      {"resume", Action::kResume, "Resume a held request"},
      {"cancel", Action::kCancel, "Cancel (a running request: needs --reason)"},
      {"fail", Action::kFail, "Stop a running (stuck) request as failed (needs --reason)"},
      {"retry", Action::kRetry, "Retry a failed request"},
      {"assign", Action::kAssign, "Assign to an operator (--assignee; empty unassigns)"},
      {"note", Action::kNote, "Add a note (--reason is the note)"},
  };
  for (const Verb& v : verbs) {
    auto o = std::make_shared<ActOptions>();
    auto* sub = req->add_subcommand(v.name, v.help);
    sub->add_option("--config", o->config, "Config file")->required();
    sub->add_option("id", o->id, "Request id")->required();
    sub->add_option("--reason", o->reason, "Reason (deny, extend, fail) or note text");
    sub->add_option("--kind", o->kind, "Hold kind: identity|clarification|other");
    sub->add_option("--assignee", o->assignee, "Operator name");
    sub->add_option("--actor", o->actor, "Who is acting (recorded in the timeline)");
    if (v.action == Action::kVerify)
      sub->add_option("--identity", o->identities, "verify: the identity kind proved (repeatable; default all)");
    sub->add_flag("--json", o->as_json);
    Action a = v.action;
    sub->callback([o, a] { RunAct(a, *o); });
  }
}

}  // namespace lethe::cli
