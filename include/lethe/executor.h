// The seam between the workflow core and the connectors. The core hands an
// in-progress request to an Executor and gets back a result; it never knows
// which connector types exist. src/exec implements it over connectors/.
#pragma once

#include <nlohmann/json.hpp>

#include "lethe/outcome.h"
#include "lethe/request.h"
#include "lethe/status.h"
#include "lethe/time.h"

namespace lethe {

class Executor {
 public:
  virtual ~Executor() = default;

  // Carries out a request whose status is in_progress. Must be resumable:
  // after a crash it is called again for the same request and continues from
  // the persisted tasks, doing each step exactly once. Returns what it did
  // (lethe/outcome.h): counts, retained items with their basis, the export's
  // path for access/portability; never an identity value.
  // Errors: Invalid (the request cannot be carried out as filed, e.g. no
  // verified identity), Unavailable (a connector could not be reached), Io
  // (a write failed, or an erasure left items behind): the workflow fails
  // the request with the message; a retry resumes from the persisted tasks.
  virtual Result<Outcome> Execute(const Request& r) = 0;

  // Dry run of an erasure: per connector and collection, what would be
  // deleted, masked and kept, with the retention basis. Changes nothing.
  virtual Result<nlohmann::json> Plan(const Request& r) = 0;

  // Housekeeping for the scheduler: erases the rows an erasure kept under
  // retention whose period has ended by `now`, audited, each exactly once
  // even when several processes run it. Returns counts ({"entries", "rows",
  // "skipped"}); executors without a retention ledger do nothing.
  virtual Result<nlohmann::json> PurgeExpiredKept(Time now) { return nlohmann::json::object(); }
};

}  // namespace lethe
