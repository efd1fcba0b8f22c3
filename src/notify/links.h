// What the subject gets by mail to prove who they are and to fetch their
// data: verification codes and expiring download links.
//
// Neither the code nor the token is stored: only their SHA-256. Neither is
// ever logged. The mail goes through the outbox (queued here, sent by
// Deliver), and the outbox drops the body once sent.
#pragma once

#include <string>

#include "lethe/config.h"
#include "lethe/request.h"
#include "lethe/status.h"
#include "lethe/store.h"
#include "lethe/time.h"

namespace lethe {

inline constexpr int kVerifyCodeTtlSeconds = 15 * 60;
inline constexpr int kVerifyMaxAttempts = 5;   // wrong guesses per code
inline constexpr int kVerifyMaxIssues = 5;     // codes per request

// Makes a fresh 6-digit code (uniform, from RAND_bytes) for `r`, stores its
// hash (record "verify_code", key r.id: {code_sha256, expires_at, attempts,
// issued}) replacing any earlier code, and queues a mail to r.subject.email.
// kInvalid if the subject has no email; kRateLimited after kVerifyMaxIssues codes.
// `code_out` (tests only) receives the clear code.
Status IssueVerificationCode(Store& store, const Request& r, Time now, std::string* code_out = nullptr);

// Checks a code the subject typed. Ok once (the code is then consumed);
// kInvalid "wrong code" (counts an attempt) or "code expired";
// kRateLimited once kVerifyMaxAttempts wrong guesses were made (even the
// right code is refused then: ask for a new one); kNotFound if no code is pending.
// Attempts are claimed with PutRecordIfAbsent so parallel guesses cannot
// exceed the limit. The comparison is constant-time.
Status CheckVerificationCode(Store& store, const std::string& request_id, const std::string& code, Time now);

// Makes an unguessable download token (32 random bytes, base64url, 43
// chars), stores sha256(token) -> {request_id} (record "download_token",
// due_at = now + config.link_ttl) and queues a mail with
// <public_url>/v1/downloads/<token> to the subject. Returns the token (the
// caller must not log it). A subject without email gets no mail, but the
// token is still stored and returned (self-service can show it).
Result<std::string> IssueDownloadLink(Store& store, const Config& config, const Request& r, Time now);

// The request a token opens. kNotFound for unknown, malformed or expired tokens
// (one answer for all three: a guesser learns nothing).
Result<std::string> ResolveDownloadToken(Store& store, const std::string& token, Time now);

}  // namespace lethe
