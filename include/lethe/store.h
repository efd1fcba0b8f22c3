// The Store: where requests, their timelines, tasks and the audit log live.
//
// One interface, one SQLite implementation today (WAL, foreign keys,
// versioned migrations); a PostgreSQL store can implement the same interface.
// Every state change commits together with its event and audit entry, in one
// transaction: there is never a status without the event that explains it.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lethe/audit.h"
#include "lethe/request.h"
#include "lethe/status.h"

namespace lethe {

struct RequestFilter {
  std::optional<RequestStatus> status;
  std::optional<RequestType> type;
  std::optional<Regulation> regulation;
  std::optional<std::string> assignee;
  std::optional<std::string> owner;      // self-service: only this subject's requests
  std::optional<std::string> owner_ref;  // ... or those whose owner was replaced by this pseudonym (erasure)
  bool overdue_only = false;             // due_at < now and not terminal
  std::optional<Time> due_before;
  std::string q;       // matches id, email, user_id, note (substring)
  int limit = 50;      // 1..500
  std::string cursor;  // opaque, from RequestPage::next_cursor
  Time now{};
};

struct RequestPage {
  std::vector<Request> items;  // sorted by due_at, then id
  std::string next_cursor;     // empty on the last page
};

// A small keyed record for service state that is not a request: idempotency
// keys, download tokens, verification codes, the notification outbox, the
// restriction registry. `kind` names the table-like family.
struct Record {
  std::string kind;
  std::string key;
  nlohmann::json value = nlohmann::json::object();
  std::optional<Time> due_at;  // outbox: when to send; tokens: when they expire
  Time created_at{};
};

// Thread safety: every method is thread-safe, and a Store may be shared by
// all threads of a process; writes that must not interleave are single
// transactions (or single conditional statements), so they are also atomic
// across processes sharing the store. Exception: SetAuditChain, called once
// before any other use.
//
// Re-entry: ScrubRequests runs its callbacks inside its transaction, with the
// store's lock held. They must be pure functions of their argument and never
// call back into the Store (that would deadlock). No other method takes a
// callback.
//
// Outcomes, unless a method says otherwise: OK; kNotFound for a request id
// that does not exist; kConflict for a write that lost a race (a stale
// version, a lease held by someone else) or a duplicate key; kInvalid for a
// malformed argument (a filter, a cursor); kIo when the store's files or
// database fail. A failed write changes nothing.
class Store {
 public:
  virtual ~Store() = default;

  // Opens the store named by config's "store" object ({"sqlite": path} or
  // {"postgres": dsn}); relative paths are resolved against base_dir.
  // Runs migrations. kInvalid (field "/store/..."): a config the store
  // cannot use; kIo: the file cannot be opened or migrated.
  static Result<std::unique_ptr<Store>> Open(const nlohmann::json& store_config, const std::string& base_dir);

  // --- requests: each write commits request + event + audit entry together.
  // REQUIRES: r.id is new. kConflict when a request with r.id exists.
  virtual Status Insert(const Request& r, const Event& e, AuditEntry audit) = 0;
  // r.version must equal the stored version; the stored version becomes
  // r.version + 1. kConflict when the version moved on (someone else changed
  // it) or there is no request r.id: reload with Get, then decide again.
  virtual Status Update(const Request& r, const Event& e, AuditEntry audit) = 0;
  // kNotFound when there is no such request.
  virtual Result<Request> Get(const std::string& id) = 0;
  // One page in (due_at, id) order; the limit is clamped to 1..500.
  // kInvalid (field "/cursor"): a cursor this store did not make.
  virtual Result<RequestPage> List(const RequestFilter& f) = 0;
  // The request's timeline, oldest first; empty (not kNotFound) for an
  // unknown id.
  virtual Result<std::vector<Event>> Events(const std::string& request_id) = 0;
  // Requests whose status is one of `statuses`, oldest first (workers, scheduler).
  virtual Result<std::vector<Request>> WithStatus(const std::vector<RequestStatus>& statuses, int limit) = 0;
  // Counts by status, type, overdue: GET /v1/stats and /metrics.
  virtual Result<nlohmann::json> Stats(Time now) = 0;

