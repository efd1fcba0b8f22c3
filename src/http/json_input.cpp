#include "http/json_input.h"

namespace lethe::http {

Result<nlohmann::json> ParseObject(std::string_view body, bool allow_empty) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    if (allow_empty) return nlohmann::json::object();
    return Status::Invalid("request body is empty; expected a JSON object", "");
  }
  // allow_exceptions = false: malformed input yields a discarded value.
  nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::Invalid("malformed JSON", "");
  if (!j.is_object()) return Status::Invalid("expected a JSON object", "");
  return j;
}

std::string PointerEscape(std::string_view key) {
  std::string out;
  for (char c : key) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
}

Status OnlyFields(const nlohmann::json& obj, std::initializer_list<std::string_view> allowed,
                  const std::string& pointer) {
  if (!obj.is_object()) return Status::Invalid("expected an object", pointer);
  for (const auto& [key, value] : obj.items()) {
    bool known = false;
    for (std::string_view a : allowed) known = known || a == key;
    if (!known) return Status::Invalid("unknown field \"" + key + "\"", pointer + "/" + PointerEscape(key));
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
