// Parsing of the collection keys shared by table-like connectors (sqlite,
// postgres), and the one place identifiers are admitted into SQL text.
#include "lethe/json_pointer.h"
#include <regex>
#include <set>

#include "lethe/connector.h"
#include "lethe/connector_config.h"
#include "lethe/util/names.h"

namespace lethe {
namespace {

Status CheckIdentifier(const nlohmann::json& v, const std::string& pointer, std::string* out) {
  if (!v.is_string()) return Status::Invalid("must be a string", pointer);
  std::string s = v.get<std::string>();
  if (!util::IsSqlIdentifier(s)) {
    return Status::Invalid("\"" + s + "\" is not a plain identifier ([A-Za-z_][A-Za-z0-9_]*)", pointer);
  }
  *out = std::move(s);
  return Status::Ok();
}

Status StringList(const nlohmann::json& v, const std::string& pointer, bool identifiers,
                  std::vector<std::string>* out) {
  if (!v.is_array()) return Status::Invalid("must be an array of strings", pointer);
  for (size_t i = 0; i < v.size(); ++i) {
    std::string p = pointer + "/" + std::to_string(i);
    if (identifiers) {
      std::string s;
      LETHE_RETURN_IF_ERROR(CheckIdentifier(v[i], p, &s));
      out->push_back(std::move(s));
    } else {
      if (!v[i].is_string()) return Status::Invalid("must be a string", p);
      out->push_back(v[i].get<std::string>());
    }
  }
  return Status::Ok();
}

const std::set<std::string>& RetentionBases() {
  static const std::set<std::string> bases = {"legal_obligation", "legal_claims", "public_interest", "archiving",
                                              "freedom_of_expression"};
  return bases;
}

bool IsIsoDuration(const std::string& s) {
  static const std::regex re(R"(^P(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(\d+H)?(\d+M)?(\d+S)?)?$)");
  return s != "P" && s.back() != 'T' && std::regex_match(s, re);
}

Status ParseErase(const nlohmann::json& v, const std::string& pointer, EraseAction* a) {
  if (v.is_string()) {
    std::string s = v.get<std::string>();
    if (s == "delete")
      a->kind = EraseAction::Kind::kDelete;
    else if (s == "keep")
      a->kind = EraseAction::Kind::kKeep;
    else
      return Status::Invalid("must be \"delete\", \"keep\" or {\"mask\": {...}}", pointer);
    return Status::Ok();
  }
  if (!v.is_object() || v.size() != 1 || !v.contains("mask")) {
    return Status::Invalid("must be \"delete\", \"keep\" or {\"mask\": {...}}", pointer);
  }
  const auto& mask = v["mask"];
  std::string mp = pointer + "/mask";
  if (!mask.is_object() || mask.empty()) return Status::Invalid("must be a non-empty object", mp);
  a->kind = EraseAction::Kind::kMask;
  for (const auto& [col, how] : mask.items()) {
    std::string p = mp + "/" + PointerToken(col);
    if (!util::IsSqlIdentifier(col)) return Status::Invalid("\"" + col + "\" is not a plain identifier", p);
    if (!how.is_string() || (how != "null" && how != "redact" && how != "hash")) {
      return Status::Invalid("mask must be \"null\", \"redact\" or \"hash\"", p);
    }
    a->mask[col] = how.get<std::string>();
  }
  return Status::Ok();
}

}  // namespace

Status ParseRetention(const nlohmann::json& v, const std::string& pointer, const FieldCheck& from_ok, Retention* r) {
  if (!v.is_object()) return Status::Invalid("must be an object", pointer);
  for (const auto& [k, val] : v.items()) {
    std::string p = pointer + "/" + PointerToken(k);
    if (!val.is_string()) return Status::Invalid("must be a string", p);
    std::string s = val.get<std::string>();
    if (k == "basis") {
      if (!RetentionBases().count(s)) {
        return Status::Invalid(
            "basis must be one of legal_obligation, legal_claims, public_interest, archiving, "
            "freedom_of_expression",
            p);
      }
      r->basis = s;
    } else if (k == "note") {
      r->note = s;
    } else if (k == "period") {
      if (!IsIsoDuration(s)) return Status::Invalid("must be an ISO 8601 duration such as P7Y", p);
      r->period = s;
    } else if (k == "from") {
      LETHE_RETURN_IF_ERROR(from_ok(s, p));
      r->from = s;
    } else {
      return Status::Invalid("unknown key \"" + k + "\"", p);
    }
  }
  if (r->basis.empty()) return Status::Invalid("retain needs a \"basis\"", pointer);
  return Status::Ok();
}

Result<std::string> QuoteIdentifier(std::string_view name, const std::string& pointer) {
  if (!util::IsSqlIdentifier(name)) {
    std::string msg = "\"";
    msg.append(name);
    msg.append("\" is not a plain identifier ([A-Za-z_][A-Za-z0-9_]*)");
    return Status::Invalid(std::move(msg), pointer);
  }
  // The check above already excludes '"', so plain wrapping is safe.
  std::string quoted = "\"";
  quoted.append(name);
  quoted.push_back('"');
  return quoted;
}

Result<CollectionSpec> ParseTableCollection(const nlohmann::json& j, const std::string& connector,
                                            const std::string& pointer) {
  if (!j.is_object()) return Status::Invalid("a collection must be an object", pointer);
  CollectionSpec c;
  c.connector = connector;
  c.pointer = pointer;
  if (!j.contains("name")) return Status::Invalid("collection needs a \"name\"", pointer);

  for (const auto& [k, v] : j.items()) {
    std::string p = pointer + "/" + PointerToken(k);
    if (k == "name") {
      LETHE_RETURN_IF_ERROR(CheckIdentifier(v, p, &c.name));
    } else if (k == "primary_key") {
      LETHE_RETURN_IF_ERROR(CheckIdentifier(v, p, &c.primary_key));
    } else if (k == "identity") {
      if (!v.is_object()) return Status::Invalid("must be an object {kind: column}", p);
      for (const auto& [kind, col] : v.items()) {
        std::string lp = p + "/" + PointerToken(kind);
        if (!util::IsSqlIdentifier(kind))
          return Status::Invalid("identity kind \"" + kind + "\" is not a plain name", lp);
        CollectionSpec::Link link;
        LETHE_RETURN_IF_ERROR(CheckIdentifier(col, lp, &link.column));
        link.value_template = "{identity." + kind + "}";
        link.pointer = lp;
        c.links.push_back(std::move(link));
      }
    } else if (k == "references") {
      if (!v.is_object()) return Status::Invalid("must be an object {column: \"collection.column\"}", p);
      for (const auto& [col, target] : v.items()) {
        std::string lp = p + "/" + PointerToken(col);
        if (!util::IsSqlIdentifier(col)) return Status::Invalid("\"" + col + "\" is not a plain identifier", lp);
        if (!target.is_string()) return Status::Invalid("must be a string \"collection.column\"", lp);
        std::string t = target.get<std::string>();
        // "users.id" is this connector's; "other.users.id" names another connector.
        std::vector<std::string> parts;
        size_t start = 0;
        while (true) {
          size_t dot = t.find('.', start);
          parts.push_back(t.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
          if (dot == std::string::npos) break;
          start = dot + 1;
        }
        bool valid = (parts.size() == 2 || parts.size() == 3);
        for (const auto& part : parts) valid = valid && util::IsSqlIdentifier(part);
        if (!valid) {
          return Status::Invalid("reference \"" + t +
                                     "\" must be \"collection.column\" or "
                                     "\"connector.collection.column\"",
                                 lp);
        }
        CollectionSpec::Link link;
        link.column = col;
        link.value_template = parts.size() == 2 ? "{" + connector + "." + t + "}" : "{" + t + "}";
        link.pointer = lp;
        c.links.push_back(std::move(link));
      }
    } else if (Status st; ParseDescriptiveKey(k, v, p, &c, &st)) {
      LETHE_RETURN_IF_ERROR(st);
    } else if (k == "erase") {
      LETHE_RETURN_IF_ERROR(ParseErase(v, p, &c.erase));
    } else if (k == "retain") {
      Retention r;
      // A table's retention counts from one of its columns.
      LETHE_RETURN_IF_ERROR(ParseRetention(
          v, p,
          [](const std::string& from, const std::string& fp) {
            std::string col;
            return CheckIdentifier(from, fp, &col);
          },
          &r));
      c.retain = std::move(r);
    } else if (k == "rectify") {
      LETHE_RETURN_IF_ERROR(StringList(v, p, true, &c.rectify));
    } else if (k == "restrict") {
      // {"set": {column: value}}: what restriction writes onto the subject's rows.
      if (!v.is_object() || v.size() != 1 || !v.contains("set") || !v["set"].is_object() || v["set"].empty()) {
        return Status::Invalid("must be {\"set\": {column: value}}", p);
      }
      for (const auto& [col, val] : v["set"].items()) {
        std::string sp = p + "/set/" + PointerToken(col);
        if (!util::IsSqlIdentifier(col)) return Status::Invalid("\"" + col + "\" is not a plain identifier", sp);
        if (val.is_object() || val.is_array()) return Status::Invalid("must be a scalar", sp);
      }
      c.restrict_set = v["set"];
    } else if (k == "omit") {
      LETHE_RETURN_IF_ERROR(StringList(v, p, true, &c.omit));
    } else {
      return Status::Invalid("unknown key \"" + k + "\"", p);
    }
  }
  if (c.links.empty()) {
    return Status::Invalid(
        "collection \"" + c.name + "\" needs \"identity\" or \"references\" to tie rows to a subject", pointer);
  }
  if (c.erase.kind == EraseAction::Kind::kDelete && c.retain) {
    // A retained collection is never deleted: keep it unless a mask is configured.
    c.erase.kind = EraseAction::Kind::kKeep;
  }
  return c;
}

}  // namespace lethe
