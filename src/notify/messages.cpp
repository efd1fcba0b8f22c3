#include "notify/messages.h"

#include "notify/notifications.h"

namespace lethe::notify {

using nlohmann::json;

namespace {

std::string InboxLink(const Notifier& n, const Request& r) { return n.public_url() + "/inbox/#/requests/" + r.id; }

Message ToOperators(const Notifier& n, const Request& r, std::string subject, std::string body) {
  Message m;
  m.channel = "email";
  m.to = n.operators();
  m.subject = std::move(subject);
  m.body = std::move(body);
  m.request_id = r.id;
  return m;
}

Message ToSubject(const Request& r, std::string subject, std::string body) {
  Message m;
  m.channel = "email";
  if (!r.subject.email.empty()) m.to = {r.subject.email};
  m.subject = std::move(subject);
  m.body = std::move(body);
  m.request_id = r.id;
  return m;
}

std::string Kind(const Request& r) {
  switch (r.type) {
    case RequestType::kAccess: return "access to your personal data";
    case RequestType::kPortability: return "a portable copy of your personal data";
    case RequestType::kErasure: return "erasure of your personal data";
    case RequestType::kRectification: return "rectification of your personal data";
    case RequestType::kRestriction: return "restriction of processing of your personal data";
    case RequestType::kObjection: return "your objection to processing of your personal data";
  }
  return "your request";
}

std::string Summary(const Request& r) {
  return "Request:    " + r.id + "\nType:       " + std::string(ToString(r.type)) +
         "\nRegulation: " + std::string(ToString(r.regulation)) + "\nStatus:     " + std::string(ToString(r.status)) +
         "\nReceived:   " + FormatRfc3339(r.received_at) + "\nDue:        " + r.due_date + " (" +
         FormatRfc3339(r.due_at) + ")" + (r.extended ? ", extended" : "") +
         "\nAssignee:   " + r.assignee.value_or("(none)") + "\n";
}

std::string Signature() { return "\n--\nThis message was sent automatically by the privacy team's request system.\n"; }

std::string Rights(const Request& r) {
  if (r.regulation == Regulation::kCcpa || r.regulation == Regulation::kUsState) {
    return "If you disagree, you may contact the state Attorney General or the privacy\n"
           "protection agency of your state.\n";
  }
  return "You have the right to lodge a complaint with a data protection supervisory\n"
         "authority and to seek a judicial remedy.\n";
}

}  // namespace

Message NewRequestMail(const Notifier& n, const Request& r) {
  return ToOperators(
      n, r, "[privacy] New " + std::string(ToString(r.type)) + " request " + r.id,
      "A new data subject request arrived.\n\n" + Summary(r) + "\nOpen it: " + InboxLink(n, r) + "\n" + Signature());
}

Message ReminderMail(const Notifier& n, const Request& r, Time now) {
  int64_t days = DaysLeft(r.due_at, now);
  return ToOperators(
      n, r, "[privacy] Request " + r.id + " is due in " + std::to_string(days) + " day" + (days == 1 ? "" : "s"),
      "This request is not finished and its legal deadline is near.\n\n" + Summary(r) +
          "\nOpen it: " + InboxLink(n, r) + "\n" + Signature());
}

Message OverdueMail(const Notifier& n, const Request& r, Time now) {
  int64_t days = -DaysLeft(r.due_at, now);
  return ToOperators(n, r, "[privacy] OVERDUE: request " + r.id + " (" + std::to_string(days) + " days late)",
                     "This request is past its legal deadline and still open.\n\n" + Summary(r) +
                         "\nOpen it: " + InboxLink(n, r) + "\n" + Signature());
}

Message FailedMail(const Notifier& n, const Request& r, const std::string& error) {
  return ToOperators(n, r, "[privacy] Request " + r.id + " failed",
                     "Executing this request failed. Fix the cause and retry it; its deadline still runs.\n\n"
                     "Error: " +
                         error + "\n\n" + Summary(r) + "\nOpen it: " + InboxLink(n, r) + "\n" + Signature());
}

Message AcknowledgeDueMail(const Notifier& n, const Request& r, const std::string& ack_by_date) {
  return ToOperators(n, r, "[privacy] Acknowledge receipt of request " + r.id + " by " + ack_by_date,
                     "CCPA requires confirming receipt within 10 business days (by " + ack_by_date +
                         ").\nThe subject has no email address on file, so Lethe cannot send the\n"
                         "acknowledgement itself: please confirm receipt another way and note it.\n\n" +
                         Summary(r) + "\nOpen it: " + InboxLink(n, r) + "\n" + Signature());
}

Message AcknowledgementMail(const Request& r) {
  return ToSubject(r, "We received your privacy request " + r.id,
                   "We received your request for " + Kind(r) + ".\n\nReference: " + r.id +
                       "\nReceived:  " + FormatRfc3339(r.received_at) + "\nWe will respond by " + r.due_date +
                       ".\n\nWe may need to verify your identity before acting on it.\n" + Signature());
}

Message ExtensionMail(const Request& r) {
  return ToSubject(r, "Your privacy request " + r.id + ": more time needed",
                   "We need more time to complete your request for " + Kind(r) + ".\n\nReference: " + r.id +
                       "\nNew date:  " + r.due_date + "\nReason:    " + r.extension_reason + "\n\n" + Rights(r) +
                       Signature());
}

Message DeniedMail(const Request& r, const std::string& reason) {
  return ToSubject(r, "Your privacy request " + r.id + " was refused",
                   "We cannot act on your request for " + Kind(r) + ".\n\nReference: " + r.id +
                       "\nReason:    " + reason + "\n\n" + Rights(r) + Signature());
}

// An erasure's receipt in words: what the law makes us keep, until when,
// and by when backups holding the data are gone (docs/retention.md).
static std::string ErasureReceipt(const Request& r) {
  if (r.type != RequestType::kErasure || !r.result.is_object()) return "";
  std::string out;
  for (const auto& k : r.result.value("kept_items", json::array())) {
    if (!k.is_object()) continue;
    std::string until = k.contains("until") && k["until"].is_string() ? k["until"].get<std::string>()
                                                                      : std::string("the end of the legal period");
    std::string why = k.value("note", std::string());
    if (why.empty()) why = k.value("basis", std::string());
    out += "- " + std::to_string(k.value("records", int64_t{0})) + " " + k.value("collection", std::string()) +
           ", kept until " + until + (why.empty() ? "" : ", " + why) + "\n";
  }
  if (!out.empty()) {
    out = "\nThe law requires us to keep some records for a while; we delete them when that period ends:\n" + out;
  }
  if (r.result.contains("backups") && r.result["backups"].is_object() && r.result["backups"].contains("gone_by")) {
    out += "\nCopies in our backups are gone by " + r.result["backups"].value("gone_by", std::string()) + ".\n";
  }
  return out;
}

Message CompletedMail(const Request& r) {
  return ToSubject(r, "Your privacy request " + r.id + " is complete",
                   "We have completed your request for " + Kind(r) + ".\n\nReference: " + r.id + "\n" +
                       ErasureReceipt(r) + Signature());
}

Message VerificationCodeMail(const Request& r) {
  Message m = ToSubject(r, "Your verification code for privacy request " + r.id,
                        "To confirm that you made this request for " + Kind(r) + ", enter this code:\n\n    " +
                            std::string(kSecretPlaceholder) + "\n\nReference: " + r.id +
                            "\nThe code expires in 15 minutes. If you did not make this request, ignore this\n"
                            "message: nothing will happen without the code.\n" +
                            Signature());
  m.secret = {{"kind", "verify_code"}};
  return m;
}

Message DownloadLinkMail(const Request& r, Time expires_at) {
  Message m = ToSubject(r, "Your data from privacy request " + r.id + " is ready",
                        "The copy of your personal data you asked for is ready.\n\nDownload it here (the link works "
                        "until " +
                            FormatRfc3339(expires_at) + "):\n\n    " + std::string(kSecretPlaceholder) +
                            "\n\nReference: " + r.id +
                            "\nDo not forward this link: anyone who has it can download "
                            "the file.\n" +
                            Signature());
  m.secret = {{"kind", "download_link"}, {"expires_at", FormatRfc3339(expires_at)}};
  return m;
}

Message RecipientNotice(const Recipient& to, const Request& r, const std::string& subject_ref) {
  json payload = {{"event", "art19_notice"},
                  {"request_id", r.id},
                  {"type", ToString(r.type)},
                  {"subject_ref", subject_ref},
                  {"completed_at", r.completed_at ? json(FormatRfc3339(*r.completed_at)) : json(nullptr)}};
  // Rectification: the receiver needs to know which fields changed, not the values.
  if (r.type == RequestType::kRectification && r.params.is_object()) {
    json fields = json::array();
    for (auto it = r.params.begin(); it != r.params.end(); ++it) fields.push_back(it.key());
    payload["fields"] = fields;
  }
  Message m;
  m.request_id = r.id;
  m.audit = {
      {"kind", "recipient_notified"},
      {"subject_ref", subject_ref},
      {"detail",
       {{"recipient", to.name}, {"channel", to.webhook.empty() ? "email" : "webhook"}, {"type", ToString(r.type)}}}};
  if (!to.webhook.empty()) {
    m.channel = "webhook";
    m.url = to.webhook;
    m.payload = payload.dump();
    if (!to.secret_env.empty()) {
      m.signing = "hmac";
      m.secret_env = to.secret_env;
    }
  } else {
    m.channel = "email";
    m.to = {to.email};
    m.subject = "[privacy] Art. 19 notice: " + std::string(ToString(r.type)) + " " + r.id;
    m.body = "Under Art. 19 GDPR we inform you, as a recipient of personal data, of a\n" +
             std::string(ToString(r.type)) +
             " carried out for one data subject. Please apply it to the data we\n"
             "disclosed to you.\n\n" +
             payload.dump(2) + "\n" + Signature();
  }
  return m;
}

Message StatusWebhook(const WebhookTarget& to, const Request& r, const Event& e) {
  json payload = {{"event", e.kind},
                  {"request_id", r.id},
                  {"type", ToString(r.type)},
                  {"regulation", ToString(r.regulation)},
                  {"from_status", e.from_status.empty() ? json(nullptr) : json(e.from_status)},
                  {"status", ToString(r.status)},
                  {"at", FormatRfc3339(e.at)},
                  {"due_at", FormatRfc3339(r.due_at)},
                  {"actor", e.actor}};
  Message m;
  m.channel = "webhook";
  m.url = to.url;
  m.payload = payload.dump();
  m.request_id = r.id;
  if (!to.secret_env.empty()) {
    m.signing = "hmac";
    m.secret_env = to.secret_env;
  }
  return m;
}

Message OpenDsrCallback(const Notifier& n, const std::string& url, const Request& r) {
  json payload = {{"controller_id", n.opendsr_controller_id()},
                  {"expected_completion_time", FormatRfc3339(r.due_at)},
                  {"status_callback_url", url},
                  {"subject_request_id", r.external_id.empty() ? r.id : r.external_id},
                  {"request_status", OpenDsrStatus(r.status)},
                  {"api_version", "2.0"}};
  Message m;
  m.channel = "webhook";
  m.url = url;
  m.payload = payload.dump();
  m.signing = "opendsr";
  m.request_id = r.id;
  return m;
}

}  // namespace lethe::notify
