#include "lethe/workflow.h"

#include <cxxabi.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <random>
#include <thread>
#include <typeinfo>

#include <spdlog/spdlog.h>

#include "lethe/hex.h"

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
  if (!due.ok())
    return Status::Invalid(due.status().message(), r.regulation == Regulation::kCustom ? "/sla" : "/regulation");
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
  a.detail = {{"type", ToString(r.type)},
              {"regulation", ToString(r.regulation)},
              {"channel", r.channel},
              {"status", ToString(r.status)},
              {"received_at", FormatRfc3339(r.received_at)},
              {"due_at", FormatRfc3339(r.due_at)}};
  LETHE_RETURN_IF_ERROR(store_.Insert(r, e, std::move(a)));
  spdlog::info("request received id={} type={} status={}", r.id, ToString(r.type), ToString(r.status));
  auto saved = store_.Get(r.id);
  if (saved.ok())
    for (auto& l : listeners_) l(*saved, e);
  return saved;
}

Result<Request> Workflow::Act(const std::string& id, Action action, const std::string& actor, const std::string& reason,
                              const json& args) {
  LETHE_ASSIGN_OR_RETURN(auto loaded, store_.Get(id));
  Request r = loaded;
  const Time now = Now();
  LETHE_ASSIGN_OR_RETURN(auto next, NextStatus(r.status, action, r.status_before_hold));
  if ((action == Action::kDeny || action == Action::kExtend) && reason.empty())
    return Status::Invalid(std::string(ToString(action)) + " needs a reason", "/reason");
  if (action == Action::kNote && reason.empty()) return Status::Invalid("note is empty", "/note");
  if (action == Action::kFail && r.status != RequestStatus::kInProgress)
    return Status::Conflict("only a request in progress can be failed");
  const bool stops_running =
      r.status == RequestStatus::kInProgress && (action == Action::kCancel || action == Action::kFail);
  if (stops_running) {
    // Stopping a running request is the way out of a stuck one; it may leave
    // an erasure half done, so only an admin may, and the reason is recorded.
    if (!(args.is_object() && args.value("stop_running", false)))
      return Status::Conflict("cannot " + std::string(ToString(action)) +
                              " a request that is \"in_progress\" (only an admin may stop a running request)");
    if (reason.empty())
      return Status::Invalid(std::string(ToString(action)) + " of a running request needs a reason", "/reason");
  }

  json detail = json::object();
  switch (action) {
    case Action::kVerify: {
      std::set<std::string> kinds;
      if (args.is_object() && args.contains("identities")) {
        const json& ids = args["identities"];
        if (!ids.is_array() || ids.empty())
          return Status::Invalid("must be a non-empty array of identity kinds", "/identities");
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
      LETHE_ASSIGN_OR_RETURN(auto ext, deadlines_.Extended(r.regulation, r.received_at, r.custom_sla));
      Deadline d = r.paused_seconds > 0 ? deadlines_.AddPause(ext, r.paused_seconds) : ext;
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
      if (!args.is_object() || !args.contains("assignee") ||
          !(args["assignee"].is_string() || args["assignee"].is_null()))
        return Status::Invalid("assignee must be a string or null", "/assignee");
      if (args["assignee"].is_null() || args["assignee"].get<std::string>().empty())
        r.assignee.reset();
      else
        r.assignee = args["assignee"].get<std::string>();
      detail["assignee"] = r.assignee ? json(*r.assignee) : json(nullptr);
      break;
    }
    case Action::kRetry: r.result = json::object(); break;
    case Action::kFail:
      // A worker still running it (a live lease) can no longer finish it:
      // its Finish finds the status moved on and is refused.
      r.result = {{"error", "stopped by an operator"}};
      break;
    case Action::kCancel:
      if (stops_running) detail["stopped_running"] = true;
      break;
    case Action::kStart:
    case Action::kComplete: return Status::Invalid("worker actions go through Start/Finish");
    default: break;
  }

  Event e{0, now, EventKind(action), actor, reason, "", ""};
  if (action == Action::kVerify) {
    // The timeline says which identities this verification proved.
    std::string kinds;
    for (const auto& k : detail["identities"]) kinds += (kinds.empty() ? "" : ", ") + k.get<std::string>();
    e.reason = (reason.empty() ? "" : reason + ": ") + kinds;
  }
  if (next != r.status) {
    e.from_status = std::string(ToString(r.status));
    e.to_status = std::string(ToString(next));
  }
  r.status = next;
  return Commit(std::move(r), std::move(e), std::move(detail));
}

Result<Request> Workflow::Commit(Request r, Event e, json audit_detail, const std::string& lease_owner) {
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
  LETHE_RETURN_IF_ERROR(lease_owner.empty() ? store_.Update(r, e, std::move(a))
                                            : store_.UpdateLeased(r, lease_owner, e, std::move(a)));
  spdlog::info("request {} id={} status={}", e.kind, r.id, ToString(r.status));
  auto saved = store_.Get(r.id);
  if (saved.ok())
    for (auto& l : listeners_) l(*saved, e);
  return saved;
}

namespace {

// An operator may note, assign or extend a running request between a
// worker's read and its write: the version moves on while the lease stays
// the worker's. Such a conflict is retried a few times on a fresh read; a
// lost lease conflicts every time and is returned.
constexpr int kLeasedWriteAttempts = 4;

}  // namespace

Result<Request> Workflow::Start(const std::string& id, const std::string& lease_owner, std::chrono::seconds lease) {
  const Time now = Now();
  LETHE_ASSIGN_OR_RETURN(auto claimed, store_.ClaimRequest(id, lease_owner, now, now + lease));
  if (!claimed) return Status::Conflict("request " + id + " is leased by another worker or no longer runnable");
  Status last;
  for (int attempt = 0; attempt < kLeasedWriteAttempts; ++attempt) {
    LETHE_ASSIGN_OR_RETURN(auto loaded, store_.Get(id));
    Request r = loaded;
    LETHE_RETURN_IF_ERROR(NextStatus(r.status, Action::kStart).status());
    // Approved: the one start of this request. In progress: its worker died
    // and its lease ran out; this worker carries on from the persisted tasks.
    Event e = r.status == RequestStatus::kInProgress
                  ? Event{0, Now(), "taken_over", "system", "the previous worker's lease expired", "", ""}
                  : Event{0, Now(), "started", "system", "", std::string(ToString(r.status)), "in_progress"};
    r.status = RequestStatus::kInProgress;
    auto done = Commit(std::move(r), std::move(e), json::object(), lease_owner);
    if (done.ok() || done.status().code() != Code::kConflict) return done;
    last = done.status();
  }
  return last;
}

Status Workflow::Heartbeat(const std::string& id, const std::string& lease_owner, std::chrono::seconds lease) {
  LETHE_ASSIGN_OR_RETURN(auto renewed, store_.RenewLease(id, lease_owner, Now() + lease));
  if (!renewed) return Status::Conflict("request " + id + ": this worker's lease was lost");
  return Status::Ok();
}

Result<Request> Workflow::Finish(const std::string& id, const std::string& lease_owner,
                                 const Result<Outcome>& outcome) {
  Result<Request> done = Status::Conflict("request " + id + " could not be finished");
  for (int attempt = 0; attempt < kLeasedWriteAttempts; ++attempt) {
    done = FinishOnce(id, lease_owner, outcome);
    if (done.ok() || done.status().code() != Code::kConflict) break;
  }
  // The lease has done its job (or was lost: then this changes nothing).
  Status released = store_.ReleaseLease(id, lease_owner);
  if (!released.ok()) spdlog::warn("request {}: releasing the lease failed: {}", id, released.ToString());
  return done;
}

Result<Request> Workflow::FinishOnce(const std::string& id, const std::string& lease_owner,
                                     const Result<Outcome>& outcome) {
  LETHE_ASSIGN_OR_RETURN(auto loaded, store_.Get(id));
  Request r = loaded;
  const Action action = outcome.ok() ? Action::kComplete : Action::kFail;
  LETHE_ASSIGN_OR_RETURN(auto next, NextStatus(r.status, action));
  const Time now = Now();
  json detail = json::object();
  std::string reason;
  if (outcome.ok()) {
    r.result = outcome->ToJson();  // without export_path: a server path is not for API clients
    if (!outcome->export_path.empty()) r.export_path = outcome->export_path;
    r.completed_at = now;
    // The audit entry carries counts and bases, never values.
    detail = outcome->AuditDetail();
  } else {
    reason = outcome.status().message();
    r.result = {{"error", reason}};
  }
  Event e{0, now, EventKind(action), "system", reason, std::string(ToString(r.status)), std::string(ToString(next))};
  r.status = next;
  auto done = Commit(std::move(r), std::move(e), std::move(detail), lease_owner);
  if (!done.ok() || done->type != RequestType::kErasure || done->status != RequestStatus::kCompleted) return done;

  // After an erasure the engine keeps a receipt, not the person (LEGAL.md,
  // Records; contract §4 end). Listeners have already run on the completed
  // request above.
  Status forgot = ForgetSubject(*done, lease_owner);
  // Another worker forgetting the same subject (for another of their
  // erasures) may have written this request meanwhile: start over from it.
  for (int i = 0; i < 3 && forgot.code() == Code::kConflict; ++i) {
    LETHE_ASSIGN_OR_RETURN(auto fresh, store_.Get(id));
    forgot = ForgetSubject(fresh, lease_owner);
  }
  // The erasure itself is done and recorded; a scrub that could not finish
  // is an operator's matter, not a reason to run the erasure again.
  if (!forgot.ok()) spdlog::error("erasure {}: the subject could not be fully forgotten: {}", id, forgot.ToString());
  return store_.Get(id);
}

namespace {

// "<hostname>:<pid>:<8 random hex>": names the process in the lease, and
// the random part keeps two processes (or two Workers) apart even when a pid
// is reused.
std::string DefaultWorkerId() {
  char host[256] = {0};
  if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') std::snprintf(host, sizeof host, "host");
  std::random_device rd;
  char rnd[16];
  std::snprintf(rnd, sizeof rnd, "%08x", static_cast<unsigned>(rd()));
  return std::string(host) + ":" + std::to_string(getpid()) + ":" + rnd;
}

// The exception's type, demangled: what the request's error may say. Its
// what() is not used: it may quote the value it choked on (an identity).
std::string ExceptionType(const std::type_info& t) {
  int rc = 0;
  char* name = abi::__cxa_demangle(t.name(), nullptr, nullptr, &rc);
  std::string out = rc == 0 && name ? name : t.name();
  std::free(name);
  return out;
}

Status InternalErrorStatus(const std::string& type) {
  return Status::Internal("internal error while executing the request (" + type +
                          "); it was stopped so the queue goes on; see the operator log");
}

// Renews a lease every third of its length until stopped.
class HeartbeatThread {
 public:
  HeartbeatThread(Workflow& wf, std::string id, std::string owner, std::chrono::seconds lease)
      : thread_([this, &wf, id = std::move(id), owner = std::move(owner), lease] {
          const auto every = std::max<std::chrono::milliseconds>(lease / 3, std::chrono::milliseconds(100));
          std::unique_lock lock(mu_);
          while (!cv_.wait_for(lock, every, [this] { return stop_; })) {
            lock.unlock();
            Status st = wf.Heartbeat(id, owner, lease);
            if (!st.ok()) spdlog::warn("request {}: heartbeat failed: {}", id, st.ToString());
            lock.lock();
          }
        }) {}
  ~HeartbeatThread() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;  // last: starts after the members it uses exist
};

}  // namespace

Worker::Worker(Workflow& wf, Executor& ex, WorkerOptions o) : wf_(wf), ex_(ex), opts_(std::move(o)) {
  if (opts_.id.empty()) opts_.id = DefaultWorkerId();
  if (opts_.lease < std::chrono::seconds(1)) opts_.lease = std::chrono::seconds(1);
}

Result<Outcome> Worker::ExecuteLeased(const Request& r, const std::string& lease_owner) {
  HeartbeatThread heartbeat(wf_, r.id, lease_owner, opts_.lease);
  try {
    return ex_.Execute(r);
  } catch (const std::exception& e) {
    spdlog::error("request {}: the executor threw {}", r.id, ExceptionType(typeid(e)));
    return InternalErrorStatus(ExceptionType(typeid(e)));
  } catch (...) {
    spdlog::error("request {}: the executor threw a non-standard exception", r.id);
    return InternalErrorStatus("unknown exception");
  }
}

int Worker::RunOne(const Request& r) {
  const std::string owner = opts_.id + "#" + std::to_string(++claims_);
  try {
    auto started = wf_.Start(r.id, owner, opts_.lease);
    if (!started.ok()) {
      // Another worker holds it, or a cancel got there first: not an error.
      if (started.status().code() == Code::kConflict || started.status().code() == Code::kNotFound) return 0;
      spdlog::warn("request {}: could not start: {}", r.id, started.status().ToString());
      (void)wf_.store().ReleaseLease(r.id, owner);
      ++failed_;
      return 0;
    }
    Result<Outcome> outcome = ExecuteLeased(*started, owner);
    if (!outcome.ok()) spdlog::warn("request failed id={} error={}", r.id, outcome.status().ToString());
    auto done = wf_.Finish(r.id, owner, outcome);
    if (!done.ok()) {
      if (done.status().code() == Code::kConflict) {
        // The lease passed to another worker (this one stalled past it), or
        // an admin stopped the request: their outcome stands, not ours.
        spdlog::warn("request {}: result discarded: {}", r.id, done.status().ToString());
        return 0;
      }
      spdlog::error("request {}: could not record the outcome: {}", r.id, done.status().ToString());
      ++failed_;
      return 0;
    }
    if (done->status == RequestStatus::kFailed) ++failed_;
    return 1;
  } catch (const std::exception& e) {
    // Anything else that throws (the store, a listener): fail this request
    // if this worker still may, and go on with the rest.
    spdlog::error("request {}: the worker threw {}", r.id, ExceptionType(typeid(e)));
  } catch (...) {
    spdlog::error("request {}: the worker threw a non-standard exception", r.id);
  }
  ++failed_;
  try {
    (void)wf_.Finish(r.id, owner, Result<Outcome>(InternalErrorStatus("worker")));
  } catch (...) {
    (void)wf_.store().ReleaseLease(r.id, owner);
  }
  return 0;
}

Result<int> Worker::RunOnce() {
  LETHE_ASSIGN_OR_RETURN(auto due, wf_.store().Claimable(Now(), 100));
  int finished = 0;
  failed_ = 0;
  for (const Request& r : due) finished += RunOne(r);
  return finished;
}

}  // namespace lethe
