// The Request: one data-subject-rights request and everything the engine
// knows about it. Plain data; behaviour lives in state_machine.h, deadline.h
// and the Store.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "lethe/status.h"
#include "lethe/time.h"

namespace lethe {

enum class RequestType { kAccess, kPortability, kErasure, kRectification, kRestriction, kObjection };
enum class RequestStatus {
  kUnverified,
  kPending,
  kApproved,
  kInProgress,
  kCompleted,
  kFailed,
  kDenied,
  kCancelled,
  kOnHold
};
enum class Regulation { kGdpr, kUkGdpr, kCcpa, kLgpd, kUsState, kCustom };

std::string_view ToString(RequestType t);
std::string_view ToString(RequestStatus s);
std::string_view ToString(Regulation r);
std::optional<RequestType> ParseRequestType(std::string_view s);
std::optional<RequestStatus> ParseRequestStatus(std::string_view s);
std::optional<Regulation> ParseRegulation(std::string_view s);
// completed, denied, cancelled: nothing more will happen (failed can be retried).
bool IsTerminal(RequestStatus s);

// Who the request is about. Every value here is PII: it is stored in the
// request table (needed to act) but never in the audit log or in logs.
struct Subject {
  std::string email;
  std::string user_id;
  std::string phone;
  std::map<std::string, std::string> custom;  // other identity kinds from config
  bool empty() const { return email.empty() && user_id.empty() && phone.empty() && custom.empty(); }
  // Identity value by kind name ("email", "user_id", "phone", or a custom kind); empty if absent.
  std::string Get(std::string_view kind) const;
  // Sets the value of a kind (empty clears it).
  void Set(const std::string& kind, const std::string& value);
  // The kinds this subject carries a value for, in a stable order.
  std::vector<std::string> Kinds() const;
  // A copy holding only the kinds in `kinds`.
  Subject Only(const std::set<std::string>& kinds) const;
};

// Refuses identity values that can only be mistakes or attacks: control
// characters, over-long values, an email that is not one, a phone with
// letters, user ids with path delimiters ('/', '\') or dot segments (they
// would reach other subjects' objects under a "{identity.user_id}/" prefix).
// Every intake goes through Workflow::Submit, which calls this; the error's
// field is "/subject/<kind>" and its text never repeats the value.
Status ValidateSubject(const Subject& s);

// One entry in a request's timeline. Every state change is one Event.
struct Event {
  int64_t id = 0;
  Time at{};
  std::string kind;                    // received, verified, approved, denied, extended, on_hold, resumed, ...
  std::string actor;                   // "subject", "system", or an operator's name
  std::string reason;                  // free text (may be empty); never the subject's PII
  std::string from_status, to_status;  // empty when the status did not change
};

// One (connector, collection, action) step of executing a request. Persisted
// so a worker that dies mid-step can resume it.
struct Task {
  int64_t id = 0;
  std::string request_id;
  std::string connector;
  std::string collection;
  std::string action;  // discover, export, erase, rectify, restrict
  std::string status;  // pending, running, done, failed
  int64_t rows = 0;    // rows/objects/lines affected
  int attempts = 0;
  std::string error;
  nlohmann::json detail = nlohmann::json::object();  // action-specific (retention basis, cursors ...)
  Time updated_at{};
};

struct Request {
  std::string id;
  RequestType type = RequestType::kAccess;
  RequestStatus status = RequestStatus::kUnverified;
  Regulation regulation = Regulation::kGdpr;
  std::string custom_sla;  // name of the custom SLA when regulation == kCustom
  std::string channel;     // self_service, email, web_form, phone, opendsr, api, cli
  Subject subject;
  std::string owner;  // JWT `sub` for self-service requests: who may see it
  // Identity (contract §3): a request is verified for the identities that were
  // proved. An emailed code proves "email" only; a JWT proves its email and
  // sub; an operator's judgement proves what the operator says. Data is found
  // only through proved identities (or ones a keyed collection ties to them,
  // see exec.h ProveIdentities). `verified` is true when any identity is.
  bool verified = false;
  std::set<std::string> verified_identities;
  Time received_at{};
  Time due_at{};         // current deadline (extended one once extended)
  std::string due_date;  // YYYY-MM-DD in the configured time zone
  bool extended = false;
  std::string extension_reason;
  int64_t paused_seconds = 0;  // clock-stopping hold time already added to due_at
  std::optional<Time> hold_since;
  RequestStatus status_before_hold = RequestStatus::kPending;
  std::string hold_reason;  // identity, clarification, other
  std::optional<std::string> assignee;
  std::optional<Time> not_before;  // erasure grace: do not execute before
  std::optional<Time> completed_at;
  std::string note;                                  // free text from whoever filed it
  nlohmann::json params = nlohmann::json::object();  // type-specific input (rectify: {"field": value})
  nlohmann::json result = nlohmann::json::object();  // outcome summary
  std::string export_path;                           // final path of the published export zip, if any
  std::string external_id;                           // OpenDSR subject_request_id
  std::vector<std::string> status_callback_urls;
  Time created_at{};
  Time updated_at{};
  int64_t version = 0;  // optimistic concurrency: bumped by every update

  // The contract's Request JSON (section 3), without tasks/events (the caller adds them).
  nlohmann::json ToJson(Time now) const;
};

}  // namespace lethe
