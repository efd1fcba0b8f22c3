#include "http/handlers_common.h"

#include <filesystem>
#include <system_error>

#include <spdlog/spdlog.h>

#include "http/limits.h"
#include "http/parse.h"

namespace lethe::http {

nlohmann::json EventJson(const Event& e, bool subject_view) {
  nlohmann::json j = {{"at", FormatRfc3339(e.at)}, {"kind", e.kind}};
  std::string actor = e.actor;
  if (subject_view && actor != "subject" && actor != "system") actor = "operator";
  j["actor"] = actor;
  if (!e.reason.empty()) j["reason"] = e.reason;
  if (!e.from_status.empty()) j["from"] = e.from_status;
  if (!e.to_status.empty()) j["to"] = e.to_status;
  return j;
}

nlohmann::json TaskJson(const Task& t) {
  nlohmann::json j = {{"connector", t.connector}, {"collection", t.collection},
                      {"action", t.action},       {"status", t.status},
                      {"rows", t.rows},           {"attempts", t.attempts}};
  if (!t.error.empty()) j["error"] = t.error;
  if (!t.detail.empty()) j["detail"] = t.detail;
  return j;
}

namespace {
// What a subject sees instead of an internal failure text (connector errors
// carry server paths, hosts and database messages; operators see those).
constexpr const char* kPlainFailure = "processing failed; the privacy team has been told and will follow up";
}  // namespace

void HideInternals(nlohmann::json& request_json) {
  request_json.erase("note");
  request_json.erase("assignee");
  auto result = request_json.find("result");
  if (result != request_json.end() && result->is_object() && result->contains("error"))
    (*result)["error"] = kPlainFailure;
}

Result<nlohmann::json> DetailJson(Service& s, const Request& r, Time now, bool subject_view) {
  nlohmann::json j = r.ToJson(now);
  LETHE_ASSIGN_OR_RETURN(auto events, s.store().Events(r.id));
  LETHE_ASSIGN_OR_RETURN(auto tasks, s.store().Tasks(r.id));
  nlohmann::json ev = nlohmann::json::array();
  for (const Event& e : events) {
    // Notes and assignments are the operators' working notes, not the subject's business.
    if (subject_view && (e.kind == "note" || e.kind == "noted" || e.kind == "assigned")) continue;
    nlohmann::json ej = EventJson(e, subject_view);
    if (subject_view && e.kind == "failed" && e.actor == "system" && ej.contains("reason"))
      ej["reason"] = kPlainFailure;
    ev.push_back(std::move(ej));
  }
  nlohmann::json ts = nlohmann::json::array();
  for (const Task& t : tasks) {
    nlohmann::json tj = TaskJson(t);
    if (subject_view) tj.erase("error");
    ts.push_back(std::move(tj));
  }
  j["events"] = std::move(ev);
  j["tasks"] = std::move(ts);
  if (subject_view) HideInternals(j);
  return j;
}

Reply DetailReply(Service& s, const Result<Request>& r, Time now, bool subject_view, unsigned ok_status) {
  if (!r.ok()) return Reply::Error(r.status());
  Result<nlohmann::json> j = DetailJson(s, *r, now, subject_view);
  if (!j.ok()) return Reply::Error(j.status());
  return Reply::Json(ok_status, *j);
}

Result<Request> LoadOwned(Service& s, const std::string& id, const std::string& sub) {
  Result<Request> r = s.store().Get(id);
  if (!r.ok()) {
    if (r.status().code() == Code::kNotFound) return Status::NotFound("no such request");
    return r.status();
  }
  // After an erasure the owner is a keyed pseudonym: the subject still sees
  // their receipts, nobody else does.
  if (r->owner.empty() || (r->owner != sub && r->owner != s.workflow().OwnerRef(sub)))
    return Status::NotFound("no such request");
  return r;
}

namespace {

struct ExportFile {
  std::string path;
  uintmax_t bytes = 0;
};

// The published export zip of `r`, or the status that says why there is
// none to give: 404 for a type without one or a file gone missing, 410 once
// the subject was erased, 409 until the request completes with one.
Result<ExportFile> ReadyExport(const Request& r) {
  if (r.type != RequestType::kAccess && r.type != RequestType::kPortability)
    return Status::NotFound("only access and portability requests have an export");
  ExportFile f;
  f.path = r.export_path;
  if (f.path.empty() && r.result.is_object() && r.result.contains("export_path") && r.result["export_path"].is_string())
    f.path = r.result["export_path"].get<std::string>();
  // The subject was erased since: the export went with the rest (410, not
  // 404: the link was real, the data is gone for good).
  if (r.result.is_object() && r.result.value("export_erased", false))
    return Status::Gone("this export was deleted when the subject's data was erased");
  if (r.status != RequestStatus::kCompleted || f.path.empty())
    return Status::Conflict("the export is not ready: request is \"" + std::string(ToString(r.status)) + "\"");
  std::error_code ec;
  f.bytes = std::filesystem::file_size(f.path, ec);
  if (ec || !std::filesystem::is_regular_file(f.path, ec)) return Status::NotFound("the export is no longer available");
  return f;
}

// A "downloaded" audit entry: who took the export, by which way, how big.
Status RecordDownload(Service& s, const Request& r, const std::string& actor, Time now, const std::string& via,
                      uintmax_t bytes) {
  AuditEntry a;
  a.at = now;
  a.request_id = r.id;
  a.kind = "downloaded";
  a.actor = actor;
  a.subject_ref = s.workflow().SubjectRef(r.subject);
  a.detail = {{"via", via}, {"bytes", bytes}};
  return s.store().AppendAudit(a);
}

}  // namespace

Reply ExportReply(Service& s, const Request& r, const std::string& actor, Time now, const std::string& via) {
  Result<ExportFile> file = ReadyExport(r);
  if (!file.ok()) return Reply::Error(file.status());
  // No audit entry, no download: the log must show every disclosure.
  Status st = RecordDownload(s, r, actor, now, via, file->bytes);
  if (!st.ok()) return Reply::Error(st);
  Reply rep;
  rep.status = 200;
  rep.content_type = "application/zip";
  rep.file_path = file->path;
  rep.headers.emplace_back("Content-Disposition", "attachment; filename=\"" + r.id + ".zip\"");
  rep.headers.emplace_back("Cache-Control", "no-store");
  return rep;
}

Result<RequestFilter> ParsePageRequest(const Query& query) {
  RequestFilter f;
  auto it = query.find("limit");
  if (it != query.end()) {
    int v = 0;
    try {
      size_t used = 0;
      v = std::stoi(it->second, &used);
      if (used != it->second.size()) v = 0;
    } catch (...) {
      v = 0;
    }
    if (v < 1 || v > kMaxPageSize)
      return Status::Invalid("limit must be an integer from 1 to " + std::to_string(kMaxPageSize), "/query/limit");
    f.limit = v;
  }
  it = query.find("cursor");
  if (it != query.end()) {
    // A cursor is what next_cursor gave: "<unix seconds>.<request id>".
    // Anything else is the client's mistake, told as such before the store
    // sees it (a 30-digit number once escaped as a 500).
    const std::string& c = it->second;
    const size_t dot = c.find('.');
    bool ok = c.size() <= 200 && dot != std::string::npos && dot >= 1 && dot <= 18 && dot + 1 < c.size();
    for (size_t i = 0; ok && i < dot; ++i) ok = c[i] >= '0' && c[i] <= '9';
    for (size_t i = dot + 1; ok && i < c.size(); ++i)
      ok = static_cast<unsigned char>(c[i]) > 0x20 && static_cast<unsigned char>(c[i]) < 0x7f;
    if (!ok) return Status::Invalid("malformed cursor; pass next_cursor from the previous page", "/query/cursor");
    f.cursor = c;
  }
  return f;
}

Result<RequestPage> ListPage(Service& s, const RequestFilter& f) {
  Result<RequestPage> page = s.store().List(f);
  if (!page.ok() && page.status().field() == "/cursor")
    return Status::Invalid(page.status().message(), "/query/cursor");
  return page;
}

nlohmann::json PageJson(const RequestPage& page, Time now) {
  nlohmann::json items = nlohmann::json::array();
  for (const Request& r : page.items) items.push_back(r.ToJson(now));
  nlohmann::json j = {{"items", std::move(items)}};
  j["next_cursor"] = page.next_cursor.empty() ? nlohmann::json(nullptr) : nlohmann::json(page.next_cursor);
  return j;
}

}  // namespace lethe::http
