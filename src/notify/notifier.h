// The Notifier: the one place Lethe talks to the outside world about a
// request: mail over SMTP, JSON webhooks, OpenDSR status callbacks.
//
// Nothing calls it directly on the request path. Listeners and the scheduler
// put Messages in the outbox (outbox.h); Deliver() hands them to Send() later,
// so a slow or dead receiver never holds up a state change.
//
// Config it reads (Config.notify and Config.recipients):
//   "notify": {"smtp": {"url": "smtp://127.0.0.1:1025", "from": "privacy@example.com",
//                       "username_env"?: "SMTP_USER", "password_env"?: "SMTP_PASSWORD"},
//              "operators": ["privacy@example.com"], "reminders": ["P7D", "P3D", "P1D"],
//              "webhooks": [{"url": "...", "secret_env": "HOOK_SECRET"}],
//              "opendsr"?: {"private_key_file": "opendsr.pem", "controller_id"?: "...",
//                           "certificate_url"?: "https://.../cert.pem",
//                           "allow_callback_hosts"?: ["callbacks.internal"]}}
//   "recipients": [{"name": "crm", "webhook": "http://...", "secret_env"?: "CRM_SECRET"},
//                  {"name": "mailer", "email": "dpo@partner.example"}]
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lethe/config.h"
#include "lethe/status.h"
#include "lethe/time.h"

namespace lethe {

// One notification, as it sits in the outbox. Plain data so it can be stored
// as JSON and sent by any process that opens the same store.
struct Message {
  std::string channel;  // "email" or "webhook"

  // email: plain text, UTF-8. The From address comes from config at send time.
  std::vector<std::string> to;
  std::string subject;
  std::string body;

  // webhook: `payload` is POSTed byte for byte (signatures are over exactly these bytes).
  std::string url;
  std::string payload;
  // How to sign a webhook when it is sent (secrets are never stored in the outbox):
  //   ""        unsigned
  //   "hmac"    X-Lethe-Signature: sha256=<hex HMAC-SHA256(secret of env `secret_env`, payload)>
  //   "opendsr" X-OpenDSR-Signature (see SignOpenDsr) and X-OpenDSR-Processor-Domain
  std::string signing;
  std::string secret_env;

  // A secret the mail carries, made only when it is sent (links.h
  // FillSecret), so the outbox never holds it: {"kind": "verify_code"} or
  // {"kind": "download_link", "expires_at": RFC 3339}. `body` then holds
  // kSecretPlaceholder where the code or link goes. null: no secret.
  nlohmann::json secret = nullptr;

  // Bookkeeping, never PII.
  std::string request_id;  // may be empty
  // Optional audit entry written when the message is delivered (Art. 19
  // notices): {"kind": "...", "subject_ref": "...", "detail": {...}}.
  nlohmann::json audit = nullptr;

  nlohmann::json ToJson() const;
  static Result<Message> FromJson(const nlohmann::json& j);
};

// Where a mail's secret goes in its body until it is sent.
inline constexpr const char* kSecretPlaceholder = "{{lethe:secret}}";

struct WebhookTarget {
  std::string url;
  std::string secret_env;  // empty: unsigned
};

// An Art. 19 recipient: someone the data was disclosed to, told of
// rectifications, erasures and restrictions.
struct Recipient {
  std::string name;
  std::string webhook;  // one of webhook / email
  std::string email;
  std::string secret_env;  // webhook signing, optional
};

class Notifier {
 public:
  // Parses config.notify / config.recipients and reads the secrets they name
  // from the environment. kInvalid naming the JSON pointer when something is
  // malformed or a named secret is unset.
  static Result<std::unique_ptr<Notifier>> Create(const Config& config);
  ~Notifier();

  // Sends one message now (blocking; called by the outbox). `delivery_id` is
  // stable across retries of the same message: it becomes the mail's
  // Message-ID and the webhook's X-Lethe-Delivery header so receivers can
  // drop duplicates. kUnavailable when the receiver could not be reached or
  // answered non-2xx; kInvalid when the message itself is unusable.
  Status Send(const Message& m, const std::string& delivery_id);

  bool has_smtp() const { return !smtp_url_.empty(); }
  // True when mail must go over TLS (smtps://, or STARTTLS required): a
  // password is set and must never cross the network in clear. Without one,
  // STARTTLS is used when the server offers it.
  bool smtp_requires_tls() const { return !smtp_password_.empty(); }
  const std::vector<std::string>& operators() const { return operators_; }
  const std::vector<Duration>& reminders() const { return reminders_; }
  const std::vector<WebhookTarget>& webhooks() const { return webhooks_; }
  const std::vector<Recipient>& recipients() const { return recipients_; }
  const std::string& public_url() const { return public_url_; }

  // OpenDSR: the processor domain (host of public_url) for X-OpenDSR-Processor-Domain,
  // the controller id put in callbacks and responses, and the signature of a
  // body: base64 of an RSA/ECDSA SHA-256 signature made with
  // notify.opendsr.private_key_file (OpenDSR 8.6). kUnavailable when no key is configured.
  const std::string& opendsr_domain() const { return opendsr_domain_; }
  const std::string& opendsr_controller_id() const { return opendsr_controller_id_; }
  const std::string& opendsr_certificate_url() const { return opendsr_certificate_url_; }
  bool can_sign_opendsr() const;
  Result<std::string> SignOpenDsr(const std::string& body) const;

  // OpenDSR status_callback_urls come from outside, and Lethe POSTs signed
  // JSON to them: each must be https and its host must resolve only to
  // public addresses (no loopback, private, link-local, CGNAT, multicast
  // ...), unless the host is listed literally in
  // notify.opendsr.allow_callback_hosts. Checked at intake and again at
  // send time (DNS may have changed). kInvalid names what is wrong (never
  // the URL); kUnavailable when the host does not resolve. On success
  // `*pin` (if given) gets a CURLOPT_RESOLVE entry ("host:port:addr,...")
  // so that curl connects to exactly the addresses checked; empty for an
  // allowed host.
  Status CheckCallbackUrl(const std::string& url, std::string* pin = nullptr) const;

  // "sha256=<hex HMAC-SHA256(secret, body)>": what X-Lethe-Signature carries.
  static std::string SignLethe(const std::string& secret, const std::string& body);

 private:
  Notifier() = default;
  Status SendMail(const Message& m, const std::string& delivery_id);
  Status SendWebhook(const Message& m, const std::string& delivery_id);

  std::string smtp_url_, smtp_from_, smtp_user_, smtp_password_;
  std::string public_url_;
  std::vector<std::string> operators_;
  std::vector<Duration> reminders_;
  std::vector<WebhookTarget> webhooks_;
  std::vector<Recipient> recipients_;
  std::vector<std::pair<std::string, std::string>> secrets_;  // env name -> value
  std::string opendsr_domain_, opendsr_controller_id_, opendsr_certificate_url_;
  std::vector<std::string> allow_callback_hosts_;  // lower case
  struct Key;                                      // OpenSSL EVP_PKEY holder
  std::unique_ptr<Key> opendsr_key_;
};

}  // namespace lethe
