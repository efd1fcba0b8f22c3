// The outbox over Store records. See outbox.h for the guarantees and why
// delivery is at-least-once.
#include "notify/outbox.h"

#include <set>

#include <spdlog/spdlog.h>

#include "notify/crypto_util.h"
#include "notify/links.h"

namespace lethe {

using nlohmann::json;

namespace {

constexpr const char* kClaimKind = "outbox_claim";
// How long an attempt may take before another process may assume its sender
// died. Far above curl's 30 s timeouts.
constexpr std::chrono::minutes kClaimLease{10};

// What stays of an entry once it is sent or dead: enough to answer "was it
// sent, when, how often tried", nothing of its contents.
json Stripped(const json& v, const std::string& state, Time now) {
  json out = {{"state", state}, {"attempts", v.value("attempts", 0)}};
  if (v.contains("queued_at")) out["queued_at"] = v["queued_at"];
  if (v.contains("message")) {
    out["channel"] = v["message"].value("channel", "");
    if (v["message"].contains("request_id")) out["request_id"] = v["message"]["request_id"];
  }
  out[state == "sent" ? "sent_at" : "dead_at"] = FormatRfc3339(now);
  if (v.contains("last_error")) out["last_error"] = v["last_error"];
  return out;
}

void AuditDelivery(Store& store, const Message& m, Time now, bool delivered, const std::string& error) {
  if (!m.audit.is_object()) return;
  AuditEntry e;
  e.at = now;
  e.request_id = m.request_id;
  e.kind = m.audit.value("kind", "notified") + (delivered ? "" : "_failed");
  e.actor = "system";
  e.subject_ref = m.audit.value("subject_ref", "");
  e.detail = m.audit.value("detail", json::object());
  if (!delivered) e.detail["error"] = error;
  Status st = store.AppendAudit(std::move(e));
  if (!st.ok()) spdlog::error("outbox: audit of delivery for request {} failed: {}", m.request_id, st.ToString());
}

}  // namespace

std::string DeliveryId(const std::string& dedupe_key) {
  return notify::Sha256Hex("lethe-delivery:" + dedupe_key).substr(0, 32);
}

Result<bool> Enqueue(Store& store, const std::string& dedupe_key, const Message& m, Time now,
                     std::optional<Time> send_at) {
  Record r;
  r.kind = kOutboxKind;
  r.key = dedupe_key;
  r.value = {{"state", "queued"}, {"attempts", 0}, {"queued_at", FormatRfc3339(now)}, {"message", m.ToJson()}};
  r.due_at = send_at.value_or(now);
  r.created_at = now;
  auto put = store.PutRecordIfAbsent(r);
  if (put.ok() && *put) {
    spdlog::info("outbox: queued {} ({} for request {})", DeliveryId(dedupe_key), m.channel, m.request_id);
  }
  return put;
}

Result<std::string> OutboxState(Store& store, const std::string& dedupe_key) {
  LETHE_ASSIGN_OR_RETURN(auto rec, store.GetRecord(kOutboxKind, dedupe_key));
  if (!rec.has_value()) return Status::NotFound("no outbox entry for this key");
  return rec->value.value("state", "queued");
}

Result<DeliveryStats> Deliver(Store& store, Notifier& notifier, Time now, int limit) {
  DeliveryStats stats;
  std::set<std::string> failed_urls;
  LETHE_ASSIGN_OR_RETURN(auto due, store.Records(kOutboxKind, now, limit));

  for (const Record& seen : due) {
    if (seen.value.value("state", "") != "queued") continue;
    const int attempts = seen.value.value("attempts", 0);
    const std::string claim_key = seen.key + "#" + std::to_string(attempts);

    // Claim this attempt so that a second delivering process skips it.
    Record claim;
    claim.kind = kClaimKind;
    claim.key = claim_key;
    claim.due_at = now + kClaimLease;
    claim.created_at = now;
    LETHE_ASSIGN_OR_RETURN(auto won, store.PutRecordIfAbsent(claim));
    bool stale_claim = false;
    if (!won) {
      LETHE_ASSIGN_OR_RETURN(auto held, store.GetRecord(kClaimKind, claim_key));
      // A live claim: someone is sending it right now.
      if (held.has_value() && held->due_at && *held->due_at > now) continue;
      // Its sender died mid-attempt: that attempt counts as failed (the
      // receiver may or may not have it), and the next one gets a new claim.
      stale_claim = true;
    }

    // Re-read under the claim: another process may have finished it since
    // the list was read.
    LETHE_ASSIGN_OR_RETURN(auto cur, store.GetRecord(kOutboxKind, seen.key));
    if (!cur.has_value() || cur->value.value("state", "") != "queued" || cur->value.value("attempts", 0) != attempts) {
      // A claim left behind would count as a failed attempt on the next run.
      LETHE_RETURN_IF_ERROR(store.DeleteRecord(kClaimKind, claim_key));
      continue;
    }
    Record entry = *cur;
    const std::string id = DeliveryId(entry.key);

    auto msg = Message::FromJson(entry.value.value("message", json::object()));
    // One dead receiver should not cost a connect timeout per queued message:
    // the rest wait for the next call, without counting an attempt.
    if (!stale_claim && msg.ok() && msg->channel == "webhook" && failed_urls.count(msg->url)) {
      LETHE_RETURN_IF_ERROR(store.DeleteRecord(kClaimKind, claim_key));
      continue;
    }
    Status sent;
    if (stale_claim) {
      sent = Status::Unavailable("previous attempt did not finish (process died?)");
    } else if (!msg.ok()) {
      sent = msg.status();
    } else if (msg->channel == "email" && !notifier.has_smtp()) {
      sent = Status::Unavailable("no notify.smtp configured");  // before a code or link is made for nothing
    } else {
      // Codes and link tokens are made only now, in memory: the queued
      // entry names them, never holds them (links.h).
      Message out = *msg;
      MintedSecret minted;
      sent = FillSecret(store, notifier.public_url(), out, now, &minted);
      if (sent.ok()) sent = notifier.Send(out, id);
      if (!sent.ok()) RevokeSecret(store, minted);
    }

    if (sent.ok()) {
      entry.value = Stripped(entry.value, "sent", now);
      entry.value["attempts"] = attempts + 1;
      entry.due_at.reset();
      LETHE_RETURN_IF_ERROR(store.PutRecord(entry));
      if (msg.ok()) AuditDelivery(store, *msg, now, true, "");
      spdlog::info("outbox: sent {} (request {}, attempt {})", id, msg->request_id, attempts + 1);
      ++stats.sent;
    } else {
      const int tried = attempts + 1;
      entry.value["attempts"] = tried;
      entry.value["last_error"] = sent.message();
      // Malformed messages will not get better with time.
      bool give_up = tried >= kOutboxMaxAttempts || sent.code() == Code::kInvalid;
      if (give_up) {
        std::string request_id = msg.ok() ? msg->request_id : "";
        entry.value = Stripped(entry.value, "dead", now);
        entry.due_at.reset();
        LETHE_RETURN_IF_ERROR(store.PutRecord(entry));
        if (msg.ok()) AuditDelivery(store, *msg, now, false, sent.message());
        spdlog::error("outbox: giving up on {} (request {}) after {} attempts: {}", id, request_id, tried,
                      sent.message());
        ++stats.dead;
      } else {
        entry.due_at = now + std::chrono::minutes(int64_t{1} << tried);
        LETHE_RETURN_IF_ERROR(store.PutRecord(entry));
        spdlog::warn("outbox: attempt {} of {} failed, retry at {}: {}", tried, id, FormatRfc3339(*entry.due_at),
                     sent.message());
        ++stats.retried;
      }
    }
    // The attempt is recorded; its claim must go, or it would outlive its
    // reason (and a failing store is the scheduler's to report, not ours to hide).
    LETHE_RETURN_IF_ERROR(store.DeleteRecord(kClaimKind, claim_key));
    if (!sent.ok() && msg.ok() && msg->channel == "webhook") failed_urls.insert(msg->url);
  }
  return stats;
}

}  // namespace lethe
