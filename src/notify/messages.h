// The texts Lethe sends: one builder per notification, shared by the
// workflow listener and the scheduler so that both produce the same message
// for the same dedupe key. Mails to operators carry the request id, type and
// dates, never the subject's identity: operators open the inbox for that.
#pragma once

#include <string>

#include "lethe/request.h"
#include "notify/notifier.h"

namespace lethe::notify {

// Operators.
Message NewRequestMail(const Notifier& n, const Request& r);
Message ReminderMail(const Notifier& n, const Request& r, Time now);
Message OverdueMail(const Notifier& n, const Request& r, Time now);
Message FailedMail(const Notifier& n, const Request& r, const std::string& error);
Message AcknowledgeDueMail(const Notifier& n, const Request& r, const std::string& ack_by_date);

// The subject (to r.subject.email).
Message AcknowledgementMail(const Request& r);
Message ExtensionMail(const Request& r);
Message DeniedMail(const Request& r, const std::string& reason);
Message CompletedMail(const Request& r);
// These two carry a secret made at send time (Message::secret): the queued
// body holds kSecretPlaceholder where the code or the link goes.
Message VerificationCodeMail(const Request& r);
Message DownloadLinkMail(const Request& r, Time expires_at);

// Art. 19 notice to one recipient. subject_ref is the audit pseudonym.
Message RecipientNotice(const Recipient& to, const Request& r, const std::string& subject_ref);

// notify.webhooks: a status change. No PII in the payload.
Message StatusWebhook(const WebhookTarget& to, const Request& r, const Event& e);

// OpenDSR 8.6 status callback to one of r.status_callback_urls.
Message OpenDsrCallback(const Notifier& n, const std::string& url, const Request& r);

}  // namespace lethe::notify
