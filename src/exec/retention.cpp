#include "exec/retention.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include <spdlog/spdlog.h>

#include "exec/util.h"
#include "lethe/audit.h"

namespace lethe::exec {
namespace {

using nlohmann::json;

std::string DateOf(Time t) { return FormatRfc3339(t).substr(0, 10); }

// "+hh", "+hhmm" and "+hh:mm" offsets, or none (UTC), after hh:mm:ss[.f].
Result<Time> ParseTimestampText(std::string s) {
  if (s.size() == 10) return ParseRfc3339(s + "T00:00:00Z");
  if (s.size() < 19) return Status::Invalid("not a date");
  if (s[10] == ' ') s[10] = 'T';
  size_t pos = 19;
  if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
    s[pos] = '.';
    ++pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
  }
  std::string head = s.substr(0, pos), off = s.substr(pos);
  if (!off.empty() && off[0] == ' ') off.erase(0, 1);
  if (off.empty()) {
    off = "Z";
  } else if ((off[0] == '+' || off[0] == '-') && off.size() == 3) {
    off += ":00";
  } else if ((off[0] == '+' || off[0] == '-') && off.size() == 5 && off.find(':') == std::string::npos) {
    off.insert(3, ":");
  }
  return ParseRfc3339(head + off);
}

// The column of node i that `column` of a link reads, if any.
bool ColumnCarriesIdentity(const DataGraph& g, size_t i, const std::string& column, int depth) {
  if (depth > 64) return true;  // cannot happen in an acyclic graph; be safe, not sorry
  const GraphNode& n = g.nodes()[i];
  for (size_t k = 0; k < n.sources.size(); ++k) {
    if (n.spec->links[k].column != column) continue;
    const LinkSource& s = n.sources[k];
    if (s.identity) return true;
    // A prefix or suffix around the value still carries it.
    if (ColumnCarriesIdentity(g, s.node, s.column, depth + 1)) return true;
  }
  return false;
}

std::string FromHex(const std::string& hex) {
  std::string out;
  auto nib = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (hex.size() % 2 != 0) return "";
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = nib(hex[i]), lo = nib(hex[i + 1]);
    if (hi < 0 || lo < 0) return "";
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

std::string ToHex(const std::string& bytes) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

// A key of its own for the ledger, so the pseudonym key's HMAC outputs and
// the cipher never share a key.
std::string SealingKey(const std::string& hash_key) { return FromHex(HmacSha256Hex(hash_key, "lethe:kept-ledger:v1")); }

constexpr size_t kIv = 12, kTag = 16;

// Keyed by the subject, not the request: a second erasure that still finds
// the kept rows writes the same records again instead of counting them twice.
std::string GroupKey(const KeptRows& rows, const std::optional<Time>& until) {
  const std::string& who = rows.subject_refs.empty() ? rows.request_id : rows.subject_refs.front();
  return rows.connector + "." + rows.collection + "/" + who + "/" + (until ? DateOf(*until) : "none");
}

}  // namespace

Result<Time> ParseRetentionStart(const json& v) {
  if (v.is_number_integer() || v.is_number_unsigned()) {
    // Unix seconds; anything beyond year 9999 is not a date we can count from.
    int64_t secs = v.is_number_unsigned() && v.get<uint64_t>() > 253402300799ULL ? -1 : v.get<int64_t>();
    if (secs < 0 || secs > 253402300799LL) return Status::Invalid("not a date");
    return FromUnix(secs);
  }
  if (!v.is_string()) return Status::Invalid("not a date");
  return ParseTimestampText(v.get<std::string>());
}

RetentionVerdict JudgeRetention(const Retention& r, const json& fields, Time now) {
  RetentionVerdict v;
  if (r.period.empty()) return v;  // kept, no end known
  auto period = ParseIsoDuration(r.period);
  if (!period.ok()) {
    v.kind = RetentionVerdict::Kind::kUndated;  // config validation makes this unreachable
    return v;
  }
  Time start = now;
  if (!r.from.empty()) {
    auto it = fields.is_object() ? fields.find(r.from) : fields.end();
    if (it == fields.end() || it->is_null()) {
      v.kind = RetentionVerdict::Kind::kUndated;
      return v;
    }
    auto parsed = ParseRetentionStart(*it);
    if (!parsed.ok()) {
      v.kind = RetentionVerdict::Kind::kUndated;
      return v;
    }
    start = *parsed;
  }
  v.until = AddCalendar(start, *period);
  if (*v.until <= now) v.kind = RetentionVerdict::Kind::kExpired;
  return v;
}

bool KeysCarryIdentity(const DataGraph& g, size_t i) {
  const CollectionSpec& c = *g.nodes()[i].spec;
  if (c.objects || c.primary_key.empty()) return true;
  return ColumnCarriesIdentity(g, i, c.primary_key, 0);
}

std::vector<std::string> SubjectRefs(const std::string& hash_key, const Subject& s) {
  std::vector<std::string> out;
  if (!s.email.empty()) out.push_back(Pseudonym(hash_key, "email", s.email));
  if (!s.user_id.empty()) out.push_back(Pseudonym(hash_key, "user_id", s.user_id));
  if (!s.phone.empty()) out.push_back(Pseudonym(hash_key, "phone", s.phone));
  for (const auto& [kind, v] : s.custom) {
    if (!v.empty()) out.push_back(Pseudonym(hash_key, kind, v));
  }
  return out;
}

std::string SealKey(const std::string& hash_key, const std::string& plain) {
  const std::string key = SealingKey(hash_key);
  unsigned char iv[kIv];
  RAND_bytes(iv, sizeof iv);
  std::string ct(plain.size(), '\0');
  unsigned char tag[kTag];
  int len = 0, fin = 0;
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, nullptr, nullptr);
  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, kIv, nullptr);
  EVP_EncryptInit_ex(ctx, nullptr, nullptr, reinterpret_cast<const unsigned char*>(key.data()), iv);
  EVP_EncryptUpdate(ctx, reinterpret_cast<unsigned char*>(ct.data()), &len,
                    reinterpret_cast<const unsigned char*>(plain.data()), static_cast<int>(plain.size()));
  EVP_EncryptFinal_ex(ctx, reinterpret_cast<unsigned char*>(ct.data()) + len, &fin);
  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, kTag, tag);
  EVP_CIPHER_CTX_free(ctx);
  return "v1:" +
         ToHex(std::string(reinterpret_cast<char*>(iv), kIv) + ct + std::string(reinterpret_cast<char*>(tag), kTag));
}

