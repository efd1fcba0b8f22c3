// Reading client JSON strictly: a body must be one JSON object, every key
// must be known, every value must have the expected type. Errors are
// kInvalid Statuses whose field() is the JSON pointer at fault, so a client
// learns exactly which field to fix. Never throws.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "lethe/status.h"
#include "lethe/time.h"

namespace lethe::http {

// The body as a JSON object. An empty body is {} when allow_empty (actions
// like approve need no input); anything else that is not an object is 400,
// and so is anything ParseStrictJson refuses (too deep, duplicate keys,
// integers beyond 2^53), with the JSON pointer at fault.
Result<nlohmann::json> ParseObject(std::string_view body, bool allow_empty);

// True for "application/json", with any parameters (charset=utf-8 ...),
// compared case-insensitively. A charset other than UTF-8 is false.
bool IsJsonMediaType(std::string_view content_type);

// kInvalid naming `pointer/key` for the first key of obj not in `allowed`.
Status OnlyFields(const nlohmann::json& obj, std::initializer_list<std::string_view> allowed,
                  const std::string& pointer = "");

// Typed getters. Absent (or null) keys leave *out untouched and return OK
// unless `required`; a present key of the wrong type is kInvalid.
Status GetString(const nlohmann::json& obj, const char* key, std::string* out, bool required,
                 const std::string& pointer = "");
Status GetBool(const nlohmann::json& obj, const char* key, bool* out, const std::string& pointer = "");
Status GetTime(const nlohmann::json& obj, const char* key, std::optional<Time>* out, const std::string& pointer = "");

}  // namespace lethe::http
