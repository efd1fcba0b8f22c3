#include "lethe/json_pointer.h"
#include "http/json_input.h"

#include <cctype>

#include "lethe/strict_json.h"

namespace lethe::http {

Result<nlohmann::json> ParseObject(std::string_view body, bool allow_empty) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    if (allow_empty) return nlohmann::json::object();
    return Status::Invalid("request body is empty; expected a JSON object", "");
  }
  // I-JSON with a depth limit: a deep body must never become a deep tree.
  LETHE_ASSIGN_OR_RETURN(auto j, ParseStrictJson(body));
  if (!j.is_object()) return Status::Invalid("expected a JSON object", "");
  return j;
}

bool IsJsonMediaType(std::string_view content_type) {
  auto trim = [](std::string_view v) {
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    return v;
  };
  auto iequals = [](std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
      if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
        return false;
    return true;
  };
  size_t semi = content_type.find(';');
  if (!iequals(trim(content_type.substr(0, semi)), "application/json")) return false;
  // Parameters are allowed, but JSON is UTF-8 (RFC 8259 section 8.1): a
  // charset naming anything else would be read wrongly, so it is refused.
  while (semi != std::string_view::npos) {
    std::string_view rest = content_type.substr(semi + 1);
    const size_t next = rest.find(';');
    std::string_view param = trim(rest.substr(0, next));
    content_type = rest;
    semi = next;
    const size_t eq = param.find('=');
    if (eq == std::string_view::npos || !iequals(trim(param.substr(0, eq)), "charset")) continue;
    std::string_view value = trim(param.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    if (!iequals(value, "utf-8") && !iequals(value, "utf8")) return false;
  }
  return true;
}

Status OnlyFields(const nlohmann::json& obj, std::initializer_list<std::string_view> allowed,
                  const std::string& pointer) {
  if (!obj.is_object()) return Status::Invalid("expected an object", pointer);
  for (const auto& [key, value] : obj.items()) {
    bool known = false;
    for (std::string_view a : allowed) known = known || a == key;
    if (!known) return Status::Invalid("unknown field \"" + key + "\"", pointer + "/" + PointerToken(key));
  }
  return Status::Ok();
}

Status GetString(const nlohmann::json& obj, const char* key, std::string* out, bool required,
                 const std::string& pointer) {
  const std::string where = pointer + "/" + key;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    return required ? Status::Invalid("is required", where) : Status::Ok();
  }
  if (!it->is_string()) return Status::Invalid("must be a string", where);
  *out = it->get<std::string>();
  if (required && out->empty()) return Status::Invalid("must not be empty", where);
  return Status::Ok();
}

Status GetBool(const nlohmann::json& obj, const char* key, bool* out, const std::string& pointer) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return Status::Ok();
  if (!it->is_boolean()) return Status::Invalid("must be true or false", pointer + "/" + key);
  *out = it->get<bool>();
  return Status::Ok();
}

Status GetTime(const nlohmann::json& obj, const char* key, std::optional<Time>* out, const std::string& pointer) {
  std::string s;
  LETHE_RETURN_IF_ERROR(GetString(obj, key, &s, false, pointer));
  if (s.empty()) return Status::Ok();
  Result<Time> t = ParseRfc3339(s);
  if (!t.ok()) return Status::Invalid("must be an RFC 3339 time: " + t.status().message(), pointer + "/" + key);
  *out = *t;
  return Status::Ok();
}

}  // namespace lethe::http
