// The audit log: append-only, keyed hash chain, anchored outside the store,
// without clear PII.
//
// Each entry commits to the one before it:
//   hash = HMAC-SHA256(chain key, canonical entry incl. seq and prev_hash).
// The chain key comes from the environment and is never written to the store,
// so whoever can edit the store file cannot recompute a valid chain. Signed
// heads (seq, hash, time, HMAC) are appended to an anchor file outside the
// store; a log shorter than its last head, or one whose entry differs from a
// signed head, fails verification. docs/audit.md says exactly what this covers.
//
// Stores written before the chain was keyed start with entries hashed with
// plain SHA-256 ("unkeyed"); they stay readable, and verification names the
// unkeyed range. Subject identities appear only as keyed HMAC pseudonyms.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "lethe/status.h"
#include "lethe/time.h"

namespace lethe {

struct AuditEntry {
  int64_t seq = 0;  // 1, 2, 3 ... assigned by the store
  Time at{};
  std::string request_id;  // may be empty (e.g. config events)
  std::string kind;        // received, approved, erased, exported, downloaded, ...
  std::string actor;
  std::string subject_ref;                           // Pseudonym() of the subject's primary identity; never clear PII
  nlohmann::json detail = nlohmann::json::object();  // counts, field names, bases: never values
  std::string prev_hash;                             // hex; "" for the first entry
  std::string hash;                                  // hex
};

// HMAC-SHA256(key, kind ":" normalized value), hex. Emails are lowercased and trimmed.
std::string Pseudonym(const std::string& key, const std::string& kind, const std::string& value);

// The chain key derived from the configured secret (audit.chain_key_env, or the
// pseudonym key). Derived so that the same secret used for pseudonyms never
// keys two different things directly.
std::string AuditChainKey(const std::string& secret);

// The hash an entry must carry given its predecessor's hash (entry.hash is
// ignored): HMAC-SHA256 under chain_key, or, with an empty key, the plain
// SHA-256 that stores written before keying carry.
std::string ChainHash(const std::string& chain_key, const std::string& prev_hash, const AuditEntry& entry);

// A signed head: "the log had entry `seq` with hash `hash` at `at`".
// keyed_from: the first entry hashed with the chain key, when the writer knew
// it (0: unknown). Entries before it predate keying.
struct AuditHead {
  int64_t seq = 0;
  std::string hash;
  Time at{};
  int64_t keyed_from = 0;
};

// One anchor-file line (no newline): {"seq","hash","at","keyed_from","mac"},
// mac = HMAC-SHA256(chain key, "lethe-audit-head\n" seq \n hash \n at \n keyed_from).
std::string SignedHeadLine(const std::string& chain_key, const AuditHead& head);
// Parses and authenticates an anchor file. A missing file is an empty list; a
// line that does not parse or whose mac is wrong is kConflict naming the file
// and line ("audit anchor /x/anchor.log line 7: bad signature"), except a torn
// last line without its newline (a crash mid-write), which is skipped.
Result<std::vector<AuditHead>> ReadAnchor(const std::string& path, const std::string& chain_key);

// What a successful check found.
struct ChainReport {
  int64_t entries = 0;
  int64_t unkeyed_through = 0;         // entries 1..this carry plain SHA-256 (written before keying); 0: none
  std::optional<AuditHead> last_head;  // the highest signed head (anchored checks only)
  int64_t heads = 0;                   // signed heads read
};

// Checks a whole chain in seq order: sequence, links, each hash under
// chain_key (an unkeyed prefix is accepted only before the first keyed entry,
// and only before the anchor's keyed_from), and, when `heads` is given, that
// the log reaches every signed head and matches it. With an empty chain_key
// every entry must carry the plain SHA-256 hash. On a break returns kConflict
// naming the first bad entry: "audit entry 17: hash mismatch (edited?)".
Result<ChainReport> CheckChain(const std::vector<AuditEntry>& entries, const std::string& chain_key,
                               const std::vector<AuditHead>* heads);
// CheckChain without an anchor, as a Status.
Status VerifyChain(const std::vector<AuditEntry>& entries, const std::string& chain_key = "");

nlohmann::json ToJson(const AuditEntry& e);

// How a store links the entries it appends. Set once on a store, right after
// it is opened and before the first append.
struct AuditChainOptions {
  std::string key;  // AuditChainKey(); "" writes the unkeyed chain of older versions
  // Told of each committed entry (outside the transaction, in commit order
  // within one process); the anchor listens. head.keyed_from as the store knows it.
  std::function<void(const AuditHead&)> on_commit;
};

// Appends signed heads to the anchor file: the newest committed head at most
// one second after it was noted (the first one at once), and the last one when
// the anchor is destroyed (shutdown). Lines are appended with O_APPEND and
// fsynced, so several processes may share one anchor file.
class AuditAnchor {
 public:
  AuditAnchor(std::string path, std::string chain_key);
  ~AuditAnchor();  // writes the newest head, then stops
  AuditAnchor(const AuditAnchor&) = delete;
  AuditAnchor& operator=(const AuditAnchor&) = delete;

  const std::string& path() const { return path_; }
  // Cheap; called by the store after each commit.
  void Note(const AuditHead& head);
  // Writes the newest noted head now, if it is not written yet.
  Status Flush();
  // Appends `head` as it is (`lethe audit anchor`: sign the log as it stands).
  Status Append(AuditHead head);

 private:
  void Loop();
  Status Write(AuditHead head);  // io_mu_ held; fills keyed_from and at

  const std::string path_;
  const std::string key_;
  std::mutex io_mu_;  // one writer at a time; never held by Note()
  std::mutex mu_;     // guards the fields below
  std::condition_variable cv_;
  std::thread thread_;
  bool stop_ = false;
  std::optional<AuditHead> pending_;  // noted, not yet written
  int64_t written_seq_ = 0;
  int64_t keyed_from_ = 0;  // once known, carried into every head
  std::chrono::steady_clock::time_point last_write_{};
};

}  // namespace lethe
