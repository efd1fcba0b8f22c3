#include "http/reply.h"

namespace lethe::http {

unsigned HttpStatusFor(Code code) {
  switch (code) {
    case Code::kOk: return 200;
    case Code::kInvalid: return 400;
    case Code::kNotFound: return 404;
    case Code::kConflict: return 409;
    case Code::kUnauthorized: return 401;
    case Code::kForbidden: return 403;
    case Code::kTooLarge: return 413;
    case Code::kRateLimited: return 429;
    case Code::kGone: return 410;
    case Code::kUnavailable: return 503;
    case Code::kIo: return 500;
    case Code::kInternal: return 500;
  }
  return 500;
}

nlohmann::json ErrorJson(const Status& st) {
  nlohmann::json e = {{"code", st.CodeName()}, {"message", st.message()}};
  if (!st.field().empty()) e["field"] = st.field();
  return {{"error", e}};
}

Reply Reply::Json(unsigned status, const nlohmann::json& j) {
  Reply r;
  r.status = status;
  // Replace invalid UTF-8 rather than throw: stored text may come from anywhere.
  r.body = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

Reply Reply::Error(const Status& st) {
  Reply r = Json(HttpStatusFor(st.code()), ErrorJson(st));
  if (st.code() == Code::kUnauthorized) r.headers.emplace_back("WWW-Authenticate", "Bearer");
  return r;
}

Reply Reply::Text(unsigned status, std::string content_type, std::string body) {
  Reply r;
  r.status = status;
  r.content_type = std::move(content_type);
  r.body = std::move(body);
  return r;
}

}  // namespace lethe::http
