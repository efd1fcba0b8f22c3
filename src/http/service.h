// The Service: everything `lethe serve` runs, built from one Config. It owns
// the store, the workflow, the executor, the notifier and the scheduler, and
// turns one HTTP request into one Reply (Handle). The network side lives in
// server.h; this file knows no sockets, so tests and the demo can drive it.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "http/auth.h"
#include "http/limits.h"
#include "http/metrics.h"
#include "http/reply.h"
#include "http/router.h"
#include "lethe/config.h"
#include "lethe/engine.h"
#include "lethe/executor.h"
#include "lethe/store.h"
#include "lethe/workflow.h"

namespace lethe {
class Notifier;
class Scheduler;
}  // namespace lethe

namespace lethe::http {

struct ServiceOptions {
  // Operator web UI served at /inbox/, and the example host app's settings
  // page at /examples/settings-page/. Empty: the source tree's folders.
  std::string static_dir;
  std::string examples_dir;
  // Submission budgets (token buckets): per subject and per operator key
  // (limits.h says why these values).
  double subject_burst = kSubjectBurst, subject_per_second = kSubjectPerSecond;
  double operator_burst = kOperatorBurst, operator_per_second = kOperatorPerSecond;
  // /metrics reuses its store scan for this long.
  double metrics_cache_seconds = kMetricsCacheSeconds;
  // Tests and benches may inject an executor; otherwise one is built from
  // the config's connectors.
  std::unique_ptr<Executor> executor;
};

class Service {
 public:
  // Opens the store named by the config, builds the workflow, the executor,
  // the notifier and the scheduler. Errors are the config's or the store's.
  static Result<std::unique_ptr<Service>> Create(const Config& config, ServiceOptions opts = {});
  ~Service();

  // One request in, one reply out. Never throws; bad input is 4xx.
  Reply Handle(const HttpRequest& req);
  // For a request whose body has not been read yet (Expect: 100-continue):
  // the final reply its header alone already earns (404, 405, 401, 403),
  // or nullopt when the body is wanted. Never runs a handler.
  std::optional<Reply> EarlyReply(const HttpRequest& header_only);
  // Error replies on OpenDSR routes carry the HTTP status as an integer
  // error.code (OpenDSR 2.0); others keep Lethe's string codes. `path` may
  // be the raw target.
  void ShapeError(std::string_view path, Reply* reply) const;

  // Background work: executes due requests (Worker::RunOnce). Returns how
  // many finished. Serialized: never runs twice at once.
  Result<int> RunWorkers();
  // Notifications, reminders, purges, outbox delivery (Scheduler::Tick).
  Result<int> TickScheduler();

  const Config& config() const { return engine_->config; }
  Store& store() { return *engine_->store; }
  Workflow& workflow() { return *engine_->workflow; }
  Engine& engine() { return *engine_; }
  Executor* executor() { return executor_.get(); }  // null when none could be built
  Notifier* notifier() { return notifier_.get(); }
  const Authenticator& auth() const { return *auth_; }
  LatencyHistogram& http_latency() { return http_latency_; }
  const ServiceOptions& options() const { return opts_; }

 private:
  Service(const Config& config, ServiceOptions opts);
  Reply Dispatch(const HttpRequest& req, std::string* route_name);
  // Who calls, and may they call this route: sets ctx->principal.
  Status Authorize(const Route& route, const HttpRequest& req, Context* ctx);
  Reply WithIdempotency(const std::string& key, Context& ctx, const Route& route);
  Reply Replay(const Record& prev, Context& ctx);
  void PurgeExpiredIdempotency(Time now);

  ServiceOptions opts_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<Executor> executor_;
  std::unique_ptr<Worker> worker_;
  std::unique_ptr<Notifier> notifier_;
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<Authenticator> auth_;
  RateLimiter subject_limiter_;
  RateLimiter operator_limiter_;
  Router router_;
  LatencyHistogram http_latency_;
  std::mutex worker_mu_, scheduler_mu_;
};

// Route tables, one per area (handlers_*.cpp).
void AddSelfRoutes(Router& r, Service& s);         // /v1/self/...
void AddInboxRoutes(Router& r, Service& s);        // /v1/requests..., /v1/stats, /v1/audit
void AddSubjectLinkRoutes(Router& r, Service& s);  // /v1/verify, /v1/downloads/{token}
void AddOpenDsrRoutes(Router& r, Service& s);      // /opendsr/...
void AddOpsRoutes(Router& r, Service& s);          // /healthz, /metrics, /inbox/*, /examples/...

}  // namespace lethe::http
