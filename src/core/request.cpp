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

void Subject::Set(const std::string& kind, const std::string& value) {
  if (kind == "email")
    email = value;
  else if (kind == "user_id")
    user_id = value;
  else if (kind == "phone")
    phone = value;
  else if (value.empty())
    custom.erase(kind);
  else
    custom[kind] = value;
}

std::vector<std::string> Subject::Kinds() const {
  std::vector<std::string> out;
  if (!email.empty()) out.push_back("email");
  if (!user_id.empty()) out.push_back("user_id");
  if (!phone.empty()) out.push_back("phone");
  for (const auto& [k, v] : custom)
    if (!v.empty()) out.push_back(k);
  return out;
}

Subject Subject::Only(const std::set<std::string>& kinds) const {
  Subject out;
  for (const std::string& k : Kinds())
    if (kinds.count(k)) out.Set(k, Get(k));
  return out;
}

namespace {

bool HasControl(std::string_view s) {
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) return true;
  return false;
}

// An identity value that names a path: it could step out of (or into another
// subject's) object prefix, so it is never an identity.
bool PathLike(std::string_view v) {
  return v.find('/') != std::string_view::npos || v.find('\\') != std::string_view::npos || v == "." || v == "..";
}

}  // namespace

Status ValidateSubject(const Subject& s) {
  if (s.empty()) return Status::Invalid("at least one of email, user_id, phone is required", "/subject");
  if (!s.email.empty()) {
    const std::string& e = s.email;
    size_t at = e.find('@');
    bool ok = e.size() <= 320 && at != std::string::npos && at > 0 && at + 1 < e.size() && !HasControl(e) &&
              e.find_first_of(" /\\") == std::string::npos && e.find('@', at + 1) == std::string::npos;
    if (!ok) return Status::Invalid("not an email address", "/subject/email");
  }
  if (!s.user_id.empty()) {
    if (s.user_id.size() > 256 || HasControl(s.user_id))
      return Status::Invalid("must be at most 256 printable characters", "/subject/user_id");
    if (PathLike(s.user_id))
      return Status::Invalid("must not contain '/' or '\\' or be a dot segment", "/subject/user_id");
    if (s.user_id.front() == ' ' || s.user_id.back() == ' ')
      return Status::Invalid("must not start or end with a space", "/subject/user_id");
  }
  if (!s.phone.empty()) {
    bool ok = s.phone.size() <= 32;
    for (unsigned char c : s.phone)
      ok = ok && ((c >= '0' && c <= '9') || c == '+' || c == ' ' || c == '-' || c == '(' || c == ')');
    if (!ok) return Status::Invalid("not a phone number", "/subject/phone");
  }
  for (const auto& [k, v] : s.custom) {
    if (k == "ref") continue;  // an erasure receipt's pseudonym
    if (v.size() > 256 || HasControl(v) || PathLike(v))
      return Status::Invalid("must be at most 256 printable characters, without '/' or '\\'", "/subject/" + k);
  }
  return Status::Ok();
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
      {"verified_identities", verified_identities},
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
  // The inbox shows these plainly: they are claimed, but no data is found
  // through them until they are proved (or tied to a proved one).
  json unverified = json::array();
  for (const std::string& k : subject.Kinds())
    if (!verified_identities.count(k) && k != "ref") unverified.push_back(k);
  j["unverified_identities"] = unverified;
  j["export_available"] = !export_path.empty();
  return j;
}

}  // namespace lethe
