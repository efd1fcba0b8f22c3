#include "http/service.h"

#include <chrono>
#include <exception>

#include <spdlog/spdlog.h>

#include "core/hex.h"
#include "notify/notifications.h"
#include "notify/notifier.h"
#include "notify/scheduler.h"
#include "lethe/exec.h"

namespace lethe::http {
namespace {

constexpr const char* kIdempotencyKind = "idempotency";
// A "pending" idempotency record older than this was left by a crash.
constexpr int kIdempotencyLeaseSeconds = 60;

std::string_view Sv(boost::beast::string_view s) { return std::string_view(s.data(), s.size()); }

bool RoleAllows(Access a, Role r) {
  switch (a) {
    case Access::kRead: return true;
    case Access::kAct: return r == Role::kOperator || r == Role::kAdmin;
    case Access::kAudit: return r == Role::kAuditor || r == Role::kAdmin;
    case Access::kAdmin: return r == Role::kAdmin;
    default: return false;
  }
}

bool ValidIdempotencyKey(std::string_view k) {
  if (k.empty() || k.size() > 255) return false;
  for (unsigned char c : k)
    if (c < 0x21 || c > 0x7e) return false;
  return true;
}

}  // namespace

Service::Service(const Config& config, ServiceOptions opts)
    : opts_(std::move(opts)),
      subject_limiter_(opts_.subject_burst, opts_.subject_per_second),
      operator_limiter_(opts_.operator_burst, opts_.operator_per_second) {}

Service::~Service() = default;

Result<std::unique_ptr<Service>> Service::Create(const Config& config, ServiceOptions opts) {
  std::unique_ptr<Service> s(new Service(config, std::move(opts)));
  Result<std::unique_ptr<Engine>> engine = Engine::Open(config);
  if (!engine.ok()) return engine.status();
  s->engine_ = std::move(*engine);
  const Config& c = s->engine_->config;

  JwtSettings jwt;
  if (!c.jwt_secret_env.empty()) {
    Result<std::string> secret = c.Secret(c.jwt_secret_env, "/self_service/jwt/hs256_secret_env");
    if (!secret.ok()) return secret.status();
    jwt.secret = *secret;
    jwt.issuer = c.jwt_issuer;
    jwt.audience = c.jwt_audience;
  }
  s->auth_ = std::make_unique<Authenticator>(c.operators, jwt);

  s->executor_ = std::move(s->opts_.executor);
  if (!s->executor_) {
    Result<std::unique_ptr<Executor>> ex = MakeExecutor(c, *s->engine_->store, s->engine_->pseudonym_key);
    if (!ex.ok()) return ex.status();
    s->executor_ = std::move(*ex);
  }
  if (s->executor_) s->worker_ = std::make_unique<Worker>(*s->engine_->workflow, *s->executor_);

  Result<std::unique_ptr<Notifier>> notifier = Notifier::Create(c);
  if (!notifier.ok()) return notifier.status();
  s->notifier_ = std::move(*notifier);
  AttachNotifications(*s->engine_->workflow, *s->notifier_, c);
  s->scheduler_ = std::make_unique<Scheduler>(*s->engine_->workflow, *s->notifier_, c, s->executor_.get());

  AddSelfRoutes(s->router_, *s);
  AddInboxRoutes(s->router_, *s);
  AddSubjectLinkRoutes(s->router_, *s);
  AddOpenDsrRoutes(s->router_, *s);
  AddOpsRoutes(s->router_, *s);
  return s;
}

Result<int> Service::RunWorkers() {
  if (!worker_) return 0;
  std::lock_guard<std::mutex> lock(worker_mu_);
  try {
    return worker_->RunOnce();
  } catch (const std::exception& e) {
    return Status::Internal(std::string("worker: ") + e.what());
  }
}

Result<int> Service::TickScheduler() {
  std::lock_guard<std::mutex> lock(scheduler_mu_);
  try {
    return scheduler_->Tick(Now());
  } catch (const std::exception& e) {
    return Status::Internal(std::string("scheduler: ") + e.what());
  }
}

Reply Service::Handle(const HttpRequest& req) {
  const auto start = std::chrono::steady_clock::now();
  std::string route_name = "unmatched";
  Reply reply;
  // The edge: nothing thrown below may reach the network code.
  try {
    reply = Dispatch(req, &route_name);
  } catch (const std::exception& e) {
    spdlog::error("http: {} {}: unhandled exception: {}", Sv(req.method_string()), route_name, e.what());
    reply = Reply::Error(Status::Internal("internal error"));
  } catch (...) {
    spdlog::error("http: {} {}: unhandled exception", Sv(req.method_string()), route_name);
    reply = Reply::Error(Status::Internal("internal error"));
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  http_latency_.Observe(secs);
  // The route pattern, never the raw path: download tokens live in paths.
  spdlog::info("http: method={} route={} status={} ms={:.2f}", Sv(req.method_string()), route_name, reply.status,
               secs * 1000);
  return reply;
}

Reply Service::Dispatch(const HttpRequest& req, std::string* route_name) {
  std::string_view target = Sv(req.target());
  std::string_view path = target.substr(0, target.find('?'));
  std::string_view query = path.size() < target.size() ? target.substr(path.size() + 1) : std::string_view();
  if (path.empty() || path.front() != '/') return Reply::Error(Status::Invalid("request target must be a path"));

  Router::Match m = router_.Find(req.method(), path);
  if (m.route == nullptr) {
    if (m.path_known) {
      Reply r = Reply::Error(Status(Code::kInvalid, "method not allowed"));
      r.status = 405;
      r.body = ErrorJson(Status(Code::kInvalid, "method not allowed")).dump();
      return r;
    }
    return Reply::Error(Status::NotFound("no such endpoint"));
  }
  const Route& route = *m.route;
  *route_name = route.pattern;

  Context ctx{req, std::move(m.params), {}, {}, Now()};
  if (!ParseQuery(query, &ctx.query)) return Reply::Error(Status::Invalid("malformed query string"));

  const std::string_view authz = Sv(req[bhttp::field::authorization]);
  if (route.access == Access::kSubject) {
    Result<Principal> p = auth_->Subject(authz, ctx.now);
    if (!p.ok()) return Reply::Error(p.status());
    ctx.principal = *p;
  } else if (route.access != Access::kPublic) {
    Result<Principal> p = auth_->Operator(authz);
    if (!p.ok()) return Reply::Error(p.status());
    if (!RoleAllows(route.access, p->role)) {
      return Reply::Error(Status::Forbidden("role \"" + std::string(ToString(p->role)) + "\" may not call " +
                                            std::string(Sv(req.method_string())) + " " + route.pattern));
    }
    ctx.principal = *p;
  }

  if (route.rate_limited) {
    RateLimiter& limiter =
        ctx.principal.kind == Principal::Kind::kSubject ? subject_limiter_ : operator_limiter_;
    if (!limiter.Allow(ctx.principal.Key())) {
      Reply r = Reply::Error(Status(Code::kRateLimited, "too many requests; try again later"));
      r.headers.emplace_back("Retry-After", "60");
      return r;
    }
  }

  const std::string_view idem = Sv(req["Idempotency-Key"]);
  if (req.method() == bhttp::verb::post && !idem.empty() && ctx.principal.kind != Principal::Kind::kNone) {
    if (!ValidIdempotencyKey(idem))
      return Reply::Error(Status::Invalid("Idempotency-Key must be 1-255 visible ASCII characters"));
    return WithIdempotency(std::string(idem), ctx, route);
  }
  return route.handler(ctx);
}

// The first response to (principal, key) is stored and returned again for
// every retry. The record is claimed before the handler runs, so two
// concurrent retries cannot both act; the loser gets 409 until the first
// finishes. Only successes are kept: a failed attempt may be retried.
Reply Service::WithIdempotency(const std::string& key, Context& ctx, const Route& route) {
  const std::string rkey = ctx.principal.Key() + ":" + key;
  const std::string fingerprint =
      Sha256Hex(std::string(Sv(ctx.req.method_string())) + " " + std::string(Sv(ctx.req.target())) + "\n" +
                ctx.req.body());
  Record claim;
  claim.kind = kIdempotencyKind;
  claim.key = rkey;
  claim.value = {{"state", "pending"}, {"fingerprint", fingerprint}};
  claim.due_at = ctx.now + std::chrono::hours(24);
  claim.created_at = ctx.now;
  for (int attempt = 0; attempt < 2; ++attempt) {
    Result<bool> put = engine_->store->PutRecordIfAbsent(claim);
    if (!put.ok()) return Reply::Error(put.status());
    if (*put) break;
    Result<std::optional<Record>> got = engine_->store->GetRecord(kIdempotencyKind, rkey);
    if (!got.ok()) return Reply::Error(got.status());
    if (!got->has_value()) continue;  // deleted meanwhile: claim again
    const Record& prev = **got;
    if (prev.value.value("fingerprint", "") != fingerprint)
      return Reply::Error(Status::Conflict("Idempotency-Key was already used for a different request"));
    if (prev.value.value("state", "") == "done") {
      Reply r;
      r.status = prev.value.value("status", 200u);
      r.content_type = prev.value.value("content_type", "application/json");
      r.body = prev.value.value("body", "");
      r.headers.emplace_back("Idempotent-Replayed", "true");
      return r;
    }
    if (ctx.now - prev.created_at < std::chrono::seconds(kIdempotencyLeaseSeconds))
      return Reply::Error(Status::Conflict("a request with this Idempotency-Key is still in progress"));
    // Abandoned by a crashed attempt: take it over.
    Status st = engine_->store->PutRecord(claim);
    if (!st.ok()) return Reply::Error(st);
    break;
  }

  Reply r = route.handler(ctx);
  if (r.status >= 200 && r.status < 300 && r.file_path.empty()) {
    Record done = claim;
    done.value = {{"state", "done"},        {"fingerprint", fingerprint}, {"status", r.status},
                  {"content_type", r.content_type}, {"body", r.body}};
    Status st = engine_->store->PutRecord(done);
    if (!st.ok()) spdlog::warn("http: could not store idempotent response: {}", st.ToString());
  } else {
    Status st = engine_->store->DeleteRecord(kIdempotencyKind, rkey);
    if (!st.ok()) spdlog::warn("http: could not release idempotency key: {}", st.ToString());
  }
  return r;
}

}  // namespace lethe::http
