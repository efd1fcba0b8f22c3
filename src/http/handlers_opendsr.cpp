// OpenDSR 2.0: the request format controllers and processors exchange.
// A request is known to the caller by its own subject_request_id, a UUID
// that is only unique per controller: we keep (operator, subject_request_id)
// -> request id in a record (kind "opendsr", key "<operator>:<uuid>"), so
// one operator key can neither see nor cancel another's requests.
#include <openssl/evp.h>

#include <cctype>
#include <string_view>

#include "http/handlers_common.h"
#include "http/json_input.h"
#include "http/limits.h"
#include "http/parse.h"
#include "notify/notifications.h"
#include "notify/notifier.h"

#include "lethe/util/base64.h"

namespace lethe::http {
namespace {

bool HasControl(std::string_view v) {
  for (unsigned char c : v)
    if (c < 0x20 || c == 0x7f) return true;
  return false;
}

// The shapes the inbox refuses (handlers_inbox.cpp CheckSubject), for one
// OpenDSR identity. Local until core has one subject validator for every
// intake.
Status CheckIdentity(const std::string& kind, const std::string& value, const std::string& pointer) {
  if (value.size() > 320) return Status::Invalid("too long", pointer);
  if (HasControl(value)) return Status::Invalid("must not contain control characters", pointer);
  if (kind == "email") {
    size_t at = value.find('@');
    bool ok = at != std::string::npos && at > 0 && at + 1 < value.size() && value.find(' ') == std::string::npos &&
              value.find('@', at + 1) == std::string::npos;
    if (!ok) return Status::Invalid("not an email address", pointer);
  } else if (value.size() > 256) {
    return Status::Invalid("must be at most 256 characters", pointer);
  }
  return Status::Ok();
}

}  // namespace

bool IsUuid(std::string_view v) {
  if (v.size() != 36) return false;
  for (size_t i = 0; i < v.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? v[i] != '-' : !std::isxdigit(static_cast<unsigned char>(v[i]))) return false;
  }
  return true;
}

Result<NewRequest> ParseOpenDsrCreateRequest(std::string_view body, Time now, const CallbackUrlCheck& check_url) {
  LETHE_ASSIGN_OR_RETURN(auto parsed, ParseObject(body, false));
  const nlohmann::json& b = parsed;
  LETHE_RETURN_IF_ERROR(
      OnlyFields(b, {"api_version", "regulation", "subject_request_id", "subject_request_type", "subject_identities",
                     "submitted_time", "status_callback_urls", "property_id", "extensions"}));

  std::string version = "2.0";
  LETHE_RETURN_IF_ERROR(GetString(b, "api_version", &version, false));
  if (version != "2.0") return Status::Invalid("only api_version 2.0 is supported", "/api_version");

  NewRequest in;
  in.channel = "opendsr";
  in.verified = true;  // the controller verified its subject before sending
  LETHE_RETURN_IF_ERROR(GetString(b, "subject_request_id", &in.external_id, true));
  if (!IsUuid(in.external_id)) return Status::Invalid("must be a UUID (8-4-4-4-12 hex digits)", "/subject_request_id");

  std::string type;
  LETHE_RETURN_IF_ERROR(GetString(b, "subject_request_type", &type, true));
  // OpenDSR's three types carry Lethe's names; the others have no OpenDSR form.
  std::optional<RequestType> t = ParseRequestType(type);
  if (!t || (*t != RequestType::kErasure && *t != RequestType::kAccess && *t != RequestType::kPortability))
    return Status::Invalid("must be erasure, access or portability", "/subject_request_type");
  in.type = *t;

  std::string reg;
  LETHE_RETURN_IF_ERROR(GetString(b, "regulation", &reg, false));
  if (!reg.empty()) {
    in.regulation = ParseRegulation(reg);
    if (!in.regulation || *in.regulation == Regulation::kCustom)
      return Status::Invalid("unknown regulation \"" + reg + "\"", "/regulation");
  }

  auto ids = b.find("subject_identities");
  if (ids == b.end() || !ids->is_array() || ids->empty())
    return Status::Invalid("at least one identity is required", "/subject_identities");
  for (size_t i = 0; i < ids->size(); ++i) {
    const std::string p = "/subject_identities/" + std::to_string(i);
    const nlohmann::json& id = (*ids)[i];
    if (!id.is_object()) return Status::Invalid("must be an object", p);
    LETHE_RETURN_IF_ERROR(OnlyFields(id, {"identity_type", "identity_value", "identity_format"}, p));
    std::string kind, value, format = "raw";
    LETHE_RETURN_IF_ERROR(GetString(id, "identity_type", &kind, true, p));
    LETHE_RETURN_IF_ERROR(GetString(id, "identity_value", &value, true, p));
    LETHE_RETURN_IF_ERROR(GetString(id, "identity_format", &format, false, p));
    // Hashed identities cannot be matched against the data graph's columns.
    if (format != "raw") return Status::Invalid("only \"raw\" is supported", p + "/identity_format");
    // Only the types discovery lists; the value is not echoed (it is PII).
    if (kind != "email" && kind != "controller_customer_id")
      return Status::Invalid("unsupported identity_type (see /opendsr/discovery)", p + "/identity_type");
    LETHE_RETURN_IF_ERROR(CheckIdentity(kind, value, p + "/identity_value"));
    (kind == "email" ? in.subject.email : in.subject.user_id) = value;
  }

  LETHE_RETURN_IF_ERROR(GetTime(b, "submitted_time", &in.received_at));
  if (in.received_at && *in.received_at > now + kClockSkew)
    return Status::Invalid("must not be in the future", "/submitted_time");

  if (b.contains("status_callback_urls")) {
    const nlohmann::json& urls = b["status_callback_urls"];
    if (!urls.is_array()) return Status::Invalid("must be an array of URLs", "/status_callback_urls");
    for (size_t i = 0; i < urls.size(); ++i) {
      const std::string p = "/status_callback_urls/" + std::to_string(i);
      if (!urls[i].is_string()) return Status::Invalid("must be a URL", p);
      std::string u = urls[i];
      if (u.size() > 2048 || HasControl(u)) return Status::Invalid("must be an https URL", p);
      Status ok = check_url(u);
      if (!ok.ok()) return Status::Invalid(ok.message(), p);
      in.status_callback_urls.push_back(u);
    }
  }
  if (b.contains("extensions") && !b["extensions"].is_object())
    return Status::Invalid("must be an object", "/extensions");
  return in;
}

