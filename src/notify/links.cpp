// Verification codes and download links. Secrets are made with OpenSSL's
// CSPRNG, stored only as digests, compared in constant time, never logged.
#include "notify/links.h"

#include "lethe/util/base64.h"

#include <cstdio>

#include <spdlog/spdlog.h>

#include "notify/crypto_util.h"
#include "notify/messages.h"
#include "notify/outbox.h"

namespace lethe {

using nlohmann::json;

namespace {

constexpr const char* kCodeKind = "verify_code";
constexpr const char* kAttemptKind = "verify_attempt";
constexpr const char* kTokenKind = "download_token";

// A uniform 6-digit code: 32 random bits, rejecting the top sliver that
// would make low codes more likely than high ones (2^32 is not a multiple of 10^6).
Result<std::string> NewCode() {
  constexpr uint64_t kRange = 1000000;
  constexpr uint64_t kLimit = (uint64_t{1} << 32) - ((uint64_t{1} << 32) % kRange);
  for (int i = 0; i < 16; ++i) {
    unsigned char b[4];
    if (!notify::RandomBytes(b, sizeof b)) return Status::Internal("RAND_bytes failed");
    uint64_t v = (uint64_t{b[0]} << 24) | (uint64_t{b[1]} << 16) | (uint64_t{b[2]} << 8) | b[3];
    if (v >= kLimit) continue;
    char buf[8];
    std::snprintf(buf, sizeof buf, "%06u", static_cast<unsigned>(v % kRange));
    return std::string(buf);
  }
  return Status::Internal("RAND_bytes kept returning out-of-range values");
}

Result<std::string> RandomHexId(size_t n) {
  std::string raw(n, '\0');
  if (!notify::RandomBytes(reinterpret_cast<unsigned char*>(raw.data()), n))
    return Status::Internal("RAND_bytes failed");
  return notify::Sha256Hex(raw).substr(0, 2 * n);
}

// The stored form of a code: salted with the code's own random id so equal
// codes of two requests do not look equal in the table.
std::string CodeDigest(const std::string& code_id, const std::string& code) {
  return notify::Sha256Hex(code_id + ":" + code);
}

bool SixDigits(const std::string& s) {
  if (s.size() != 6) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

bool PlausibleToken(const std::string& t) {
  if (t.size() != 43) return false;
  for (char c : t) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

Status IssueVerificationCode(Store& store, const Request& r, Time now) {
  if (r.subject.email.empty())
    return Status::Invalid("the subject has no email address to send a code to", "/subject/email");
  LETHE_ASSIGN_OR_RETURN(auto existing, store.GetRecord(kCodeKind, r.id));
  int issued = existing.has_value() ? existing->value.value("issued", 0) : 0;
  if (issued >= kVerifyMaxIssues) return Status(Code::kRateLimited, "too many verification codes for this request");

  // Count the mail now (the limit is on mails asked for); an earlier code
  // stays valid until this mail's code replaces it.
  Record rec;
  if (existing.has_value()) rec = *existing;
  rec.kind = kCodeKind;
  rec.key = r.id;
  rec.value["issued"] = issued + 1;
  if (!rec.value.contains("code_sha256")) rec.due_at = now + std::chrono::seconds(kVerifyCodeTtlSeconds);
  rec.created_at = now;
  LETHE_RETURN_IF_ERROR(store.PutRecord(rec));

  LETHE_RETURN_IF_ERROR(
      Enqueue(store, "verify:" + r.id + ":" + std::to_string(issued + 1), notify::VerificationCodeMail(r), now)
          .status());
  spdlog::info("verification mail queued for request {} ({} of {})", r.id, issued + 1, kVerifyMaxIssues);
  return Status::Ok();
}

Result<std::string> MintVerificationCode(Store& store, const std::string& request_id, Time now) {
  LETHE_ASSIGN_OR_RETURN(auto existing, store.GetRecord(kCodeKind, request_id));
  LETHE_ASSIGN_OR_RETURN(auto code, NewCode());
  LETHE_ASSIGN_OR_RETURN(auto code_id, RandomHexId(8));
  const Time expires = now + std::chrono::seconds(kVerifyCodeTtlSeconds);

  Record rec;
  rec.kind = kCodeKind;
  rec.key = request_id;
  rec.value = {{"code_id", code_id},
               {"code_sha256", CodeDigest(code_id, code)},
               {"expires_at", FormatRfc3339(expires)},
               {"attempts", 0},
               {"issued", existing.has_value() ? existing->value.value("issued", 0) : 0}};
  rec.due_at = expires;
  rec.created_at = now;
  LETHE_RETURN_IF_ERROR(store.PutRecord(rec));
  return code;
}

Status CheckVerificationCode(Store& store, const std::string& request_id, const std::string& code, Time now) {
  LETHE_ASSIGN_OR_RETURN(auto loaded, store.GetRecord(kCodeKind, request_id));
  if (!loaded.has_value()) return Status::NotFound("no verification code is pending for this request");
  Record rec = *loaded;
  const std::string code_id = rec.value.value("code_id", "");
  // Counted but not sent yet: there is no code to compare with.
  if (code_id.empty() || !rec.value.contains("code_sha256"))
    return Status::NotFound("no verification code is pending for this request");
  int attempts = rec.value.value("attempts", 0);
  if (attempts >= kVerifyMaxAttempts) {
    return Status(Code::kRateLimited, "too many wrong codes: ask for a new code");
  }
  if (!rec.due_at || now >= *rec.due_at) return Status::Invalid("code expired: ask for a new code", "/code");
  // Not a guess at all: no attempt spent.
  if (!SixDigits(code)) return Status::Invalid("a code is 6 digits", "/code");

  // Claim an attempt slot first. The slots are unique records, so parallel
  // guesses cannot make more than kVerifyMaxAttempts tries between them,
  // whatever order their reads and writes interleave in.
  int slot = 0;
  for (int n = attempts + 1; n <= kVerifyMaxAttempts && slot == 0; ++n) {
    Record claim;
    claim.kind = kAttemptKind;
    claim.key = request_id + ":" + code_id + ":" + std::to_string(n);
    claim.due_at = rec.due_at;
    claim.created_at = now;
    LETHE_ASSIGN_OR_RETURN(auto won, store.PutRecordIfAbsent(claim));
    if (won) slot = n;
  }
  if (slot == 0) return Status(Code::kRateLimited, "too many wrong codes: ask for a new code");

  const std::string want = rec.value.value("code_sha256", "");
  if (notify::ConstantTimeEquals(CodeDigest(code_id, code), want)) {
    LETHE_RETURN_IF_ERROR(store.DeleteRecord(kCodeKind, request_id));
    spdlog::info("verification code accepted for request {}", request_id);
    return Status::Ok();
  }

  // Record the count on the code itself (for the next call's early check),
  // unless a new code replaced this one meanwhile.
  auto again = store.GetRecord(kCodeKind, request_id);
  if (again.ok() && again->has_value() && (*again)->value.value("code_id", "") == code_id &&
      (*again)->value.value("attempts", 0) < slot) {
    Record upd = **again;
    upd.value["attempts"] = slot;
    LETHE_RETURN_IF_ERROR(store.PutRecord(upd));
  }
  spdlog::warn("wrong verification code for request {} (attempt {} of {})", request_id, slot, kVerifyMaxAttempts);
  if (slot >= kVerifyMaxAttempts) return Status(Code::kRateLimited, "too many wrong codes: ask for a new code");
  return Status::Invalid("wrong code", "/code");
}

Status IssueDownloadLink(Store& store, const Config& config, const Request& r, Time now) {
  if (r.subject.email.empty()) {
    spdlog::warn("download link for request {} not mailed: the subject has no email address", r.id);
    return Status::Ok();
  }
  const Time expires = now + std::chrono::duration_cast<std::chrono::seconds>(config.link_ttl.Approx());
  // A random key part: two links for one request are two mails.
  LETHE_ASSIGN_OR_RETURN(auto nonce, RandomHexId(8));
  LETHE_RETURN_IF_ERROR(
      Enqueue(store, "download:" + r.id + ":" + nonce, notify::DownloadLinkMail(r, expires), now).status());
  spdlog::info("download link mail queued for request {}, valid until {}", r.id, FormatRfc3339(expires));
  return Status::Ok();
}

Result<std::string> MintDownloadToken(Store& store, const std::string& request_id, Time expires_at, Time now) {
  unsigned char raw[32];
  if (!notify::RandomBytes(raw, sizeof raw)) return Status::Internal("RAND_bytes failed");
  std::string token = util::Base64UrlEncode(std::string_view(reinterpret_cast<const char*>(raw), sizeof raw));
  Record rec;
  rec.kind = kTokenKind;
  rec.key = notify::Sha256Hex(token);
  rec.value = {{"request_id", request_id}, {"expires_at", FormatRfc3339(expires_at)}};
  rec.due_at = expires_at;
  rec.created_at = now;
  LETHE_ASSIGN_OR_RETURN(auto put, store.PutRecordIfAbsent(rec));
  if (!put) return Status::Internal("download token collision");  // 2^-256: a broken RNG
  return token;
}

Status FillSecret(Store& store, const std::string& public_url, Message& m, Time now, MintedSecret* minted) {
  if (m.secret.is_null()) return Status::Ok();
  const size_t at = m.body.find(kSecretPlaceholder);
  if (!m.secret.is_object() || at == std::string::npos || m.request_id.empty())
    return Status::Invalid("outbox message has a malformed secret reference", "/secret");
  const std::string kind = m.secret.value("kind", "");
  std::string text;
  if (kind == "verify_code") {
    LETHE_ASSIGN_OR_RETURN(auto code, MintVerificationCode(store, m.request_id, now));
    text = code;
  } else if (kind == "download_link") {
    auto expires = ParseRfc3339(m.secret.value("expires_at", ""));
    if (!expires.ok()) return Status::Invalid("download link without a valid expires_at", "/secret/expires_at");
    LETHE_ASSIGN_OR_RETURN(auto token, MintDownloadToken(store, m.request_id, *expires, now));
    if (minted != nullptr) minted->token_digest = notify::Sha256Hex(token);
    std::string base = public_url;
    while (!base.empty() && base.back() == '/') base.pop_back();
    text = base + "/v1/downloads/" + token;
  } else {
    return Status::Invalid("outbox message names an unknown secret kind", "/secret/kind");
  }
  m.body.replace(at, std::string(kSecretPlaceholder).size(), text);
  m.secret = nullptr;
  return Status::Ok();
}

void RevokeSecret(Store& store, const MintedSecret& minted) {
  if (minted.token_digest.empty()) return;
  Status st = store.DeleteRecord(kTokenKind, minted.token_digest);
  if (!st.ok()) spdlog::warn("could not withdraw an unsent download link: {}", st.ToString());
}

Result<std::string> ResolveDownloadToken(Store& store, const std::string& token, Time now) {
  const Status unknown = Status::NotFound("unknown or expired download link");
  if (!PlausibleToken(token)) return unknown;
  LETHE_ASSIGN_OR_RETURN(auto rec, store.GetRecord(kTokenKind, notify::Sha256Hex(token)));
  if (!rec.has_value() || !rec->due_at || now >= *rec->due_at) return unknown;
  std::string id = rec->value.value("request_id", "");
  if (id.empty()) return unknown;
  return id;
}

}  // namespace lethe
