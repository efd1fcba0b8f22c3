// The scheduler: time-driven notifications and housekeeping. One Tick() is
// cheap and idempotent; `lethe serve` runs it every minute, `lethe run
// --once` once. Every notification it makes goes through the outbox with a
// dedupe key, so running it twice, or in two processes, sends nothing twice.
//
// Each Tick:
//  - reminds operators (notify.operators) before each open request's due
//    date, at each notify.reminders offset (P7D, P3D, P1D): only the nearest
//    offset already reached is sent, so a request filed two days before its
//    deadline gets one reminder, not three;
//  - tells operators once a day (local date of the deadline time zone) about
//    every overdue open request;
//  - CCPA: sends the subject the receipt acknowledgement if none went out
//    yet, and warns operators when the 10-business-day acknowledgement date
//    (DeadlineEngine::AcknowledgeBy) is near and the subject has no email;
//  - sends the subject the extension notice of an extended request (backstop
//    for changes made where no listener ran, e.g. the CLI);
//  - deletes export zips older than exports.keep and records "export_purged"
//    in the audit log;
//  - erases rows kept under retention whose period has ended (through the
//    executor, when one is given: Executor::PurgeExpiredKept);
//  - drops expired verification codes and download tokens;
//  - delivers the outbox.
#pragma once

#include <optional>

#include "lethe/config.h"
#include "lethe/status.h"
#include "lethe/time.h"
#include "lethe/workflow.h"
#include "notify/notifier.h"
#include "notify/outbox.h"

namespace lethe {

struct TickStats {
  int queued = 0;       // notifications newly queued
  int purged = 0;       // export zips deleted
  int kept_purged = 0;  // rows kept under retention erased when their period ended
  DeliveryStats delivery;
};

class Scheduler {
 public:
  // `executor` (optional) erases kept rows whose retention has ended.
  Scheduler(Workflow& wf, Notifier& notifier, const Config& config, Executor* executor = nullptr);

  // Returns the number of messages delivered; details in last_stats().
  Result<int> Tick(Time now);
  const TickStats& last_stats() const { return stats_; }

 private:
  Status Remind(const Request& r, Time now);
  Status Acknowledge(const Request& r, Time now);
  Status PurgeExports(Time now);
  Status SweepExpired(Time now);
  Status PurgeKept(Time now);

  Workflow& wf_;
  Notifier& notifier_;
  const Config& config_;
  Executor* executor_;
  TickStats stats_;
  // Export retention is counted in days: scanning every completed request
  // once an hour is plenty, and spares the store a full scan every minute.
  std::optional<Time> last_purge_;
};

}  // namespace lethe
