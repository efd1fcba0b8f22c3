// What a handler gives back, before it becomes a Beast response. Kept free
// of Beast so that handlers stay plain functions of (context) -> Reply.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "lethe/status.h"

namespace lethe::http {

struct Reply {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  // When set, the file at this path is streamed as the body (exports).
  std::string file_path;
  std::vector<std::pair<std::string, std::string>> headers;

  static Reply Json(unsigned status, const nlohmann::json& j);
  static Reply Error(const Status& st);
  static Reply Text(unsigned status, std::string content_type, std::string body);
};

// HTTP status for a Status code (kInvalid -> 400 ... kInternal -> 500).
unsigned HttpStatusFor(Code code);

// {"error": {"code", "message", "field"?}}
nlohmann::json ErrorJson(const Status& st);

}  // namespace lethe::http
