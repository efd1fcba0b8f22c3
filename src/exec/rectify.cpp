// GraphExecutor: rectification, restriction and objection (see graph_executor.h).
#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include <spdlog/spdlog.h>

#include "exec/graph_executor.h"
#include "exec/util.h"

namespace lethe::exec {

using nlohmann::json;

// Rectification and restriction write the same way: the keys found up front,
// opt_.batch at a time, the task done once all are written (a retry redoes
// the whole task; Update is idempotent).
Status GraphExecutor::UpdateInBatches(Work& w, const GraphNode& node, const json& set) {
  LETHE_RETURN_IF_ERROR(MarkRunning(w));
  int64_t rows = 0;
  const size_t batch = std::max<size_t>(opt_.batch, 1);
  for (size_t start = 0; start < w.keys.size(); start += batch) {
    const size_t end = std::min(w.keys.size(), start + batch);
    auto n = node.connector->Update(*node.spec, {w.keys.begin() + start, w.keys.begin() + end}, set);
    if (!n.ok()) return MarkFailed(w, n.status());
    rows += *n;
  }
  return MarkDone(w, rows);
}

// params: {"field": "new value", ...}, or {"fields": {...}, "collection":
// "connector.collection"} to correct one collection only. A field may be
// corrected only where it is listed in that collection's "rectify".
Result<Outcome> GraphExecutor::Rectify(const Request& r) {
  const auto& nodes = g_->nodes();
  json fields = r.params;
  std::string only;
  std::string base = "/params";
  if (r.params.contains("fields")) {
    fields = r.params["fields"];
    base = "/params/fields";
    if (r.params.contains("collection")) {
      if (!r.params["collection"].is_string())
        return Status::Invalid("must be \"connector.collection\"", "/params/collection");
      only = r.params["collection"].get<std::string>();
    }
  }
  if (!fields.is_object() || fields.empty()) return Status::Invalid("rectification needs the fields to correct", base);
  std::vector<json> set(nodes.size(), json::object());
  bool known_collection = only.empty();
  for (const auto& [field, value] : fields.items()) {
    if (value.is_object() || value.is_array())
      return Status::Invalid("must be a single value", base + "/" + exec::PointerToken(field));
    bool allowed = false;
    for (size_t i = 0; i < nodes.size(); ++i) {
      if (!only.empty() && nodes[i].id != only) continue;
      known_collection = true;
      const auto& rect = nodes[i].spec->rectify;
      if (std::find(rect.begin(), rect.end(), field) != rect.end()) {
        set[i][field] = value;
        allowed = true;
      }
    }
    if (!known_collection) return Status::Invalid("unknown collection \"" + only + "\"", "/params/collection");
    if (!allowed) {
      return Status::Invalid("field \"" + field + "\" may not be rectified (not listed in any collection's rectify)",
                             base + "/" + exec::PointerToken(field));
    }
  }
  FoundValues found;
  LETHE_ASSIGN_OR_RETURN(auto prepared, Prepare(
                                            r, "rectify", [&](size_t i) { return !set[i].empty(); }, &found));
  Outcome out;
  out.type = r.type;
  std::set<std::string> changed_fields;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (set[i].empty()) continue;
    Work& w = prepared[i];
    if (w.task.status != "done") {
      w.task.detail["fields"] = json::array();
      for (const auto& [f, v] : set[i].items()) w.task.detail["fields"].push_back(f);
      LETHE_RETURN_IF_ERROR(UpdateInBatches(w, nodes[i], set[i]));
    }
    CollectionOutcome line;
    line.connector = nodes[i].connector->name();
    line.collection = nodes[i].spec->name;
    line.rows = w.task.rows;
    for (const auto& [f, v] : set[i].items()) {
      line.fields.push_back(f);
      if (w.task.rows > 0) changed_fields.insert(f);
    }
    out.collections.push_back(std::move(line));
  }
  out.fields_changed.assign(changed_fields.begin(), changed_fields.end());
  out.recipients_to_notify = RecipientNames();
  return out;
}

Result<Outcome> GraphExecutor::Restrict(const Request& r) {
  const auto& nodes = g_->nodes();
  FoundValues found;
  auto include = [&](size_t i) { return nodes[i].spec->restrict_set.is_object(); };
  LETHE_ASSIGN_OR_RETURN(auto prepared, Prepare(r, "restrict", include, &found));
  Outcome out;
  out.type = r.type;
  json ids = json::array();
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (!include(i)) continue;
    Work& w = prepared[i];
    if (w.task.status != "done") {
      LETHE_RETURN_IF_ERROR(UpdateInBatches(w, nodes[i], nodes[i].spec->restrict_set));
    }
    CollectionOutcome line;
    line.connector = nodes[i].connector->name();
    line.collection = nodes[i].spec->name;
    line.rows = w.task.rows;
    for (const auto& [c, v] : nodes[i].spec->restrict_set.items()) line.columns.push_back(c);
    out.collections.push_back(std::move(line));
    ids.push_back(nodes[i].id);
  }
  // The registry the host application consults before processing: keyed by
  // the subject's pseudonym, never by the clear identity.
  std::string ref = SubjectRef(opt_.hash_key, r.subject);
  if (ref.empty()) return Status::Invalid("the subject has no identity", "/subject");
  Record rec;
  rec.kind = "restriction";
  rec.key = ref;
  rec.value = {{"request_id", r.id}, {"type", ToString(r.type)}, {"at", FormatRfc3339(Now())}, {"collections", ids}};
  rec.created_at = Now();
  LETHE_RETURN_IF_ERROR(store_.PutRecord(rec));
  out.records_written = {"restriction"};
  if (r.type == RequestType::kObjection) {
    rec.kind = "objection";
    LETHE_RETURN_IF_ERROR(store_.PutRecord(rec));
    out.records_written.push_back("objection");
  }
  out.subject_ref = ref;
  out.recipients_to_notify = RecipientNames();
  return out;
}

}  // namespace lethe::exec
