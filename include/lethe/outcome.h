// Outcome: what carrying out a request produced (Executor::Execute), typed.
//
// The workflow reads fields, not string keys, and serialises at its edges:
// ToJson() is the receipt stored on the request and shown by the API;
// AuditDetail() is what the audit entry copies, counts and bases only. Every
// field below holds counts, names of connectors/collections/fields, dates
// and legal bases: never an identity value or a record's content (REQUIRES
// for every Executor). Fields are grouped by the request types that set them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lethe/request.h"

namespace lethe {

// Which of the subject's identity kinds a run used (contract §3, Identity).
struct IdentityUse {
  std::vector<std::string> used;        // looked up by: proved, or tied to a proved one
  std::vector<std::string> tied;        // claimed kinds a keyed collection tied to a proved one
  std::vector<std::string> unverified;  // claimed kinds neither proved nor tied: not used
};

// One collection's line in the receipt.
struct CollectionOutcome {
  std::string connector;
  std::string collection;
  int64_t rows = 0;  // rows this request changed there (erasure: deleted or masked)
  // Erasure only.
  std::string action;                      // delete | mask | keep | drop | redact
  int64_t remaining = 0;                   // rows still found by verification afterwards
  nlohmann::json retention;                // null, or {"basis", "note"?, "period"?, "from"?}
  std::optional<int64_t> expired_deleted;  // retained collections: rows past their period, deleted
  // Rectification: the fields written. Restriction, objection: the columns set.
  std::vector<std::string> fields;
  std::vector<std::string> columns;

  std::string id() const { return connector + "." + collection; }
};

// Erasure: a collection kept (or masked) under retention.
struct RetainedOutcome {
  std::string connector;
  std::string collection;
  std::string action;                // keep | mask | redact
  nlohmann::json retention;          // {"basis", "note"?, "period"?, "from"?}
  int64_t rows = 0;                  // rows still found after the erasure
  int64_t kept = 0;                  // rows recorded in the retention ledger
  std::optional<std::string> until;  // YYYY-MM-DD: the latest end; none if some rows have no end
  int64_t expired_deleted = 0;       // rows past their period, deleted instead
  int64_t undated = 0;               // rows with no date to count from (kept, to be safe)
};

// Erasure: what the subject is told is kept, and why ("3 invoices, kept until ...").
struct KeptItem {
  std::string connector;
  std::string collection;
  int64_t records = 0;
  std::string basis;
  std::string note;
  std::optional<std::string> until;  // YYYY-MM-DD, or none: the end of the legal period
};

struct Outcome {
  RequestType type = RequestType::kAccess;
  std::optional<IdentityUse> identities;
  std::vector<CollectionOutcome> collections;
  std::vector<std::string> recipients_to_notify;  // erasure, rectification, restriction (Art. 19)

  // ---- access, portability
  std::string export_path;  // the published zip: a server path, never in ToJson()
  int64_t records = 0;      // records exported (restriction: see records_written)
  int64_t objects = 0;      // files exported from object stores
  int64_t files = 0;        // members of the zip, manifest.json included
  int64_t sources = 0;      // collections listed in the manifest
  bool encrypted = false;   // AES-256 (exports.password_env)

  // ---- erasure
  int64_t deleted = 0, masked = 0, kept = 0;
  bool verified = false;  // nothing left in any delete/drop collection
  std::vector<RetainedOutcome> retained;
  std::vector<KeptItem> kept_items;
  std::optional<std::string> backups_retention;  // backups.retention, e.g. "P30D"
  std::optional<std::string> backups_gone_by;    // YYYY-MM-DD

  // ---- rectification
  std::vector<std::string> fields_changed;  // fields written in at least one row

  // ---- restriction, objection
  std::vector<std::string> records_written;  // store registries written: "restriction", "objection"
  std::string subject_ref;                   // the keyed pseudonym they are filed under

  // The receipt stored on the request (export_path left out).
  nlohmann::json ToJson() const;
  // What the audit entry copies: counts, bases and field names, never values.
  nlohmann::json AuditDetail() const;
};

}  // namespace lethe
