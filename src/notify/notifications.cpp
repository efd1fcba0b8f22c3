// The workflow listener: committed events in, outbox entries out.
#include "notify/notifications.h"

#include <spdlog/spdlog.h>

#include "notify/links.h"
#include "notify/messages.h"
#include "notify/outbox.h"

namespace lethe {

namespace {

class Listener {
 public:
  Listener(Workflow& wf, Notifier& n, const Config& c) : wf_(wf), n_(n), config_(c) {}

  Status OnEvent(const Request& r, const Event& e) {
    const Time now = e.at;
    const bool status_changed = !e.to_status.empty() && e.from_status != e.to_status;

    if (e.kind == "received") {
      if (!n_.operators().empty()) LETHE_RETURN_IF_ERROR(Mail("new:" + r.id, notify::NewRequestMail(n_, r), now));
      // Requests that came in by mail prove their sender with a code sent back
      // to that address. Other channels verify otherwise (JWT, operator).
      if (r.channel == "email" && !r.verified && !r.subject.email.empty() && n_.has_smtp()) {
        Status st = IssueVerificationCode(wf_.store(), r, now);
        if (!st.ok() && st.code() != Code::kRateLimited) return st;
      }
      if (r.regulation == Regulation::kCcpa)
        LETHE_RETURN_IF_ERROR(Mail("ack:" + r.id, notify::AcknowledgementMail(r), now));
    } else if (e.kind == "extended") {
      LETHE_RETURN_IF_ERROR(Mail("extended:" + r.id, notify::ExtensionMail(r), now));
    } else if (e.kind == "denied") {
      LETHE_RETURN_IF_ERROR(Mail("denied:" + r.id, notify::DeniedMail(r, e.reason), now));
    } else if (e.kind == "completed") {
      LETHE_RETURN_IF_ERROR(OnCompleted(r, now));
    } else if (e.kind == "failed" && !n_.operators().empty()) {
      // Keyed by version: a request can fail again after a retry.
      LETHE_RETURN_IF_ERROR(
          Mail("failed:" + r.id + ":v" + std::to_string(r.version), notify::FailedMail(n_, r, e.reason), now));
    }

    if (status_changed) LETHE_RETURN_IF_ERROR(OnStatusChange(r, e, now));
    return Status::Ok();
  }

 private:
  // Queues a mail if there is somewhere to send it from and to.
  Status Mail(const std::string& key, const Message& m, Time now) {
    if (!n_.has_smtp() || m.to.empty()) return Status::Ok();
    return Enqueue(wf_.store(), key, m, now).status();
  }

  // A download link goes only to an address that was proved (by its code, a
  // JWT, an operator) or tied to a proved identity by the data itself: a
  // link is the data (contract §3, Identity).
  static bool EmailProved(const Request& r) {
    if (r.subject.email.empty()) return false;
    if (r.verified_identities.count("email")) return true;
    const auto& used = r.result.is_object() ? r.result.value("identities", nlohmann::json::object()) : nlohmann::json();
    if (!used.is_object() || !used.contains("used") || !used["used"].is_array()) return false;
    for (const auto& k : used["used"])
      if (k == "email") return true;
    return false;
  }

  Status OnCompleted(const Request& r, Time now) {
    Store& store = wf_.store();
    const bool has_export = r.type == RequestType::kAccess || r.type == RequestType::kPortability;
    if (has_export && !r.export_path.empty() && n_.has_smtp() && EmailProved(r)) {
      // One link per request, even if it completes again after a retry.
      Record once{"download_issued", r.id, {{"at", FormatRfc3339(now)}}, std::nullopt, now};
      LETHE_ASSIGN_OR_RETURN(auto first, store.PutRecordIfAbsent(once));
      if (first) {
        LETHE_RETURN_IF_ERROR(IssueDownloadLink(store, config_, r, now));
      }
    } else {
      LETHE_RETURN_IF_ERROR(Mail("completed:" + r.id, notify::CompletedMail(r), now));
    }

    // Art. 19: every recipient hears of a rectification, erasure or restriction.
    const bool art19 =
        r.type == RequestType::kErasure || r.type == RequestType::kRectification || r.type == RequestType::kRestriction;
    if (!art19) return Status::Ok();
    const std::string subject_ref = wf_.SubjectRef(r.subject);
    for (const Recipient& to : n_.recipients()) {
      Message m = notify::RecipientNotice(to, r, subject_ref);
      if (m.channel == "email" && !n_.has_smtp()) {
        // Not silently: the decision not to notify must be on record (Art. 19).
        AuditEntry a;
        a.at = now;
        a.request_id = r.id;
        a.kind = "recipient_notified_failed";
        a.actor = "system";
        a.subject_ref = subject_ref;
        a.detail = {{"recipient", to.name}, {"error", "no notify.smtp configured"}};
        LETHE_RETURN_IF_ERROR(store.AppendAudit(std::move(a)));
        continue;
      }
      LETHE_RETURN_IF_ERROR(Enqueue(store, "art19:" + r.id + ":" + to.name, m, now).status());
    }
    return Status::Ok();
  }

  Status OnStatusChange(const Request& r, const Event& e, Time now) {
    Store& store = wf_.store();
    // r.version is bumped by every committed change: unique per event.
    const std::string change = r.id + ":v" + std::to_string(r.version);
    for (size_t i = 0; i < n_.webhooks().size(); ++i) {
      LETHE_RETURN_IF_ERROR(
          Enqueue(store, "hook:" + change + ":" + std::to_string(i), notify::StatusWebhook(n_.webhooks()[i], r, e), now)
              .status());
    }
    // OpenDSR knows four statuses; only a change between them is a callback.
    if (e.kind == "received" || r.status_callback_urls.empty()) return Status::Ok();
    auto from = ParseRequestStatus(e.from_status);
    if (from && OpenDsrStatus(*from) == OpenDsrStatus(r.status)) return Status::Ok();
    for (size_t i = 0; i < r.status_callback_urls.size(); ++i) {
      LETHE_RETURN_IF_ERROR(Enqueue(store, "opendsr:" + change + ":" + std::to_string(i),
                                    notify::OpenDsrCallback(n_, r.status_callback_urls[i], r), now)
                                .status());
    }
    return Status::Ok();
  }

  Workflow& wf_;
  Notifier& n_;
  const Config& config_;
};

}  // namespace

std::string OpenDsrStatus(RequestStatus s) {
  switch (s) {
    case RequestStatus::kInProgress:
    case RequestStatus::kFailed:  // will be retried: still being worked on
      return "in_progress";
    case RequestStatus::kCompleted: return "completed";
    case RequestStatus::kDenied:
    case RequestStatus::kCancelled: return "cancelled";
    default: return "pending";
  }
}

void AttachNotifications(Workflow& wf, Notifier& notifier, const Config& config) {
  auto l = std::make_shared<Listener>(wf, notifier, config);
  wf.AddListener([l](const Request& r, const Event& e) {
    // The change is committed; a failure here must not undo it or reach the
    // caller. The scheduler's backstops re-queue what they can.
    Status st = l->OnEvent(r, e);
    if (!st.ok()) spdlog::error("notifications for request {} ({}) not queued: {}", r.id, e.kind, st.ToString());
  });
}

}  // namespace lethe
