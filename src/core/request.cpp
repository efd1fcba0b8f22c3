#include "lethe/request.h"

#include <array>
#include <utility>

#include "lethe/deadline.h"

namespace lethe {
namespace {

// One table per enum: the text form is the contract's, and parsing is the
// table read backwards, so the two can never disagree.
template <class E, size_t N>
std::string_view Name(const std::array<std::pair<E, std::string_view>, N>& table, E e) {
  for (const auto& [v, s] : table)
    if (v == e) return s;
  return "unknown";
}
template <class E, size_t N>
std::optional<E> Parse(const std::array<std::pair<E, std::string_view>, N>& table, std::string_view s) {
  for (const auto& [v, name] : table)
    if (name == s) return v;
  return std::nullopt;
}

constexpr std::array<std::pair<RequestType, std::string_view>, 6> kTypes{{
    {RequestType::kAccess, "access"},
    {RequestType::kPortability, "portability"},
    {RequestType::kErasure, "erasure"},
    {RequestType::kRectification, "rectification"},
    {RequestType::kRestriction, "restriction"},
    {RequestType::kObjection, "objection"},
}};
constexpr std::array<std::pair<RequestStatus, std::string_view>, 9> kStatuses{{
    {RequestStatus::kUnverified, "unverified"},
    {RequestStatus::kPending, "pending"},
    {RequestStatus::kApproved, "approved"},
    {RequestStatus::kInProgress, "in_progress"},
    {RequestStatus::kCompleted, "completed"},
    {RequestStatus::kFailed, "failed"},
    {RequestStatus::kDenied, "denied"},
    {RequestStatus::kCancelled, "cancelled"},
    {RequestStatus::kOnHold, "on_hold"},
}};
constexpr std::array<std::pair<Regulation, std::string_view>, 6> kRegulations{{
    {Regulation::kGdpr, "gdpr"},
    {Regulation::kUkGdpr, "uk_gdpr"},
    {Regulation::kCcpa, "ccpa"},
    {Regulation::kLgpd, "lgpd"},
    {Regulation::kUsState, "us_state"},
    {Regulation::kCustom, "custom"},
}};

}  // namespace

std::string_view ToString(RequestType t) { return Name(kTypes, t); }
std::string_view ToString(RequestStatus s) { return Name(kStatuses, s); }
std::string_view ToString(Regulation r) { return Name(kRegulations, r); }
std::optional<RequestType> ParseRequestType(std::string_view s) { return Parse(kTypes, s); }
std::optional<RequestStatus> ParseRequestStatus(std::string_view s) { return Parse(kStatuses, s); }
std::optional<Regulation> ParseRegulation(std::string_view s) { return Parse(kRegulations, s); }

bool IsTerminal(RequestStatus s) {
  return s == RequestStatus::kCompleted || s == RequestStatus::kDenied || s == RequestStatus::kCancelled;
}

std::string Subject::Get(std::string_view kind) const {
  if (kind == "email") return email;
  if (kind == "user_id") return user_id;
  if (kind == "phone") return phone;
  auto it = custom.find(std::string(kind));
  return it == custom.end() ? "" : it->second;
}

nlohmann::json Request::ToJson(Time now) const {
  using nlohmann::json;
  json subj = json::object();
  if (!subject.email.empty()) subj["email"] = subject.email;
  if (!subject.user_id.empty()) subj["user_id"] = subject.user_id;
  if (!subject.phone.empty()) subj["phone"] = subject.phone;
  for (const auto& [k, v] : subject.custom) subj[k] = v;
  json j = {
      {"id", id},
      {"type", ToString(type)},
      {"status", ToString(status)},
      {"regulation", ToString(regulation)},
      {"channel", channel},
      {"subject", subj},
      {"verified", verified},
      {"received_at", FormatRfc3339(received_at)},
      {"due_at", FormatRfc3339(due_at)},
      {"due_date", due_date},
      {"extended", extended},
      {"days_left", IsTerminal(status) ? json(nullptr) : json(DaysLeft(due_at, now))},
      {"overdue", !IsTerminal(status) && status != RequestStatus::kFailed ? due_at < now : false},
      {"assignee", assignee ? json(*assignee) : json(nullptr)},
      {"created_at", FormatRfc3339(created_at)},
      {"updated_at", FormatRfc3339(updated_at)},
  };
  if (regulation == Regulation::kCustom) j["sla"] = custom_sla;
  if (!note.empty()) j["note"] = note;
  if (!params.empty()) j["params"] = params;
  if (!result.empty()) j["result"] = result;
  if (extended && !extension_reason.empty()) j["extension_reason"] = extension_reason;
  if (status == RequestStatus::kOnHold) {
    j["hold"] = {{"reason", hold_reason}, {"since", hold_since ? FormatRfc3339(*hold_since) : ""}};
  }
  if (not_before) j["not_before"] = FormatRfc3339(*not_before);
  if (completed_at) j["completed_at"] = FormatRfc3339(*completed_at);
  if (!external_id.empty()) j["external_id"] = external_id;
  j["export_available"] = !export_path.empty();
  return j;
}

}  // namespace lethe
