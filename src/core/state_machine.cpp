#include "lethe/state_machine.h"

#include <array>
#include <initializer_list>

namespace lethe {
namespace {

using S = RequestStatus;

struct Rule {
  Action action;
  std::initializer_list<S> from;
  S to;                // ignored when `stays` or for resume
  bool stays = false;  // the action does not move the status
};

// The whole state machine. Read a row as "action: from any of these -> to".
const std::array<Rule, 14> kRules{{
    {Action::kVerify, {S::kUnverified}, S::kPending},
    // Proving a further identity (a user id after the email) adds to what data
    // may be found through; it does not move the request.
    {Action::kVerify, {S::kPending, S::kApproved, S::kOnHold}, S::kPending, true},
    {Action::kApprove, {S::kPending}, S::kApproved},
    {Action::kDeny, {S::kUnverified, S::kPending, S::kApproved, S::kOnHold}, S::kDenied},
    {Action::kHold, {S::kUnverified, S::kPending, S::kApproved}, S::kOnHold},
    {Action::kResume, {S::kOnHold}, S::kPending /* the held-from status */},
    // From in_progress only by an admin, with a reason (Workflow::Act).
    {Action::kCancel, {S::kUnverified, S::kPending, S::kApproved, S::kOnHold, S::kInProgress}, S::kCancelled},
    {Action::kStart, {S::kApproved, S::kInProgress /* resume after a crash */}, S::kInProgress},
    {Action::kComplete, {S::kInProgress}, S::kCompleted},
    {Action::kFail, {S::kInProgress}, S::kFailed},  // the worker, or an admin stopping a stuck request
    {Action::kRetry, {S::kFailed}, S::kApproved},
    {Action::kExtend, {S::kUnverified, S::kPending, S::kApproved, S::kInProgress, S::kOnHold}, S::kPending, true},
    {Action::kAssign,
     {S::kUnverified, S::kPending, S::kApproved, S::kInProgress, S::kOnHold, S::kFailed},
     S::kPending,
     true},
    {Action::kNote,
     {S::kUnverified, S::kPending, S::kApproved, S::kInProgress, S::kOnHold, S::kFailed, S::kCompleted, S::kDenied,
      S::kCancelled},
     S::kPending,
     true},
}};

constexpr std::array<std::pair<Action, std::string_view>, 13> kNames{{
    {Action::kVerify, "verify"},
    {Action::kApprove, "approve"},
    {Action::kDeny, "deny"},
    {Action::kHold, "hold"},
    {Action::kResume, "resume"},
    {Action::kCancel, "cancel"},
    {Action::kStart, "start"},
    {Action::kComplete, "complete"},
    {Action::kFail, "fail"},
    {Action::kRetry, "retry"},
    {Action::kExtend, "extend"},
    {Action::kAssign, "assign"},
    {Action::kNote, "note"},
}};

}  // namespace

std::string_view ToString(Action a) {
  for (const auto& [v, s] : kNames)
    if (v == a) return s;
  return "unknown";
}

std::optional<Action> ParseAction(std::string_view s) {
  for (const auto& [v, name] : kNames)
    if (name == s) return v;
  return std::nullopt;
}

Result<RequestStatus> NextStatus(RequestStatus from, Action action, RequestStatus held_from) {
  for (const Rule& r : kRules) {
    if (r.action != action) continue;
    for (S s : r.from) {
      if (s != from) continue;
      if (r.stays) return from;
      if (action == Action::kResume) return held_from;
      return r.to;
    }
  }
  return Status::Conflict("cannot " + std::string(ToString(action)) + " a request that is \"" +
                          std::string(ToString(from)) + "\"");
}

}  // namespace lethe
