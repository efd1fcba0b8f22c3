// GraphExecutor: the Executor over a built DataGraph (include/lethe/exec.h
// says what each request type does and returns). Internal to src/exec.
//
// A table of contents, by role; each group lives in its own file:
//   executor.cpp  entry points (Execute, Plan, PurgeExpiredKept), shared helpers
//   tasks.cpp     persisted steps: discovery into tasks, their keys, their states
//   erase.cpp     erasure: expired rows, batches, the retention ledger, verification
//   rectify.cpp   rectification and restriction/objection (Update in batches)
//   export.cpp    access and portability: the zip, its manifest and report.html
//
// Every step that changes something is a persisted Task, unique by (request,
// connector, collection, action). Before the first change, each task records
// the keys it will act on; a worker that dies mid-way is restarted on the same
// request and skips done tasks, redoing running ones (connector writes are
// idempotent), so each step happens exactly once in effect.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lethe/exec.h"

namespace lethe::exec {

// One collection's share of a change-making request: its task and the keys
// it acts on.
struct Work {
  Task task;
  std::vector<std::string> keys;
  bool by_match = false;  // items have no keys (log lines): act by Match
  int64_t found = 0;      // items found by this run's discovery
  // Erasure of a retained collection: `keys` are the rows still within their
  // period (or undated), `until` when each one's period ends; `expired` are
  // the rows whose period has ended, which erasure deletes.
  std::vector<std::optional<Time>> until;
  std::vector<std::string> expired;
  int64_t undated = 0;
};

// ---- helpers shared by the files above (executor.cpp)

// What erasure does to one collection, once retention is taken into account.
EraseAction EffectiveErase(const CollectionSpec& c);
const char* ActionName(EraseAction::Kind k);
// Delete-like actions leave nothing behind; verification holds them to zero.
bool Removes(EraseAction::Kind k);
// {"basis", "note"?, "period"?, "from"?} of a retained collection, else null.
nlohmann::json RetentionJson(const CollectionSpec& c);
// The keyed pseudonym of the subject's first identity ("" if none).
std::string SubjectRef(const std::string& key, const Subject& s);
// The persisted form of Work::until: Unix seconds or null.
nlohmann::json UntilJson(const std::optional<Time>& t);
std::optional<Time> UntilFrom(const nlohmann::json& j);

class GraphExecutor : public Executor {
 public:
  GraphExecutor(std::unique_ptr<DataGraph> g, Store& store, ExecutorOptions opt)
      : g_(std::move(g)), store_(store), opt_(std::move(opt)) {}

  // ---- entry points (executor.cpp). One call at a time (mu_): connectors
  // hold one connection each, and a plan asked for over HTTP must not
  // interleave with a running erasure.
  Result<Outcome> Execute(const Request& r) override;
  Result<nlohmann::json> Plan(const Request& r) override;
  Result<nlohmann::json> PurgeExpiredKept(Time now) override;

 private:
  using json = nlohmann::json;

  // Data is found only through proved identities (ProveIdentities): the rest
  // of the executor sees the request with just those.
  Result<Request> WithProvedSubject(const Request& r, IdentityUse* identities);
  // Names of the configured recipients (Art. 19 notices).
  std::vector<std::string> RecipientNames() const;

  // ---- tasks (tasks.cpp)
  Result<std::map<std::string, Task>> LoadTasks(const std::string& request_id, const std::string& action);
  // Discovers the subject's items and makes (or reloads) one task per
  // collection for which include(i) holds, persisting the keys BEFORE any
  // change.
  Result<std::vector<Work>> Prepare(const Request& r, const std::string& action,
                                    const std::function<bool(size_t)>& include, FoundValues* found_out);
  Status MarkRunning(Work& w);
  // Done: the keys are dropped, leaving a receipt without payload.
  Status MarkDone(Work& w, int64_t rows);
  // Records the failure on the task and returns `st`.
  Status MarkFailed(Work& w, const Status& st);
  // Store records holding a task's resolved keys until it is done.
  static std::string KeysKind(const std::string& action);
  static std::string KeysRecordKey(const Task& t);

  // ---- erasure (erase.cpp), in the order Erase runs them
  Result<Outcome> Erase(const Request& r);
  // 1. Per collection, in reverse dependency order.
  Status EraseCollection(const Request& r, size_t n, Work& w, const FoundValues& found);
  // 1a. Rows of a retained collection whose period has ended are deleted.
  Status EraseExpired(Work& w, const GraphNode& node, const std::string& hash_key);
  // 1b. Keyed rows in growing batches, with a checkpoint after each.
  Status EraseInBatches(Work& w, const GraphNode& node, const EraseAction& a, int64_t* rows);
  // 1c. What a retained collection keeps goes into the ledger.
  Status RecordKept(const Request& r, Work& w, size_t n);
  // 2. Verification and the receipt: ask every collection again.
  Result<Outcome> VerifyErasure(const Request& r, const std::vector<Work>& work, const FoundValues& found);

  // ---- rectification, restriction and objection (rectify.cpp)
  Result<Outcome> Rectify(const Request& r);
  Result<Outcome> Restrict(const Request& r);
  // Applies `set` to w's keys in batches; the task's rows count the changes.
  Status UpdateInBatches(Work& w, const GraphNode& node, const json& set);

  // ---- access and portability (export.cpp)
  Result<Outcome> Export(const Request& r);
  std::string Report(const Request& r, const json& sources, const json& kept, const std::string& generated_at) const;
  static std::string KeptSentence(const json& k);

  std::mutex mu_;
  std::unique_ptr<DataGraph> g_;
  Store& store_;
  ExecutorOptions opt_;
};

}  // namespace lethe::exec
