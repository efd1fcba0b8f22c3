// The scheduler: reminders, overdue notices, acknowledgements, export
// retention, expiry sweeps, then the outbox. Every step is idempotent.
#include "notify/scheduler.h"

#include <algorithm>
#include <filesystem>

#include <date/tz.h>
#include <spdlog/spdlog.h>

#include "notify/messages.h"

namespace lethe {

namespace {

using nlohmann::json;

// The date of `t` in the controller's zone: overdue notices go out once per
// local day, which is the day an operator thinks in.
std::string LocalDate(Time t, const std::string& zone) {
  try {
    auto local = date::make_zoned(zone, t).get_local_time();
    return date::format("%F", date::floor<date::days>(local));
  } catch (const std::exception&) {
    return date::format("%F", date::floor<date::days>(t));
  }
}

std::chrono::seconds Span(const Duration& d) { return std::chrono::duration_cast<std::chrono::seconds>(d.Approx()); }

}  // namespace

Scheduler::Scheduler(Workflow& wf, Notifier& notifier, const Config& config, Executor* executor)
    : wf_(wf), notifier_(notifier), config_(config), executor_(executor) {}

Result<int> Scheduler::Tick(Time now) {
  stats_ = TickStats{};
  Store& store = wf_.store();
  Status first_error;
  auto note = [&](const Status& st, const char* what) {
    if (st.ok()) return;
    spdlog::error("scheduler: {}: {}", what, st.ToString());
    if (first_error.ok()) first_error = st;
  };

  auto open = store.WithStatus({RequestStatus::kUnverified, RequestStatus::kPending, RequestStatus::kApproved,
                                RequestStatus::kInProgress, RequestStatus::kOnHold, RequestStatus::kFailed},
                               100000);
  if (!open.ok()) {
    note(open.status(), "listing open requests");
  } else {
    for (const Request& r : *open) {
      note(Remind(r, now), "reminders");
      note(Acknowledge(r, now), "acknowledgement");
      // Backstop for extensions made where no listener ran (the CLI).
      if (r.extended && notifier_.has_smtp() && !r.subject.email.empty()) {
        auto q = Enqueue(store, "extended:" + r.id, notify::ExtensionMail(r), now);
        if (q.ok() && *q) ++stats_.queued;
        note(q.status(), "extension notice");
      }
    }
  }
  if (!last_purge_ || now - *last_purge_ >= std::chrono::hours(1) || now < *last_purge_) {
    Status st = PurgeExports(now);
    note(st, "export retention");
    if (st.ok()) last_purge_ = now;
  }
  note(PurgeKept(now), "retention ledger");
  note(SweepExpired(now), "expiry sweep");

  auto delivered = Deliver(store, notifier_, now, 500);
  if (!delivered.ok()) {
    note(delivered.status(), "delivery");
  } else {
    stats_.delivery = *delivered;
  }
  if (!first_error.ok()) return first_error;
  return stats_.delivery.sent;
}

Status Scheduler::Remind(const Request& r, Time now) {
  if (notifier_.operators().empty() || !notifier_.has_smtp()) return Status::Ok();
  Store& store = wf_.store();
  std::string key;
  Message m;
  if (now >= r.due_at) {
    key = "overdue:" + r.id + ":" + LocalDate(now, wf_.deadlines().rules().timezone);
    m = notify::OverdueMail(notifier_, r, now);
  } else {
    // The nearest offset already reached: the one with the smallest span.
    std::optional<std::chrono::seconds> nearest;
    for (const Duration& d : notifier_.reminders()) {
      auto span = Span(d);
      if (now >= r.due_at - span && (!nearest || span < *nearest)) nearest = span;
    }
    if (!nearest) return Status::Ok();
    // Keyed by the deadline too: an extended or paused request is reminded
    // again before its new date.
    key = "reminder:" + r.id + ":" + std::to_string(ToUnix(r.due_at)) + ":" + std::to_string(nearest->count());
    m = notify::ReminderMail(notifier_, r, now);
  }
  LETHE_ASSIGN_OR_RETURN(auto q, Enqueue(store, key, m, now));
  if (q) ++stats_.queued;
  return Status::Ok();
}

Status Scheduler::Acknowledge(const Request& r, Time now) {
  if (r.regulation != Regulation::kCcpa || !notifier_.has_smtp()) return Status::Ok();
  LETHE_ASSIGN_OR_RETURN(auto ack_by, wf_.deadlines().AcknowledgeBy(r.regulation, r.received_at));
  // An acknowledgement after its date is no longer one; the listener sends it
  // on receipt, this only catches requests filed where no listener ran.
  if (now > ack_by.due_at) return Status::Ok();
  Store& store = wf_.store();
  Result<bool> q = false;
  if (!r.subject.email.empty()) {
    q = Enqueue(store, "ack:" + r.id, notify::AcknowledgementMail(r), now);
  } else if (!notifier_.operators().empty() && now >= ack_by.due_at - std::chrono::days(3)) {
    q = Enqueue(store, "ack_due:" + r.id, notify::AcknowledgeDueMail(notifier_, r, ack_by.due_date), now);
  }
  if (!q.ok()) return q.status();
  if (*q) ++stats_.queued;
  return Status::Ok();
}

Status Scheduler::PurgeExports(Time now) {
  Store& store = wf_.store();
  LETHE_ASSIGN_OR_RETURN(auto done, store.WithStatus({RequestStatus::kCompleted}, 100000));
  const auto keep = Span(config_.exports_keep);
  for (const Request& r : done) {
    if (r.export_path.empty() || !r.completed_at || *r.completed_at + keep > now) continue;
    LETHE_ASSIGN_OR_RETURN(auto purged, store.GetRecord("export_purged", r.id));
    if (purged.has_value()) continue;

    const std::string path = config_.Resolve(r.export_path);
    // The path comes from our own executor, but this deletes files: only ever a zip.
    if (path.size() < 4 || path.compare(path.size() - 4, 4, ".zip") != 0) {
      spdlog::error("scheduler: request {} has an export path that is not a .zip; not deleting it", r.id);
      continue;
    }
    std::error_code ec;
    bool existed = std::filesystem::remove(path, ec);
    if (ec) {
      spdlog::error("scheduler: cannot delete the export of request {}: {}", r.id, ec.message());
      continue;  // try again next tick
    }
    Record mark{"export_purged", r.id, {{"at", FormatRfc3339(now)}, {"file_existed", existed}}, std::nullopt, now};
    LETHE_ASSIGN_OR_RETURN(auto first, store.PutRecordIfAbsent(mark));
    if (!first) continue;  // another process did it
    AuditEntry a;
    a.at = now;
    a.request_id = r.id;
    a.kind = "export_purged";
    a.actor = "system";
    a.subject_ref = wf_.SubjectRef(r.subject);
    a.detail = {{"completed_at", FormatRfc3339(*r.completed_at)},
                {"keep_days", keep.count() / 86400},
                {"file_existed", existed}};
    LETHE_RETURN_IF_ERROR(store.AppendAudit(std::move(a)));
    spdlog::info("scheduler: export of request {} deleted after {} days", r.id, keep.count() / 86400);
    if (existed) ++stats_.purged;
  }
  return Status::Ok();
}

Status Scheduler::PurgeKept(Time now) {
  if (executor_ == nullptr) return Status::Ok();
  LETHE_ASSIGN_OR_RETURN(auto purged, executor_->PurgeExpiredKept(now));
  stats_.kept_purged += purged.value("rows", 0);
  return Status::Ok();
}

Status Scheduler::SweepExpired(Time now) {
  Store& store = wf_.store();
  // A day of grace so that "code expired" is still told apart from "no code".
  const Time cutoff = now - std::chrono::days(1);
  for (const char* kind : {"verify_code", "verify_attempt", "download_token"}) {
    LETHE_ASSIGN_OR_RETURN(auto old, store.Records(kind, cutoff, 1000));
    for (const Record& r : old) LETHE_RETURN_IF_ERROR(store.DeleteRecord(r.kind, r.key));
  }
  return Status::Ok();
}

}  // namespace lethe