  // --- erasure: what the engine forgets once a subject is erased.
  // Requests, any status, that carry one of `s`'s identity values (email,
  // user_id, phone; exact match) or whose owner is `owner` (when not empty).
  virtual Result<std::vector<Request>> BySubject(const Subject& s, const std::string& owner) = 0;
  // Rewrites, in one transaction, every text the store keeps about the given
  // requests outside the request rows themselves: event reasons, task errors
  // and details, and each record whose key or value names one of the
  // requests, except records for which `leave(record)` is true. `scrub` maps
  // one string to its scrubbed form (JSON values are scrubbed string by
  // string). Afterwards the old text must not be recoverable from the store's
  // files (SQLite: secure_delete is on for every write, and the WAL is
  // checkpointed and truncated here).
  // REQUIRES: `scrub` and `leave` never call back into the Store (they run
  // under its lock). Unknown ids are skipped. All or nothing.
  virtual Status ScrubRequests(const std::vector<std::string>& request_ids,
                               const std::function<std::string(const std::string&)>& scrub,
                               const std::function<bool(const Record&)>& leave) = 0;

  // --- leases: one process executes a request at a time (contract §1).
  // A lease is (lease_owner, lease_until) on the request row. `owner` is a
  // token unique to one claim ("host:pid:random#n"), so it doubles as the
  // fencing token: a write under a lease is refused once the lease passed to
  // someone else. All methods are thread-safe, and atomic across processes
  // sharing the store (one conditional UPDATE each).

  // Approved requests whose grace has passed (not_before <= now) and
  // in_progress ones, that have no live lease (none, or lease_until < now);
  // oldest received first. What a worker may try to Claim; a read, no lock.
  virtual Result<std::vector<Request>> Claimable(Time now, int limit) = 0;
  // Claims request `id` for `owner` until `until`.
  // REQUIRES: owner non-empty and never used for an earlier claim; until > now.
  // Returns true when claimed: the request was approved or in_progress and
  // its lease was absent or expired (lease_until < now); the version is
  // bumped, so writes prepared by an earlier owner fail. Returns false when
  // another owner holds a live lease or the status is not claimable (a
  // cancel got there first): not an error, the caller skips the request.
  // kNotFound when there is no such request.
  virtual Result<bool> ClaimRequest(const std::string& id, const std::string& owner, Time now, Time until) = 0;
  // Heartbeat: moves lease_until to `until` if `owner` still holds the lease.
  // Returns false when the lease was lost (taken over after it expired, or
  // released): the caller must stop writing for the request. The version is
  // not bumped, so a heartbeat never conflicts with an operator's change.
  virtual Result<bool> RenewLease(const std::string& id, const std::string& owner, Time until) = 0;
  // Drops the lease if `owner` holds it; does nothing otherwise (not an error).
  virtual Status ReleaseLease(const std::string& id, const std::string& owner) = 0;
  // Update (same version rule) that also REQUIRES `owner` to hold the lease
  // at commit time. kConflict when the version moved on or the lease is
  // someone else's (or gone): a stale worker's write is refused, never
  // applied. The lease itself is left as it is.
  virtual Status UpdateLeased(const Request& r, const std::string& owner, const Event& e, AuditEntry audit) = 0;

  // --- tasks: unique by (request_id, connector, collection, action).
  // Empty (not kNotFound) for an unknown request.
  virtual Result<std::vector<Task>> Tasks(const std::string& request_id) = 0;
  // Inserts or updates (by that unique key); sets t.id.
  virtual Status SaveTask(Task& t) = 0;

  // --- audit log.
  // The chain key and the anchor's hook (AuditChainOptions). Call once, right
  // after Open and before any append; without it entries are unkeyed.
  virtual void SetAuditChain(AuditChainOptions chain) = 0;
  virtual Status AppendAudit(AuditEntry e) = 0;
  // request_id empty: the whole log, in seq order.
  virtual Result<std::vector<AuditEntry>> Audit(const std::string& request_id = "") = 0;

  // --- records.
  // Inserts; returns false (and changes nothing) if (kind, key) exists. This is
  // how "exactly once" is made: the first writer wins.
  virtual Result<bool> PutRecordIfAbsent(const Record& r) = 0;
  virtual Status PutRecord(const Record& r) = 0;  // insert or replace
  // nullopt (not kNotFound) when there is no such record.
  virtual Result<std::optional<Record>> GetRecord(const std::string& kind, const std::string& key) = 0;
  // Deleting a record that is not there is OK (idempotent).
  virtual Status DeleteRecord(const std::string& kind, const std::string& key) = 0;
  // Records of a kind with due_at <= due (or all when due is nullopt), oldest due first.
  virtual Result<std::vector<Record>> Records(const std::string& kind, std::optional<Time> due, int limit) = 0;
};

}  // namespace lethe
