// What the subject gets by mail to prove who they are and to fetch their
// data: verification codes and expiring download links.
//
// Neither the code nor the token is stored: only their SHA-256. Neither is
// ever logged. Neither sits in the outbox either: the queued mail names only
// its request and the kind of secret (Message::secret), and the code or token
// is made when the mail is sent (FillSecret, called by Deliver), so the store
// never holds one in clear, not even while a mail waits for a retry.
#pragma once

#include <string>

#include "lethe/config.h"
#include "lethe/request.h"
#include "lethe/status.h"
#include "lethe/store.h"
#include "lethe/time.h"
#include "notify/notifier.h"

namespace lethe {

inline constexpr int kVerifyCodeTtlSeconds = 15 * 60;
inline constexpr int kVerifyMaxAttempts = 5;  // wrong guesses per code
inline constexpr int kVerifyMaxIssues = 5;    // codes per request

// Queues a verification mail to r.subject.email and counts it (record
// "verify_code", key r.id: {issued, ...}). The code itself is made when the
// mail is sent. kInvalid if the subject has no email; kRateLimited after
// kVerifyMaxIssues codes.
Status IssueVerificationCode(Store& store, const Request& r, Time now);

// Makes a fresh 6-digit code (uniform, from RAND_bytes) for the request,
// stores only its salted digest ({code_id, code_sha256, expires_at, attempts})
// replacing any earlier code, and returns it. Called when the mail is sent
// (and by tests, in the mail's place). The caller must not log or store it.
Result<std::string> MintVerificationCode(Store& store, const std::string& request_id, Time now);

// Checks a code the subject typed. Ok once (the code is then consumed);
// kInvalid "wrong code" (counts an attempt) or "code expired";
// kRateLimited once kVerifyMaxAttempts wrong guesses were made (even the
// right code is refused then: ask for a new one); kNotFound if no code is pending.
// Attempts are claimed with PutRecordIfAbsent so parallel guesses cannot
// exceed the limit. The comparison is constant-time.
Status CheckVerificationCode(Store& store, const std::string& request_id, const std::string& code, Time now);

// Queues a mail to the subject that will carry a download link valid until
// now + config.link_ttl; the token is made when the mail is sent. A subject
// without email gets no mail (and no token).
Status IssueDownloadLink(Store& store, const Config& config, const Request& r, Time now);

// Makes an unguessable download token (32 random bytes, base64url, 43
// chars), stores sha256(token) -> {request_id} (record "download_token",
// due_at = expires_at) and returns it. The caller must not log or store it.
Result<std::string> MintDownloadToken(Store& store, const std::string& request_id, Time expires_at, Time now);

// What FillSecret made, so that a send that fails can take it back.
struct MintedSecret {
  std::string token_digest;  // a download token's record key; "" for codes (the next one replaces it)
};

// Makes the secret a queued mail refers to (Message::secret) and puts it in
// the body in place of kSecretPlaceholder; m.secret is cleared. A message
// without a secret is left alone. kInvalid for a secret it does not know.
Status FillSecret(Store& store, const std::string& public_url, Message& m, Time now, MintedSecret* minted);
// Withdraws a secret whose mail was not sent: a link nobody got must not stay valid.
void RevokeSecret(Store& store, const MintedSecret& minted);

// The request a token opens. kNotFound for unknown, malformed or expired tokens
// (one answer for all three: a guesser learns nothing).
Result<std::string> ResolveDownloadToken(Store& store, const std::string& token, Time now);

}  // namespace lethe
