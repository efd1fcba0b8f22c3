// The seam between the workflow core and the connectors. The core hands an
// in-progress request to an Executor and gets back a result; it never knows
// which connector types exist. src/exec implements it over connectors/.
#pragma once

#include <nlohmann/json.hpp>

#include "lethe/request.h"
#include "lethe/status.h"

namespace lethe {

class Executor {
 public:
  virtual ~Executor() = default;

  // Carries out a request whose status is in_progress. Must be resumable:
  // after a crash it is called again for the same request and continues from
  // the persisted tasks, doing each step exactly once. Returns the result
  // summary stored on the request (counts, retained items with their basis,
  // export path for access/portability in "export_path").
  virtual Result<nlohmann::json> Execute(const Request& r) = 0;

  // Dry run of an erasure: per connector and collection, what would be
  // deleted, masked and kept, with the retention basis. Changes nothing.
  virtual Result<nlohmann::json> Plan(const Request& r) = 0;
};

}  // namespace lethe
