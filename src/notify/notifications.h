// Wires notifications to the workflow: a listener that turns committed
// request events into outbox entries (never sending inline: listeners run on
// the request path, outside the transaction, and must stay fast).
//
//  received (channel "email", unverified)   -> verification code to the subject
//  received (CCPA)                          -> receipt acknowledgement to the subject
//  received                                 -> "new request" mail to operators
//  extended                                 -> extension notice with reason to the subject
//  denied                                   -> refusal with reason and rights to the subject
//  completed access/portability             -> download link to the subject (once per request)
//  completed erasure/rectification/restriction
//                                           -> Art. 19 notice to every configured recipient
//                                              (audit "recipient_notified" on delivery)
//  completed (other types)                  -> completion notice to the subject
//  failed                                   -> mail to operators with the error
//  every status change                      -> notify.webhooks (signed X-Lethe-Signature)
//                                              and OpenDSR status callbacks to
//                                              request.status_callback_urls
#pragma once

#include "lethe/config.h"
#include "lethe/workflow.h"
#include "notify/notifier.h"

namespace lethe {

// `notifier` and `config` must outlive `wf`.
void AttachNotifications(Workflow& wf, Notifier& notifier, const Config& config);

// The OpenDSR request_status for a Lethe status: pending, in_progress,
// completed or cancelled (denied requests are reported as cancelled).
std::string OpenDsrStatus(RequestStatus s);

}  // namespace lethe