namespace {

using bhttp::verb;
constexpr const char* kKind = "opendsr";

std::string ControllerId(Service& s) { return s.notifier() ? s.notifier()->opendsr_controller_id() : std::string(); }

// `received_time` is when this answer's event happened: the filing, or for
// a cancellation the cancelling (OpenDSR 2.0 "cancel").
nlohmann::json StatusJson(Service& s, const Request& r, Time received) {
  nlohmann::json j = {{"api_version", "2.0"},
                      {"subject_request_id", r.external_id},
                      {"request_status", OpenDsrStatus(r.status)},
                      {"expected_completion_time", FormatRfc3339(r.due_at)},
                      {"received_time", FormatRfc3339(received)}};
  const std::string cid = ControllerId(s);
  if (!cid.empty()) j["controller_id"] = cid;
  return j;
}
nlohmann::json StatusJson(Service& s, const Request& r) { return StatusJson(s, r, r.created_at); }

// Signs the response body when a processor key is configured (OpenDSR 8.6),
// under the OpenDSR names and the legacy OpenGDPR ones, as callbacks do:
// controllers built for OpenGDPR 1.x look only for X-OpenGDPR-*.
Reply Signed(Service& s, unsigned status, const nlohmann::json& j) {
  Reply r = Reply::Json(status, j);
  if (s.notifier() && s.notifier()->can_sign_opendsr()) {
    Result<std::string> sig = s.notifier()->SignOpenDsr(r.body);
    if (sig.ok()) {
      r.headers.emplace_back("X-OpenDSR-Signature", *sig);
      r.headers.emplace_back("X-OpenGDPR-Signature", *sig);
    }
  }
  if (s.notifier() && !s.notifier()->opendsr_domain().empty()) {
    r.headers.emplace_back("X-OpenDSR-Processor-Domain", s.notifier()->opendsr_domain());
    r.headers.emplace_back("X-OpenGDPR-Processor-Domain", s.notifier()->opendsr_domain());
  }
  return r;
}

std::string RecordKey(const Principal& p, std::string_view srid) {
  std::string id(srid);
  for (char& c : id) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return p.name + ":" + id;
}

// Another operator's id, an unknown id and a malformed one all look alike.
Result<Request> Lookup(Service& s, const Principal& p, const std::string& srid) {
  if (!IsUuid(srid)) return Status::NotFound("no such subject_request_id");
  LETHE_ASSIGN_OR_RETURN(auto rec, s.store().GetRecord(kKind, RecordKey(p, srid)));
  if (!rec.has_value() || (*rec).value.value("request_id", "").empty())
    return Status::NotFound("no such subject_request_id");
  return s.store().Get((*rec).value["request_id"].get<std::string>());
}

Reply Discovery(Service& s, Context&) {
  nlohmann::json j = {{"api_version", "2.0"},
                      {"supported_identities",
                       {{{"identity_type", "email"}, {"identity_format", "raw"}},
                        {{"identity_type", "controller_customer_id"}, {"identity_format", "raw"}}}},
                      {"supported_subject_request_types", {"access", "portability", "erasure"}},
                      {"supported_regulations", {"gdpr", "uk_gdpr", "ccpa", "lgpd", "us_state"}}};
  if (s.notifier() && !s.notifier()->opendsr_certificate_url().empty())
    j["processor_certificate"] = s.notifier()->opendsr_certificate_url();
  return Reply::Json(200, j);
}

// Files `in` once per (operator, subject_request_id): the id is claimed
// first, so a controller that retries gets the request it already filed,
// never a second one.
Result<Request> FileOnce(Service& s, const Principal& p, const NewRequest& in, Time now) {
  Record claim;
  claim.kind = kKind;
  claim.key = RecordKey(p, in.external_id);
  claim.value = {{"request_id", ""}, {"operator", p.name}};
  claim.created_at = now;
  LETHE_ASSIGN_OR_RETURN(auto claimed, s.store().PutRecordIfAbsent(claim));
  if (!claimed) {
    Result<Request> existing = Lookup(s, p, in.external_id);
    if (!existing.ok()) return Status::Conflict("subject_request_id is being filed; retry shortly");
    return existing;
  }
  Result<Request> r = s.workflow().Submit(in, p.Actor());
  if (!r.ok()) {
    (void)s.store().DeleteRecord(kKind, claim.key);
    return r.status();
  }
  claim.value = {{"request_id", r->id}, {"operator", p.name}};
  if (Status put = s.store().PutRecord(claim); !put.ok()) return put;
  return r;
}

// The filing's answer carries the filing back (OpenDSR "encoded_request").
Reply FiledReply(Service& s, const Request& r, std::string_view body) {
  nlohmann::json j = StatusJson(s, r);
  j["encoded_request"] = util::Base64Encode(body);
  return Signed(s, 201, j);
}

Reply Create(Service& s, Context& ctx) {
  CallbackUrlCheck check_url = [&s](const std::string& u) {
    return s.notifier() ? s.notifier()->CheckCallbackUrl(u) : Status::Unavailable("no notifier to send callbacks with");
  };
  Result<NewRequest> in = ParseOpenDsrCreateRequest(ctx.req.body(), ctx.now, check_url);
  if (!in.ok()) return Reply::Error(in.status());
  Result<Request> r = FileOnce(s, ctx.principal, *in, ctx.now);
  if (!r.ok()) return Reply::Error(r.status());
  return FiledReply(s, *r, ctx.req.body());
}

Reply Get(Service& s, Context& ctx) {
  Result<Request> r = Lookup(s, ctx.principal, ctx.params["id"]);
  if (!r.ok()) return Reply::Error(r.status());
  return Signed(s, 200, StatusJson(s, *r));
}

// OpenDSR 2.0 cancel: 202 Accepted, received_time the cancellation's.
Reply Cancel(Service& s, Context& ctx) {
  Result<Request> r = Lookup(s, ctx.principal, ctx.params["id"]);
  if (!r.ok()) return Reply::Error(r.status());
  Result<Request> done = s.workflow().Act(r->id, Action::kCancel, ctx.principal.Actor(), "cancelled via OpenDSR");
  if (!done.ok()) return Reply::Error(done.status());
  return Signed(s, 202, StatusJson(s, *done, ctx.now));
}

}  // namespace

void AddOpenDsrRoutes(Router& r, Service& s) {
  Service* sp = &s;
  // Discovery describes capabilities only; OpenDSR has callers fetch it unauthenticated.
  r.Add(verb::get, "/opendsr/discovery", Access::kPublic, [sp](Context& c) { return Discovery(*sp, c); });
  r.Add(
      verb::post, "/opendsr/requests", Access::kAct, [sp](Context& c) { return Create(*sp, c); }, true);
  r.Add(verb::get, "/opendsr/requests/{id}", Access::kRead, [sp](Context& c) { return Get(*sp, c); });
  r.Add(verb::delete_, "/opendsr/requests/{id}", Access::kAct, [sp](Context& c) { return Cancel(*sp, c); });
}

}  // namespace lethe::http
