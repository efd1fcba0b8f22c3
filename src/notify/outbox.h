// The outbox: notifications persisted in the Store before anything is sent.
//
// Guarantees (see docs/notifications.md):
// - Each dedupe key is queued at most once, ever: Enqueue uses
//   PutRecordIfAbsent(kind "outbox", key), and entries are never deleted, only
//   marked sent or dead. Two schedulers over one store, or one restarted,
//   cannot queue the same reminder twice.
// - Delivery is at-least-once. A process can die after the receiver accepted
//   a message and before the outbox records it, and then the message goes out
//   again. Exactly-once delivery is not possible over SMTP or HTTP; instead
//   every retry carries the same delivery id (Message-ID header for mail,
//   X-Lethe-Delivery for webhooks) so receivers can drop duplicates.
// - Concurrent Deliver() calls (server + `lethe run --once`) do not send the
//   same attempt twice: an attempt is claimed first with PutRecordIfAbsent
//   (kind "outbox_claim"); a claim left by a crashed process expires after
//   a lease and the attempt counts as failed.
// - A failed send is retried with exponential backoff (2^attempts minutes)
//   and after kMaxAttempts the entry is marked dead and logged.
// - Once sent (or dead) an entry's addresses, body and payload are dropped:
//   the outbox does not keep mail contents, codes or tokens.
#pragma once

#include <optional>
#include <string>

#include "lethe/status.h"
#include "lethe/store.h"
#include "lethe/time.h"
#include "notify/notifier.h"

namespace lethe {

inline constexpr const char* kOutboxKind = "outbox";
inline constexpr int kOutboxMaxAttempts = 8;

// Queues `m` under `dedupe_key` to be sent at `send_at` (now when absent).
// Returns true if queued, false if that key was queued before (nothing changes).
// Keys must not contain PII: use request ids, dates, names of recipients.
Result<bool> Enqueue(Store& store, const std::string& dedupe_key, const Message& m, Time now,
                     std::optional<Time> send_at = std::nullopt);

struct DeliveryStats {
  int sent = 0;     // delivered this call
  int retried = 0;  // failed, rescheduled
  int dead = 0;     // failed for the last time
};

// Sends up to `limit` due entries through `notifier`.
Result<DeliveryStats> Deliver(Store& store, Notifier& notifier, Time now, int limit = 100);

// State of one entry: "queued", "sent", "dead" (for tests, CLI and the inbox UI).
// kNotFound if the key was never queued.
Result<std::string> OutboxState(Store& store, const std::string& dedupe_key);

// The delivery id of a dedupe key: stable, not reversible to the key.
std::string DeliveryId(const std::string& dedupe_key);

}  // namespace lethe