Result<std::string> UnsealKey(const std::string& hash_key, const std::string& sealed) {
  if (sealed.rfind("v1:", 0) != 0) return Status::Invalid("not a sealed ledger key");
  std::string raw = FromHex(sealed.substr(3));
  if (raw.size() < kIv + kTag) return Status::Invalid("not a sealed ledger key");
  const std::string key = SealingKey(hash_key);
  std::string ct = raw.substr(kIv, raw.size() - kIv - kTag);
  std::string tag = raw.substr(raw.size() - kTag);
  std::string plain(ct.size(), '\0');
  int len = 0, fin = 0;
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, nullptr, nullptr);
  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, kIv, nullptr);
  EVP_DecryptInit_ex(ctx, nullptr, nullptr, reinterpret_cast<const unsigned char*>(key.data()),
                     reinterpret_cast<const unsigned char*>(raw.data()));
  EVP_DecryptUpdate(ctx, reinterpret_cast<unsigned char*>(plain.data()), &len,
                    reinterpret_cast<const unsigned char*>(ct.data()), static_cast<int>(ct.size()));
  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, kTag, tag.data());
  int ok = EVP_DecryptFinal_ex(ctx, reinterpret_cast<unsigned char*>(plain.data()) + len, &fin);
  EVP_CIPHER_CTX_free(ctx);
  // A changed pseudonym key (or an edited record) fails here instead of
  // deleting some other row.
  if (ok != 1) return Status::Invalid("sealed ledger key does not open with this pseudonym key");
  return plain;
}

Status RecordKept(Store& store, const std::string& hash_key, const KeptRows& rows) {
  // One record per UTC day the period ends: a subject's invoices share few
  // days, so this stays a handful of writes, and a group is purged when its
  // latest row is due (at most a day after the earliest).
  std::map<std::string, std::pair<std::optional<Time>, std::vector<std::string>>> groups;
  for (size_t i = 0; i < rows.keys.size(); ++i) {
    const std::optional<Time>& until = i < rows.until.size() ? rows.until[i] : std::nullopt;
    auto& g = groups[GroupKey(rows, until)];
    if (until && (!g.first || *until > *g.first)) g.first = until;
    g.second.push_back(rows.seal ? SealKey(hash_key, rows.keys[i]) : rows.keys[i]);
  }
  for (auto& [key, g] : groups) {
    Record rec;
    rec.kind = kKeptKind;
    rec.key = key;
    rec.value = {{"request_id", rows.request_id},
                 {"connector", rows.connector},
                 {"collection", rows.collection},
                 {"basis", rows.retain.basis},
                 {"note", rows.retain.note},
                 {"until", g.first ? json(FormatRfc3339(*g.first)) : json(nullptr)},
                 {"subject_refs", rows.subject_refs},
                 {"records", g.second.size()},
                 {rows.seal ? "sealed_keys" : "keys", g.second}};
    rec.due_at = g.first;
    rec.created_at = Now();
    LETHE_RETURN_IF_ERROR(store.PutRecord(rec));
  }
  return Status::Ok();
}

