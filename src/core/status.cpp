#include "lethe/status.h"

namespace lethe {

// These names are part of the API (error.code): never rename one.
const char* Status::CodeName() const {
  switch (code_) {
    case Code::kOk: return "ok";
    case Code::kInvalid: return "invalid";
    case Code::kNotFound: return "not_found";
    case Code::kConflict: return "conflict";
    case Code::kUnauthorized: return "unauthorized";
    case Code::kForbidden: return "forbidden";
    case Code::kTooLarge: return "too_large";
    case Code::kRateLimited: return "rate_limited";
    case Code::kGone: return "gone";
    case Code::kUnavailable: return "unavailable";
    case Code::kIo: return "io";
    case Code::kInternal: return "internal";
  }
  return "internal";
}

}  // namespace lethe
