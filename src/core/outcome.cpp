#include "lethe/outcome.h"

namespace lethe {
namespace {

using json = nlohmann::json;

json Optional(const std::optional<std::string>& s) { return s ? json(*s) : json(nullptr); }

json IdentitiesJson(const IdentityUse& u) { return {{"used", u.used}, {"tied", u.tied}, {"unverified", u.unverified}}; }

json ErasureLine(const CollectionOutcome& c) {
  json e = {{"connector", c.connector},
            {"collection", c.collection},
            {"action", c.action},
            {"rows", c.rows},
            {"remaining", c.remaining}};
  if (!c.retention.is_null()) {
    e["retention"] = c.retention;
    e["expired_deleted"] = c.expired_deleted.value_or(0);
  }
  return e;
}

json RetainedJson(const RetainedOutcome& r) {
  json j = r.retention.is_object() ? r.retention : json::object();
  j["connector"] = r.connector;
  j["collection"] = r.collection;
  j["rows"] = r.rows;
  j["action"] = r.action;
  j["kept"] = r.kept;
  j["until"] = Optional(r.until);
  j["expired_deleted"] = r.expired_deleted;
  j["undated"] = r.undated;
  return j;
}

json KeptJson(const KeptItem& k) {
  return {{"connector", k.connector}, {"collection", k.collection}, {"records", k.records}, {"basis", k.basis},
          {"note", k.note},           {"until", Optional(k.until)}};
}

json ErasureCounts(const Outcome& o) { return {{"deleted", o.deleted}, {"masked", o.masked}, {"kept", o.kept}}; }

json RemainingById(const Outcome& o) {
  json m = json::object();
  for (const auto& c : o.collections) m[c.id()] = c.remaining;
  return m;
}

json RowsById(const Outcome& o) {
  json m = json::object();
  for (const auto& c : o.collections) m[c.id()] = c.rows;
  return m;
}

json RetainedList(const Outcome& o) {
  json a = json::array();
  for (const auto& r : o.retained) a.push_back(RetainedJson(r));
  return a;
}

}  // namespace

json Outcome::ToJson() const {
  json out = json::object();
  switch (type) {
    case RequestType::kAccess:
    case RequestType::kPortability:
      out = {
          {"records", records}, {"objects", objects}, {"files", files}, {"sources", sources}, {"encrypted", encrypted}};
      break;
    case RequestType::kErasure: {
      out["collections"] = json::array();
      for (const auto& c : collections) out["collections"].push_back(ErasureLine(c));
      out["retained"] = RetainedList(*this);
      out["kept_items"] = json::array();
      for (const auto& k : kept_items) out["kept_items"].push_back(KeptJson(k));
      out["recipients_to_notify"] = recipients_to_notify;
      out["counts"] = ErasureCounts(*this);
      out["remaining"] = RemainingById(*this);
      out["deleted"] = deleted;
      out["masked"] = masked;
      out["kept"] = kept;
      out["verified"] = verified;
      if (backups_gone_by)
        out["backups"] = {{"retention", backups_retention.value_or("")}, {"gone_by", *backups_gone_by}};
      break;
    }
    case RequestType::kRectification:
      out["collections"] = json::array();
      for (const auto& c : collections) {
        out["collections"].push_back(
            {{"connector", c.connector}, {"collection", c.collection}, {"fields", c.fields}, {"rows", c.rows}});
      }
      out["fields"] = fields_changed;
      out["fields_changed"] = fields_changed;
      out["recipients_to_notify"] = recipients_to_notify;
      break;
    case RequestType::kRestriction:
    case RequestType::kObjection:
      out["collections"] = json::array();
      for (const auto& c : collections) {
        out["collections"].push_back(
            {{"connector", c.connector}, {"collection", c.collection}, {"columns", c.columns}, {"rows", c.rows}});
      }
      out["counts"] = RowsById(*this);
      out["records"] = records_written;
      out["subject_ref"] = subject_ref;
      out["recipients_to_notify"] = recipients_to_notify;
      break;
  }
  if (identities) out["identities"] = IdentitiesJson(*identities);
  return out;
}

json Outcome::AuditDetail() const {
  json d = json::object();
  switch (type) {
    case RequestType::kAccess:
    case RequestType::kPortability:
      d["records"] = records;
      d["files"] = files;
      break;
    case RequestType::kErasure:
      d["counts"] = ErasureCounts(*this);
      d["retained"] = RetainedList(*this);
      d["remaining"] = RemainingById(*this);
      break;
    case RequestType::kRectification: d["fields_changed"] = fields_changed; break;
    case RequestType::kRestriction:
    case RequestType::kObjection:
      d["counts"] = RowsById(*this);
      d["records"] = records_written;
      break;
  }
  return d;
}

}  // namespace lethe
