// The workflow core: the only place a request changes. CLI and HTTP call it;
// it calls the Store, the DeadlineEngine and (through Worker) the Executor.
// It knows nothing of HTTP or of connector types.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lethe/deadline.h"
#include "lethe/executor.h"
#include "lethe/request.h"
#include "lethe/state_machine.h"
#include "lethe/status.h"
#include "lethe/store.h"

namespace lethe {

struct NewRequest {
  RequestType type = RequestType::kAccess;
  std::optional<Regulation> regulation;  // default_regulation when absent
  std::string custom_sla;
  std::string channel = "api";
  Subject subject;
  std::string owner;                          // JWT sub for self-service
  bool verified = false;                      // every identity given is proved (JWT, operator judgement)
  std::set<std::string> verified_identities;  // or: just these kinds (overrides `verified`)
  std::optional<Time> received_at;            // back-dated inbox entries; now when absent
  std::string note;
  nlohmann::json params = nlohmann::json::object();
  std::string external_id;
  std::vector<std::string> status_callback_urls;
};

struct WorkflowPolicy {
  Regulation default_regulation = Regulation::kGdpr;
  std::set<RequestType> auto_approve;  // applied to verified self-service requests
  Duration erasure_grace{0, 0, 7, 0};
  std::string pseudonym_key;  // HMAC key for audit subject refs
};

class Workflow {
 public:
  // Called after every committed change, outside the transaction. The
  // service layer uses it for notifications and status callbacks.
  using Listener = std::function<void(const Request&, const Event&)>;

  Workflow(Store& store, DeadlineEngine deadlines, WorkflowPolicy policy);

  Result<Request> Submit(const NewRequest& in, const std::string& actor);
  // Applies an operator or subject action. `args` carries action input:
  // assign {"assignee"}, hold {"reason_kind": "identity"|"clarification"|"other"},
  // verify {"identities": ["email", ...]} (the kinds proved; all claimed kinds when absent:
  // an operator's judgement; a subject's emailed code proves "email" only).
  // `reason` is required for deny and extend (kInvalid with field "/reason").
  Result<Request> Act(const std::string& id, Action action, const std::string& actor, const std::string& reason,
                      const nlohmann::json& args = nlohmann::json::object());
  Result<Request> Get(const std::string& id) { return store_.Get(id); }

  // Worker side, under a lease (contract §1; Store's lease methods). A
  // worker holds the lease on a request while it runs it; `lease_owner` is
  // unique to that one claim and fences every write the worker makes.
  //
  // Start claims `id` for `lease_owner` until now + `lease`, then moves it
  // approved -> in_progress ("started"), or, for an in_progress request whose
  // previous lease expired (its worker died), records "taken_over".
  // kConflict when another worker holds a live lease or the request is no
  // longer runnable (cancelled meanwhile): the caller skips it.
  Result<Request> Start(const std::string& id, const std::string& lease_owner, std::chrono::seconds lease);
  // Heartbeat while the executor runs: extends the lease. kConflict when the
  // lease was lost (the caller's Finish will then be refused).
  Status Heartbeat(const std::string& id, const std::string& lease_owner, std::chrono::seconds lease);
  // in_progress -> completed|failed, only while `lease_owner` still holds
  // the lease; then releases it. kConflict when the lease passed to another
  // worker or an admin stopped the request: a stale worker never overwrites.
  Result<Request> Finish(const std::string& id, const std::string& lease_owner, const Result<Outcome>& outcome);

  void AddListener(Listener l) { listeners_.push_back(std::move(l)); }
  Store& store() { return store_; }
  const DeadlineEngine& deadlines() const { return deadlines_; }
  const WorkflowPolicy& policy() const { return policy_; }
  // Audit pseudonym of a subject (email if present, else user_id).
  std::string SubjectRef(const Subject& s) const;
  // What a self-service owner (JWT sub) becomes once the subject is erased:
  // their receipts stay listed for them, under a keyed pseudonym.
  std::string OwnerRef(const std::string& owner) const;
  // After a completed erasure (src/core/forget.cpp): the request becomes a
  // receipt, the subject's other ended requests lose identities and exports (open
  // ones are left to finish), and the store is scrubbed of the identity values.
  // The receipt is written under `lease_owner` (the worker's lease), if given.
  Status ForgetSubject(const Request& completed_erasure, const std::string& lease_owner = "");

 private:
  // Writes r with its event and audit entry; with a lease_owner, only while
  // that owner holds the request's lease (Store::UpdateLeased).
  Result<Request> Commit(Request r, Event e, nlohmann::json audit_detail, const std::string& lease_owner = "");
  Result<Request> FinishOnce(const std::string& id, const std::string& lease_owner, const Result<Outcome>& outcome);
  Store& store_;
  DeadlineEngine deadlines_;
  WorkflowPolicy policy_;
  std::vector<Listener> listeners_;
};

struct WorkerOptions {
  std::chrono::seconds lease{60};  // config workers.lease
  std::string id;                  // empty: "<hostname>:<pid>:<random>"
};

// Runs due work: approved requests past their grace become in_progress and
// are executed; in_progress requests whose worker died (its lease expired)
// are taken over. Any number of workers, in any number of processes, may
// share one store: each request is claimed under a lease, renewed by a
// heartbeat thread while the executor runs, so exactly one runs it.
// One request's trouble (an executor error or exception, a lost lease, a
// store error) fails or skips that request only; the batch goes on.
class Worker {
 public:
  Worker(Workflow& wf, Executor& ex, WorkerOptions o = {});
  // Processes everything due now; returns how many requests finished
  // (completed or failed; failed() tells how many of them failed or could
  // not be finished). An error only when the queue itself cannot be read.
  Result<int> RunOnce();
  int failed() const { return failed_; }
  const std::string& id() const { return opts_.id; }

 private:
  // Executes a started request under `lease_owner`, heartbeating meanwhile;
  // an exception becomes a failed outcome.
  Result<Outcome> ExecuteLeased(const Request& r, const std::string& lease_owner);
  // Claims, runs and finishes one request: 1 finished, 0 skipped.
  int RunOne(const Request& r);

  int failed_ = 0;
  uint64_t claims_ = 0;
  Workflow& wf_;
  Executor& ex_;
  WorkerOptions opts_;
};

}  // namespace lethe
