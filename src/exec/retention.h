// Retention at erasure and after it: which retained rows erasure may still
// keep, the pseudonymous ledger of the rows it kept, and the purge that erases
// them when their period ends. Internal to src/exec.
//
// The ledger is a family of store records of kind "kept", one per (subject,
// connector, collection, UTC day the period ends):
//   key    "<connector>.<collection>/<subject pseudonym>/<YYYY-MM-DD>" ("/none"
//          when no period is configured: kept until someone acts)
//   value  {"request_id", "connector", "collection", "basis", "note",
//           "until": RFC 3339 (latest end in the group) | null,
//           "subject_refs": [keyed pseudonyms of the subject's identities],
//           "records": n, "keys": [...] | "sealed_keys": [...]}
//   due_at until, so the scheduler asks the store only for what is due.
// Keys are the rows' internal ids. A key that is (or carries) an identity
// value - users.id when user_id is an identity, an object key under
// "{app.users.id}/" - is sealed (AES-256-GCM under a key derived from the
// pseudonym key) so the store never holds it in clear, yet the purge can
// still name the row to the connector.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lethe/exec.h"
#include "lethe/store.h"
#include "lethe/time.h"

namespace lethe::exec {

inline constexpr char kKeptKind[] = "kept";

// What retention makes of one row found at erasure.
struct RetentionVerdict {
  enum class Kind {
    kKeep,     // within its period (or no period configured): keep or mask it
    kExpired,  // its period has ended: erasure deletes it
    kUndated,  // its `from` value is missing or not a date: kept, to be safe, and reported
  };
  Kind kind = Kind::kKeep;
  std::optional<Time> until;  // kKeep: when the period ends (nullopt: no period)
};

// The one place the decision is made. The period counts from the row's
// `from` column; a retention with a period but no `from` counts from `now`
// (the erasure).
RetentionVerdict JudgeRetention(const Retention& r, const nlohmann::json& fields, Time now);

// The instant a `from` value names: "YYYY-MM-DD" (start of that day, UTC),
// RFC 3339, PostgreSQL's text forms ("2018-03-31 10:00:00+00", fractions,
// no offset = UTC), or a number of Unix seconds.
Result<Time> ParseRetentionStart(const nlohmann::json& v);

// Whether node i's keys are a subject identity value or carry one: its key
// column is an identity link, or refers (through any chain) to a column that
// is; object keys, which hold the values they were found by.
bool KeysCarryIdentity(const DataGraph& g, size_t i);

// Keyed pseudonyms of every identity the subject carries: what ties ledger
// entries to a later request of the same person without naming them.
std::vector<std::string> SubjectRefs(const std::string& hash_key, const Subject& s);

struct KeptRows {
  std::string request_id, connector, collection;
  Retention retain;
  std::vector<std::string> subject_refs;
  std::vector<std::string> keys;
  std::vector<std::optional<Time>> until;  // parallel to keys
  bool seal = false;                       // KeysCarryIdentity
};

// Writes the ledger records for rows kept by an erasure. Idempotent: a
// resumed erasure writes the same records again.
Status RecordKept(Store& store, const std::string& hash_key, const KeptRows& rows);

// manifest.json "kept" for a subject known by these pseudonyms:
// [{"connector", "collection", "records", "basis", "note", "until": "YYYY-MM-DD" | null}],
// one entry per (connector, collection, basis, note), until the latest end.
Result<nlohmann::json> KeptFor(Store& store, const std::vector<std::string>& subject_refs);

// Erases the rows of every ledger entry whose period has ended by `now`:
// deletes them by key through the connector, appends a "kept_purged" audit
// entry (counts and basis, never values) and removes the entry. Two
// processes purging at once delete nothing twice and audit once (the
// "kept_purged" record is claimed with PutRecordIfAbsent). Returns
// {"entries", "rows", "skipped"}.
Result<nlohmann::json> PurgeDueKept(Store& store, DataGraph& g, const std::string& hash_key, Time now, size_t batch);

// Sealing of ledger keys that carry identity values (exposed for tests).
std::string SealKey(const std::string& hash_key, const std::string& plain);
Result<std::string> UnsealKey(const std::string& hash_key, const std::string& sealed);

}  // namespace lethe::exec
