#include "lethe/workflow.h"

#include <spdlog/spdlog.h>

#include "core/hex.h"

namespace lethe {
namespace {

using nlohmann::json;

// Event kinds as they appear in the timeline and the audit log.
std::string EventKind(Action a) {
  switch (a) {
    case Action::kVerify: return "verified";
    case Action::kApprove: return "approved";
    case Action::kDeny: return "denied";
    case Action::kHold: return "on_hold";
    case Action::kResume: return "resumed";
    case Action::kCancel: return "cancelled";
    case Action::kStart: return "started";
    case Action::kComplete: return "completed";
    case Action::kFail: return "failed";
    case Action::kRetry: return "retried";
    case Action::kExtend: return "extended";
    case Action::kAssign: return "assigned";
    case Action::kNote: return "note";
  }
  return "unknown";
}

}  // namespace

Workflow::Workflow(Store& store, DeadlineEngine deadlines, WorkflowPolicy policy)
    : store_(store), deadlines_(std::move(deadlines)), policy_(std::move(policy)) {}

std::string Workflow::SubjectRef(const Subject& s) const {
  if (auto it = s.custom.find("ref"); it != s.custom.end() && s.email.empty() && s.user_id.empty())
    return it->second;  // an erasure receipt: the pseudonym is all that is left
  if (!s.email.empty()) return Pseudonym(policy_.pseudonym_key, "email", s.email);
  if (!s.user_id.empty()) return Pseudonym(policy_.pseudonym_key, "user_id", s.user_id);
  if (!s.phone.empty()) return Pseudonym(policy_.pseudonym_key, "phone", s.phone);
  return "";
}

Result<Request> Workflow::Submit(const NewRequest& in, const std::string& actor) {
  // Every intake (inbox, self-service, public form, OpenDSR, CLI, import)
  // comes through here, so this is where identity shapes are checked.
  LETHE_RETURN_IF_ERROR(ValidateSubject(in.subject));
  for (const std::string& k : in.verified_identities)
    if (in.subject.Get(k).empty())
      return Status::Invalid("\"" + k + "\" is not an identity of this request", "/verified_identities");
  const Time now = Now();
  Request r;
  r.id = NewRequestId();
  r.type = in.type;
  r.regulation = in.regulation.value_or(policy_.default_regulation);
  r.custom_sla = in.custom_sla;
  r.channel = in.channel;
  r.subject = in.subject;
  r.owner = in.owner;
  if (!in.verified_identities.empty()) {
    r.verified_identities = in.verified_identities;
  } else if (in.verified) {
    for (const std::string& k : in.subject.Kinds()) r.verified_identities.insert(k);
  }
  r.verified = !r.verified_identities.empty();
  r.received_at = in.received_at.value_or(now);
  if (r.received_at > now + std::chrono::minutes(5))
    return Status::Invalid("received_at is in the future", "/received_at");
  auto due = deadlines_.Due(r.regulation, r.received_at, r.custom_sla);
  if (!due.ok()) return Status::Invalid(due.status().message(), r.regulation == Regulation::kCustom ? "/sla" : "/regulation");
  r.due_at = due->due_at;
  r.due_date = due->due_date;
  r.note = in.note;
  r.params = in.params;
  r.external_id = in.external_id;
  r.status_callback_urls = in.status_callback_urls;
  r.created_at = r.updated_at = now;

  // Identity first: an unverified request waits; a verified self-service one
  // of an auto-approved type goes straight to the queue (erasure after its grace).
  std::string reason;
  if (!r.verified) {
    r.status = RequestStatus::kUnverified;
  } else if (r.channel == "self_service" && policy_.auto_approve.count(r.type)) {
    r.status = RequestStatus::kApproved;
    reason = "auto-approved (self-service)";
    if (r.type == RequestType::kErasure)
      r.not_before = now + std::chrono::duration_cast<std::chrono::seconds>(policy_.erasure_grace.Approx());
  } else {
    r.status = RequestStatus::kPending;
  }

  Event e{0, now, "received", actor, reason, "", std::string(ToString(r.status))};
  AuditEntry a;
  a.at = now;
  a.request_id = r.id;
  a.kind = "received";
  a.actor = actor;
  a.subject_ref = SubjectRef(r.subject);
  a.detail = {{"type", ToString(r.type)}, {"regulation", ToString(r.regulation)}, {"channel", r.channel},
              {"status", ToString(r.status)}, {"received_at", FormatRfc3339(r.received_at)},
              {"due_at", FormatRfc3339(r.due_at)}};
  LETHE_RETURN_IF_ERROR(store_.Insert(r, e, std::move(a)));
  spdlog::info("request received id={} type={} status={}", r.id, ToString(r.type), ToString(r.status));
  auto saved = store_.Get(r.id);
  if (saved.ok())
    for (auto& l : listeners_) l(*saved, e);
  return saved;
}

Result<Request> Workflow::Act(const std::string& id, Action action, const std::string& actor,
                              const std::string& reason, const json& args) {
  auto loaded = store_.Get(id);
  if (!loaded.ok()) return loaded.status();
  Request r = *loaded;
  const Time now = Now();
  auto next = NextStatus(r.status, action, r.status_before_hold);
  if (!next.ok()) return next.status();
  if ((action == Action::kDeny || action == Action::kExtend) && reason.empty())
    return Status::Invalid(std::string(ToString(action)) + " needs a reason", "/reason");
  if (action == Action::kNote && reason.empty()) return Status::Invalid("note is empty", "/note");

  json detail = json::object();
  switch (action) {
    case Action::kVerify: {
      std::set<std::string> kinds;
      if (args.is_object() && args.contains("identities")) {
        const json& ids = args["identities"];
        if (!ids.is_array() || ids.empty()) return Status::Invalid("must be a non-empty array of identity kinds", "/identities");
        for (size_t k = 0; k < ids.size(); ++k) {
          if (!ids[k].is_string() || r.subject.Get(ids[k].get<std::string>()).empty())
            return Status::Invalid("not an identity of this request", "/identities/" + std::to_string(k));
          kinds.insert(ids[k].get<std::string>());
        }
      } else {
        for (const std::string& k : r.subject.Kinds()) kinds.insert(k);
      }
      json added = json::array();
      for (const std::string& k : kinds)
        if (r.verified_identities.insert(k).second) added.push_back(k);
      if (added.empty() && r.status != RequestStatus::kUnverified)
        return Status::Conflict("those identities are already verified");
      r.verified = !r.verified_identities.empty();
      detail["identities"] = added;  // kinds, never values
      break;
    }
    case Action::kApprove:
      if (!r.verified) return Status::Conflict("cannot approve a request whose identity is not verified");
      break;
    case Action::kExtend: {
      LETHE_RETURN_IF_ERROR(deadlines_.CanExtend(r, now));
      auto ext = deadlines_.Extended(r.regulation, r.received_at, r.custom_sla);
      if (!ext.ok()) return ext.status();
      Deadline d = r.paused_seconds > 0 ? deadlines_.AddPause(*ext, r.paused_seconds) : *ext;
      r.extended = true;
      r.extension_reason = reason;
      r.due_at = d.due_at;
      r.due_date = d.due_date;
      detail["due_at"] = FormatRfc3339(r.due_at);
      break;
    }
    case Action::kHold: {
      std::string kind = args.is_object() ? args.value("reason_kind", "other") : "other";
      if (kind != "identity" && kind != "clarification" && kind != "other")
        return Status::Invalid("hold kind must be identity, clarification or other", "/kind");
      r.status_before_hold = r.status;
      r.hold_since = now;
      r.hold_reason = kind;
      detail["hold_kind"] = kind;
      detail["clock_stops"] = deadlines_.HoldStopsClock(r.regulation, kind, r.custom_sla);
      break;
    }
    case Action::kResume: {
      // Only a pause the regulation allows moves the deadline (EDPB 01/2022;
      // CCPA never pauses). The receipt date itself never changes.
      if (r.hold_since && deadlines_.HoldStopsClock(r.regulation, r.hold_reason, r.custom_sla)) {
        int64_t paused = (now - *r.hold_since).count();
        Deadline d = deadlines_.AddPause(Deadline{r.due_at, r.due_date}, paused);
        r.paused_seconds += paused;
        r.due_at = d.due_at;
        r.due_date = d.due_date;
        detail["paused_seconds"] = paused;
        detail["due_at"] = FormatRfc3339(r.due_at);
      }
      r.hold_since.reset();
      r.hold_reason.clear();
      break;
    }
    case Action::kAssign: {
      if (!args.is_object() || !args.contains("assignee") || !(args["assignee"].is_string() || args["assignee"].is_null()))
        return Status::Invalid("assignee must be a string or null", "/assignee");
      if (args["assignee"].is_null() || args["assignee"].get<std::string>().empty()) r.assignee.reset();
      else r.assignee = args["assignee"].get<std::string>();
      detail["assignee"] = r.assignee ? json(*r.assignee) : json(nullptr);
      break;
    }
    case Action::kRetry:
      r.result = json::object();
      break;
    case Action::kStart:
    case Action::kComplete:
    case Action::kFail:
      return Status::Invalid("worker actions go through Start/Finish");
    default:
      break;
  }

  Event e{0, now, EventKind(action), actor, reason, "", ""};
  if (action == Action::kVerify) {
    // The timeline says which identities this verification proved.
    std::string kinds;
    for (const auto& k : detail["identities"]) kinds += (kinds.empty() ? "" : ", ") + k.get<std::string>();
    e.reason = (reason.empty() ? "" : reason + ": ") + kinds;
  }
  if (*next != r.status) {
    e.from_status = std::string(ToString(r.status));
    e.to_status = std::string(ToString(*next));
  }
  r.status = *next;
  return Commit(std::move(r), std::move(e), std::move(detail));
}

Result<Request> Workflow::Commit(Request r, Event e, json audit_detail) {
  r.updated_at = e.at;
  AuditEntry a;
  a.at = e.at;
  a.request_id = r.id;
  a.kind = e.kind;
  a.actor = e.actor;
  a.subject_ref = SubjectRef(r.subject);
  if (!e.from_status.empty()) {
    audit_detail["from"] = e.from_status;
    audit_detail["to"] = e.to_status;
  }
  a.detail = std::move(audit_detail);
  LETHE_RETURN_IF_ERROR(store_.Update(r, e, std::move(a)));
  spdlog::info("request {} id={} status={}", e.kind, r.id, ToString(r.status));
  auto saved = store_.Get(r.id);
  if (saved.ok())
    for (auto& l : listeners_) l(*saved, e);
  return saved;
}

Result<Request> Workflow::Start(const std::string& id) {
  auto loaded = store_.Get(id);
  if (!loaded.ok()) return loaded.status();
  Request r = *loaded;
  auto next = NextStatus(r.status, Action::kStart);
  if (!next.ok()) return next.status();
  if (r.status == RequestStatus::kInProgress) return r;  // resuming after a crash: no new event
  Event e{0, Now(), "started", "system", "", std::string(ToString(r.status)), "in_progress"};
  r.status = RequestStatus::kInProgress;
  return Commit(std::move(r), std::move(e), json::object());
}

Result<Request> Workflow::Finish(const std::string& id, const Result<json>& outcome) {
  auto loaded = store_.Get(id);
  if (!loaded.ok()) return loaded.status();
  Request r = *loaded;
  const Action action = outcome.ok() ? Action::kComplete : Action::kFail;
  auto next = NextStatus(r.status, action);
  if (!next.ok()) return next.status();
  const Time now = Now();
  json detail = json::object();
  std::string reason;
  if (outcome.ok()) {
    r.result = *outcome;
    if (r.result.contains("export_path") && r.result["export_path"].is_string()) {
      r.export_path = r.result["export_path"].get<std::string>();
      r.result.erase("export_path");  // a server path is not for API clients
    }
    r.completed_at = now;
    // The audit entry carries counts and bases, never values.
    for (const char* k : {"counts", "retained", "fields_changed", "remaining", "records", "files"})
      if (r.result.contains(k)) detail[k] = r.result[k];
  } else {
    reason = outcome.status().message();
    r.result = {{"error", reason}};
  }
  Event e{0, now, EventKind(action), "system", reason, std::string(ToString(r.status)), std::string(ToString(*next))};
  r.status = *next;
  auto done = Commit(std::move(r), std::move(e), std::move(detail));
  if (!done.ok() || done->type != RequestType::kErasure || done->status != RequestStatus::kCompleted) return done;

  // After an erasure the engine keeps a receipt, not the person (LEGAL.md,
  // Records; contract §4 end). Listeners have already run on the completed
  // request above.
  LETHE_RETURN_IF_ERROR(ForgetSubject(*done));
  return store_.Get(id);
}

Result<int> Worker::RunOnce() {
  auto due = wf_.store().WithStatus({RequestStatus::kInProgress, RequestStatus::kApproved}, 100);
  if (!due.ok()) return due.status();
  int finished = 0;
  failed_ = 0;
  const Time now = Now();
  for (const Request& r : *due) {
    if (r.status == RequestStatus::kApproved && r.not_before && *r.not_before > now) continue;  // grace period
    auto started = wf_.Start(r.id);
    if (!started.ok()) {
      // Someone else (another worker, a cancel) got there first: not an error.
      if (started.status().code() == Code::kConflict) continue;
      return started.status();
    }
    Result<json> outcome = ex_.Execute(*started);
    if (!outcome.ok()) {
      ++failed_;
      spdlog::warn("request failed id={} error={}", r.id, outcome.status().ToString());
    }
    auto done = wf_.Finish(r.id, outcome);
    if (!done.ok()) return done.status();
    ++finished;
  }
  return finished;
}

}  // namespace lethe
