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

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "lethe/state_machine.h"
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

// --- The operator inbox (handlers_inbox.cpp) --------------------------------

// POST /v1/requests: a request filed by an operator. `now` bounds
// received_at (kClockSkew ahead at most).
Result<NewRequest> ParseInboxCreateRequest(std::string_view body, Time now);

// GET /v1/requests: filters and a page. Unknown parameters are refused, so a
// misspelt filter is not silently ignored. The result's `now` is unset.
Result<RequestFilter> ParseInboxListRequest(const Query& query);

// The actions POST /v1/requests/{id}/<name> takes, by <name>: the state
// machine's names (lethe::ParseAction), but "notes" for a note, which is
// added to the request's notes. start and complete are the worker's alone.
inline constexpr std::string_view kActionNames[] = {"verify", "approve", "deny",   "extend", "hold", "resume",
                                                    "assign", "notes",   "cancel", "retry",  "fail"};
// The action a route name stands for; nullopt for anything not in kActionNames.
std::optional<Action> ParseActionName(std::string_view name);

// POST /v1/requests/{id}/<action>: the body's fields depend on the action.
struct ActRequest {
  std::string reason;  // why (required for deny and extend); for a note, its text
  // Per action: hold {"reason_kind"}, assign {"assignee"} (null unassigns),
  // verify {"identities"} when given (the workflow checks them).
  nlohmann::json args = nlohmann::json::object();
};
Result<ActRequest> ParseActRequest(Action action, std::string_view body);

// --- Self-service (handlers_self.cpp) ----------------------------------------

// POST /v1/self/requests: type, note and params. Who the subject is comes
// from the JWT, never from the body, so the result has no subject yet.
Result<NewRequest> ParseSelfCreateRequest(std::string_view body);

// --- OpenDSR 2.0 (handlers_opendsr.cpp) -------------------------------------

// Whether Lethe may POST status callbacks to a URL (Notifier::CheckCallbackUrl,
// which resolves the host: the one check here that is not pure, so it is
// passed in). Its message becomes the refusal's; the URL is never echoed.
using CallbackUrlCheck = std::function<Status(const std::string& url)>;

// POST /opendsr/requests: a controller's filing. The identities become the
// subject (email, controller_customer_id -> user_id), verified: the
// controller checked its subject before sending. `now` bounds submitted_time.
Result<NewRequest> ParseOpenDsrCreateRequest(std::string_view body, Time now, const CallbackUrlCheck& check_url);

// RFC 9562 text form, 8-4-4-4-12 hex digits (the spec: "a UUID v4"): a
// subject_request_id, in a body or a path.
bool IsUuid(std::string_view v);

// --- Static files (handlers_ops.cpp) ---------------------------------------

// GET /inbox/* and /examples/settings-page/*: the file a tail names.
struct StaticPathRequest {
  bool to_directory = false;  // the mount itself without its "/": redirect there
  std::string relative;       // decoded, under the root; a directory's index.html
};
// `tail` is the route's "*" (still percent-encoded), `target` the request
// target. Anything that could climb out of the root ("..", ".", a leading
// "/", a backslash, a bad escape) is kNotFound before the file system sees
// it; the handler still checks the resolved path (symlinks).
Result<StaticPathRequest> ParseStaticPathRequest(std::string_view tail, std::string_view target);

// --- Subject links (handlers_links.cpp) ------------------------------------

// POST /v1/verify: the code mailed to the subject, for one request.
struct VerifyCodeRequest {
  std::string request_id;
  std::string code;
};
Result<VerifyCodeRequest> ParseVerifyCodeRequest(std::string_view body);

}  // namespace lethe::http
