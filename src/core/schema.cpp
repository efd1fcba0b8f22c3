// A small JSON Schema validator: the subset Lethe's own schemas use. It exists
// because Debian ships no C++ JSON Schema library; keeping it to our subset
// keeps it short enough to review. Errors name the JSON pointer at fault.
#include "lethe/json_pointer.h"
#include <map>
#include <regex>
#include <string>

#include "lethe/config.h"

namespace lethe {

const std::map<std::string, std::string>& EmbeddedSchemas();  // generated from schemas/*.json

namespace {

using nlohmann::json;

std::string TypeName(const json& v) {
  if (v.is_null()) return "null";
  if (v.is_boolean()) return "boolean";
  if (v.is_number_integer() || v.is_number_unsigned()) return "integer";
  if (v.is_number()) return "number";
  if (v.is_string()) return "string";
  if (v.is_array()) return "array";
  return "object";
}

bool HasType(const json& v, const std::string& t) {
  std::string actual = TypeName(v);
  return actual == t || (t == "number" && actual == "integer");
}

constexpr size_t kMaxPatternedLength = 4096;

class Validator {
 public:
  explicit Validator(const json& root) : root_(root) {}

  Status Check(const json& v, const json& s, const std::string& ptr) {
    if (s.is_boolean()) return s.get<bool>() ? Status::Ok() : Status::Invalid("not allowed here", ptr);
    if (!s.is_object()) return Status::Ok();
    if (s.contains("$ref")) {
      const std::string ref = s["$ref"];
      if (ref.rfind("#/", 0) != 0) return Status::Internal("unsupported $ref " + ref);
      return Check(v, root_.at(json::json_pointer(ref.substr(1))), ptr);
    }
    if (s.contains("type")) {
      bool ok = false;
      if (s["type"].is_array()) {
        for (const auto& t : s["type"]) ok = ok || HasType(v, t);
      } else {
        ok = HasType(v, s["type"]);
      }
      if (!ok) return Status::Invalid("expected " + Describe(s["type"]) + ", got " + TypeName(v), ptr);
    }
    if (s.contains("const") && v != s["const"]) return Status::Invalid("must be " + s["const"].dump(), ptr);
    if (s.contains("enum")) {
      bool found = false;
      for (const auto& e : s["enum"]) found = found || e == v;
      if (!found) return Status::Invalid(v.dump() + " is not one of " + s["enum"].dump(), ptr);
    }
    if (v.is_string()) LETHE_RETURN_IF_ERROR(CheckString(v.get<std::string>(), s, ptr));
    if (v.is_number()) {
      if (s.contains("minimum") && v.get<double>() < s["minimum"].get<double>())
        return Status::Invalid("must be at least " + s["minimum"].dump(), ptr);
      if (s.contains("maximum") && v.get<double>() > s["maximum"].get<double>())
        return Status::Invalid("must be at most " + s["maximum"].dump(), ptr);
    }
    if (v.is_array()) {
      if (s.contains("minItems") && v.size() < s["minItems"].get<size_t>())
        return Status::Invalid("needs at least " + s["minItems"].dump() + " items", ptr);
      if (s.contains("items"))
        for (size_t i = 0; i < v.size(); ++i)
          LETHE_RETURN_IF_ERROR(Check(v[i], s["items"], ptr + "/" + std::to_string(i)));
    }
    if (v.is_object()) LETHE_RETURN_IF_ERROR(CheckObject(v, s, ptr));
    if (s.contains("anyOf") || s.contains("oneOf")) {
      const json& alts = s.contains("anyOf") ? s["anyOf"] : s["oneOf"];
      int matched = 0;
      Status first;
      for (const auto& alt : alts) {
        Status st = Check(v, alt, ptr);
        // Report the alternative that got furthest into the value: its error
        // is the one that names the real mistake ("/b/0", not "/b").
        if (st.ok())
          ++matched;
        else if (first.ok() || st.field().size() > first.field().size())
          first = st;
      }
      if (matched == 0) return first;
      if (s.contains("oneOf") && matched > 1) return Status::Invalid("matches more than one allowed form", ptr);
    }
    return Status::Ok();
  }

 private:
  static std::string Describe(const json& t) { return t.is_array() ? t.dump() : t.get<std::string>(); }

  Status CheckString(const std::string& str, const json& s, const std::string& ptr) {
    if (s.contains("minLength") && str.size() < s["minLength"].get<size_t>())
      return Status::Invalid(str.empty() ? "must not be empty" : "is too short", ptr);
    if (s.contains("pattern")) {
      // libstdc++'s std::regex recurses once per character matched: a value
      // of some 50,000 characters overflows the stack. Every patterned value
      // in Lethe's schemas (addresses, URLs, names, dates, durations, digests)
      // is far shorter, so a longer one is refused before it is matched.
      if (str.size() > kMaxPatternedLength)
        return Status::Invalid("is too long (at most " + std::to_string(kMaxPatternedLength) + " characters)", ptr);
      const std::string pat = s["pattern"];
      auto it = regex_cache_.find(pat);
      if (it == regex_cache_.end()) it = regex_cache_.emplace(pat, std::regex(pat, std::regex::ECMAScript)).first;
      if (!std::regex_search(str, it->second)) return Status::Invalid("\"" + str + "\" does not match " + pat, ptr);
    }
    return Status::Ok();
  }

  Status CheckObject(const json& v, const json& s, const std::string& ptr) {
    if (s.contains("required"))
      for (const auto& k : s["required"])
        if (!v.contains(k.get<std::string>()))
          return Status::Invalid("is required", ptr + "/" + PointerToken(k.get<std::string>()));
    if (s.contains("minProperties") && v.size() < s["minProperties"].get<size_t>())
      return Status::Invalid("needs at least " + s["minProperties"].dump() + " keys", ptr);
    if (s.contains("maxProperties") && v.size() > s["maxProperties"].get<size_t>())
      return Status::Invalid("allows at most " + s["maxProperties"].dump() + " keys", ptr);
    const json props = s.value("properties", json::object());
    for (auto it = v.begin(); it != v.end(); ++it) {
      const std::string child = ptr + "/" + PointerToken(it.key());
      if (props.contains(it.key())) {
        LETHE_RETURN_IF_ERROR(Check(it.value(), props[it.key()], child));
      } else if (s.contains("additionalProperties")) {
        const json& ap = s["additionalProperties"];
        if (ap.is_boolean() && !ap.get<bool>()) return Status::Invalid("unknown key \"" + it.key() + "\"", child);
        LETHE_RETURN_IF_ERROR(Check(it.value(), ap, child));
      }
    }
    return Status::Ok();
  }

  const json& root_;
  std::map<std::string, std::regex> regex_cache_;
};

}  // namespace

Status ValidateSchema(const json& doc, const json& schema) {
  try {
    return Validator(schema).Check(doc, schema, "");
  } catch (const std::exception& e) {  // a malformed schema is our bug, not the user's
    return Status::Internal(std::string("schema error: ") + e.what());
  }
}

const json& ConfigSchema() {
  static const json schema = json::parse(EmbeddedSchemas().at("config.schema.json"));
  return schema;
}

}  // namespace lethe
