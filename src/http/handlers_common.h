// Pieces the handler files share: JSON views of requests, loading a
// subject's own request, streaming an export.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "http/reply.h"
#include "http/router.h"
#include "http/service.h"
#include "lethe/request.h"

namespace lethe::http {

nlohmann::json EventJson(const Event& e, bool subject_view);
nlohmann::json TaskJson(const Task& t);

// Removes from a request's JSON what is not the subject's to see: internal
// notes, the assignee, and internal failure texts (replaced by a plain one).
void HideInternals(nlohmann::json& request_json);

// The request JSON of contract section 3 with "events" and "tasks". The
// subject's view leaves out internal notes and operator names.
Result<nlohmann::json> DetailJson(Service& s, const Request& r, Time now, bool subject_view);
Reply DetailReply(Service& s, const Result<Request>& r, Time now, bool subject_view, unsigned ok_status = 200);

// The request if `sub` owns it; kNotFound otherwise (never 403: another
// subject's id must not even be confirmed to exist).
Result<Request> LoadOwned(Service& s, const std::string& id, const std::string& sub);

// Streams the published export zip of a completed access/portability
// request, recording a "downloaded" audit entry. `via`: inbox, self, link.
Reply ExportReply(Service& s, const Request& r, const std::string& actor, Time now, const std::string& via);

// One page of requests. The store's cursor refusal names /cursor; the
// client sent ?cursor=, so the 400 names /query/cursor.
Result<RequestPage> ListPage(Service& s, const RequestFilter& f);
nlohmann::json PageJson(const RequestPage& page, Time now);

}  // namespace lethe::http
