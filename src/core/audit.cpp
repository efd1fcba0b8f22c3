#include "lethe/audit.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cctype>

#include "core/hex.h"

namespace lethe {

std::string Pseudonym(const std::string& key, const std::string& kind, const std::string& value) {
  // Normalize so the same person always maps to the same pseudonym: emails are
  // case-insensitive in practice and often carry stray spaces.
  std::string v = value;
  v.erase(0, v.find_first_not_of(" \t\r\n"));
  v.erase(v.find_last_not_of(" \t\r\n") + 1);
  if (kind == "email") std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
  return HmacSha256Hex(key, kind + ":" + v);
}

nlohmann::json ToJson(const AuditEntry& e) {
  return {{"seq", e.seq},           {"at", FormatRfc3339(e.at)}, {"request_id", e.request_id},
          {"kind", e.kind},         {"actor", e.actor},          {"subject_ref", e.subject_ref},
          {"detail", e.detail},     {"prev_hash", e.prev_hash},  {"hash", e.hash}};
}

std::string ChainHash(const std::string& prev_hash, const AuditEntry& e) {
  // The hash commits to the position (seq), the predecessor, and every field;
  // nlohmann's dump() sorts object keys, so the encoding is canonical.
  nlohmann::json body = ToJson(e);
  body.erase("hash");
  body["prev_hash"] = prev_hash;
  return Sha256Hex(body.dump());
}

Status VerifyChain(const std::vector<AuditEntry>& entries) {
  std::string prev;
  int64_t expect_seq = 1;
  for (const AuditEntry& e : entries) {
    std::string where = "audit entry " + std::to_string(e.seq);
    if (e.seq != expect_seq)
      return Status::Conflict(where + ": expected entry " + std::to_string(expect_seq) + " (deleted or reordered)");
    if (e.prev_hash != prev) return Status::Conflict(where + ": does not follow the entry before it (deleted or reordered)");
    if (ChainHash(prev, e) != e.hash) return Status::Conflict(where + ": hash mismatch (edited)");
    prev = e.hash;
    ++expect_seq;
  }
  return Status::Ok();
}

}  // namespace lethe