Result<json> KeptFor(Store& store, const std::vector<std::string>& subject_refs) {
  json out = json::array();
  if (subject_refs.empty()) return out;
  const std::set<std::string> refs(subject_refs.begin(), subject_refs.end());
  // The ledger is small (a few records per erased subject with retained
  // rows) and the store has no index on record values: read it all.
  LETHE_ASSIGN_OR_RETURN(auto all, store.Records(kKeptKind, std::nullopt, 1 << 30));
  using Group = std::tuple<std::string, std::string, std::string, std::string>;
  std::map<Group, json> groups;
  for (const Record& rec : all) {
    const json& v = rec.value;
    bool mine = false;
    for (const auto& r : v.value("subject_refs", json::array()))
      mine = mine || (r.is_string() && refs.count(r.get<std::string>()));
    if (!mine) continue;
    Group g{v.value("connector", ""), v.value("collection", ""), v.value("basis", ""), v.value("note", "")};
    json& e = groups[g];
    if (e.is_null()) {
      e = {{"connector", std::get<0>(g)}, {"collection", std::get<1>(g)}, {"records", 0},
           {"basis", std::get<2>(g)},     {"note", std::get<3>(g)},       {"until", ""}};
    }
    e["records"] = e["records"].get<int64_t>() + v.value("records", int64_t{0});
    // No end beats any end: "until" null means kept until someone acts.
    if (!v["until"].is_string() || e["until"].is_null()) {
      e["until"] = nullptr;
    } else {
      std::string d = v["until"].get<std::string>().substr(0, 10);
      if (d > e["until"].get<std::string>()) e["until"] = d;
    }
  }
  for (auto& [g, e] : groups) out.push_back(std::move(e));
  return out;
}

Result<json> PurgeDueKept(Store& store, DataGraph& g, const std::string& hash_key, Time now, size_t batch) {
  int64_t entries = 0, rows = 0, skipped = 0;
  // Marks from earlier purges only guard against a second process acting on
  // the same entry at the same moment; a day later they are of no use.
  LETHE_ASSIGN_OR_RETURN(auto old_marks, store.Records("kept_purged", now, 1000));
  for (const Record& m : old_marks) LETHE_RETURN_IF_ERROR(store.DeleteRecord(m.kind, m.key));

  LETHE_ASSIGN_OR_RETURN(auto due, store.Records(kKeptKind, now, 500));
  for (const Record& rec : due) {
    const json& v = rec.value;
    const std::string connector = v.value("connector", ""), collection = v.value("collection", "");
    const GraphNode* node = nullptr;
    for (const GraphNode& n : g.nodes()) {
      if (n.connector->name() == connector && n.spec->name == collection) node = &n;
    }
    if (node == nullptr) {
      // The config no longer names the collection: nothing to delete through,
      // and nothing to do but tell the operator (names only).
      spdlog::warn("retention: ledger entry {} names {}.{}, which the config no longer has; left in place", rec.key,
                   connector, collection);
      ++skipped;
      continue;
    }
    std::vector<std::string> keys;
    bool sealed_ok = true;
    for (const auto& k : v.value("keys", json::array())) keys.push_back(k.get<std::string>());
    for (const auto& k : v.value("sealed_keys", json::array())) {
      auto plain = UnsealKey(hash_key, k.get<std::string>());
      if (!plain.ok()) {
        sealed_ok = false;
        break;
      }
      keys.push_back(std::move(*plain));
    }
    if (!sealed_ok) {
      spdlog::error("retention: ledger entry {} cannot be opened with the current pseudonym key; left in place",
                    rec.key);
      ++skipped;
      continue;
    }
    EraseAction del;
    del.kind = EraseAction::Kind::kDelete;
    del.hash_key = hash_key;
    int64_t deleted = 0;
    if (batch == 0) batch = 1;
    for (size_t start = 0; start < keys.size(); start += batch) {
      std::vector<std::string> part(keys.begin() + start, keys.begin() + std::min(keys.size(), start + batch));
      auto n = node->connector->Erase(*node->spec, {}, part, del);
      if (!n.ok()) return Status(n.status().code(), "retention purge of " + node->id + ": " + n.status().message());
      deleted += *n;
    }
    // Deleting by key is idempotent; only the first process to get here
    // writes the audit entry.
    Record mark{"kept_purged", rec.key, {{"at", FormatRfc3339(now)}}, now + std::chrono::days(1), now};
    LETHE_ASSIGN_OR_RETURN(auto first, store.PutRecordIfAbsent(mark));
    if (first) {
      AuditEntry a;
      a.at = now;
      a.request_id = v.value("request_id", "");
      a.kind = "kept_purged";
      a.actor = "system";
      const json refs = v.value("subject_refs", json::array());
      if (!refs.empty() && refs[0].is_string()) a.subject_ref = refs[0].get<std::string>();
      a.detail = {{"connector", connector}, {"collection", collection}, {"basis", v.value("basis", "")},
                  {"until", v["until"]},    {"records", keys.size()},   {"deleted", deleted}};
      LETHE_RETURN_IF_ERROR(store.AppendAudit(std::move(a)));
      spdlog::info("retention: {} row(s) of {} erased after their retention ended", deleted, node->id);
      ++entries;
      rows += deleted;
    }
    LETHE_RETURN_IF_ERROR(store.DeleteRecord(kKeptKind, rec.key));
  }
  return json{{"entries", entries}, {"rows", rows}, {"skipped", skipped}};
}

}  // namespace lethe::exec
