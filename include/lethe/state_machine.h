// The request state machine, as a table.
//
//   unverified -verify-> pending -approve-> approved -start-> in_progress -complete-> completed
//                                                                          -fail-> failed -retry-> approved
//   deny: unverified|pending|approved|on_hold -> denied
//   cancel: unverified|pending|approved|on_hold -> cancelled; in_progress -> cancelled (admin, with a reason)
//   fail: in_progress -> failed, by the worker or by an admin stopping a stuck request (with a reason)
//   hold: unverified|pending|approved -> on_hold;  resume: on_hold -> the status it was held from
//
// Actions that do not move the status (extend, assign, note) are checked here
// too so that every change to a request goes through one gate.
#pragma once

#include <string>
#include <string_view>

#include "lethe/request.h"
#include "lethe/status.h"

namespace lethe {

enum class Action {
  kVerify,
  kApprove,
  kDeny,
  kHold,
  kResume,
  kCancel,
  kStart,
  kComplete,
  kFail,
  kRetry,
  kExtend,
  kAssign,
  kNote
};

std::string_view ToString(Action a);
std::optional<Action> ParseAction(std::string_view s);

// The status `action` leads to from `from`, or a kConflict Status whose
// message names the current status: `cannot approve a request that is "denied"`.
// For resume, `held_from` is the status to return to.
Result<RequestStatus> NextStatus(RequestStatus from, Action action, RequestStatus held_from = RequestStatus::kPending);

}  // namespace lethe
