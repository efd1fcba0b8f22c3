// What each endpoint accepts, as pure functions of what the client sent (a
// body, a query, a path word) and the clock. A Parse*Request checks
// everything a client can get wrong and returns the typed input its handler
// acts on, or a kInvalid Status whose field() is the JSON pointer at fault:
// the 400 reply's "field". They read no store and open no socket, so tests
// call them without a server (tests/http/parse_test.cpp).
//
// Each handler is then three steps: parse (here), act (Workflow, Store),
// render (the reply's JSON). The handlers live in handlers_<area>.cpp, and
// so does each area's parsing, beside the handler that calls it.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "lethe/status.h"
#include "lethe/store.h"
#include "lethe/time.h"
#include "lethe/workflow.h"

namespace lethe::http {

// A percent-decoded query string (Context::query).
using Query = std::map<std::string, std::string>;

// --- Shared by the list endpoints (handlers_common.cpp) -------------------

// ?limit= (1 to kMaxPageSize) and ?cursor= (a next_cursor as given) into a
// filter; other parameters are the caller's to check.
Result<RequestFilter> ParsePageRequest(const Query& query);

// --- Self-service (handlers_self.cpp) ----------------------------------------

// POST /v1/self/requests: type, note and params. Who the subject is comes
// from the JWT, never from the body, so the result has no subject yet.
Result<NewRequest> ParseSelfCreateRequest(std::string_view body);

// --- Subject links (handlers_links.cpp) ------------------------------------

// POST /v1/verify: the code mailed to the subject, for one request.
struct VerifyCodeRequest {
  std::string request_id;
  std::string code;
};
Result<VerifyCodeRequest> ParseVerifyCodeRequest(std::string_view body);

}  // namespace lethe::http
