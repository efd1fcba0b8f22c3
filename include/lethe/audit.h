// The audit log: append-only, hash-chained, without clear PII.
//
// Each entry commits to the one before it: hash = sha256(prev_hash || canonical
// entry). Editing, deleting or reordering an entry breaks the chain at that
// entry. Subject identities appear only as keyed HMAC pseudonyms, so the log
// proves what happened to whom without holding who that is.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lethe/status.h"
#include "lethe/time.h"

namespace lethe {

struct AuditEntry {
  int64_t seq = 0;          // 1, 2, 3 ... assigned by the store
  Time at{};
  std::string request_id;   // may be empty (e.g. config events)
  std::string kind;         // received, approved, erased, exported, downloaded, ...
  std::string actor;
  std::string subject_ref;  // Pseudonym() of the subject's primary identity; never clear PII
  nlohmann::json detail = nlohmann::json::object();  // counts, field names, bases: never values
  std::string prev_hash;    // hex; "" for the first entry
  std::string hash;         // hex
};

// HMAC-SHA256(key, kind ":" normalized value), hex. Emails are lowercased and trimmed.
std::string Pseudonym(const std::string& key, const std::string& kind, const std::string& value);

// The hash an entry must carry given its predecessor's hash (entry.hash is ignored).
std::string ChainHash(const std::string& prev_hash, const AuditEntry& entry);

// Checks a whole chain in seq order. On a break returns kConflict whose message
// names the first broken entry: "audit entry 17: hash mismatch (edited?)".
Status VerifyChain(const std::vector<AuditEntry>& entries);

nlohmann::json ToJson(const AuditEntry& e);

}  // namespace lethe
