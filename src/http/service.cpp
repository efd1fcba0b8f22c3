#include "http/service.h"

#include <cctype>
#include <chrono>
#include <exception>

#include <spdlog/spdlog.h>

#include "lethe/hex.h"
#include "http/json_input.h"
#include "notify/notifications.h"
#include "notify/notifier.h"
#include "notify/scheduler.h"
#include "lethe/exec.h"

#include "lethe/util/uri.h"

namespace lethe::http {
namespace {

constexpr const char* kIdempotencyKind = "idempotency";
// A "pending" idempotency record older than this was left by a crash.
constexpr int kIdempotencyLeaseSeconds = 60;
// How long a key replays its first result (docs/api.md); after that the
// record is gone and the key may be used afresh.
constexpr auto kIdempotencyTtl = std::chrono::hours(24);
// Expired records deleted per new claim: enough to keep up with any claim
// rate, small enough that no single request pays for a backlog.
constexpr int kIdempotencyPurgeBatch = 20;

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

// Routes a data subject (or someone posing as one) calls: a 5xx there shows
// a plain message, never a server path or a database error.
bool SubjectFacing(const Route& route) {
  if (route.access == Access::kSubject) return true;
  for (std::string_view prefix :
       {"/v1/self/", "/v1/public/", "/v1/verify", "/v1/downloads/", "/examples/settings-page/", "/privacy/"}) {
    if (route.pattern.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

Reply PlainServerError(unsigned status) {
  const bool unavailable = status == 503;
  Reply r =
      Reply::Json(status, {{"error",
                            {{"code", unavailable ? "unavailable" : "internal"},
                             {"message", unavailable ? "The service is unavailable right now. Please try again later."
                                                     : "Something went wrong on our side. Please try again later."}}}});
  return r;
}

// The GET path that shows the resource a successful POST created or acted
// on, from its response: a Lethe request ("id") or an OpenDSR request
// ("subject_request_id"). Empty when the response names neither.
std::string ResourcePath(const Route& route, const Principal& who, const std::string& body) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return "";
  if (route.pattern.rfind("/opendsr/", 0) == 0) {
    auto it = j.find("subject_request_id");
    return it != j.end() && it->is_string() ? "/opendsr/requests/" + util::PercentEncode(it->get<std::string>()) : "";
  }
  auto it = j.find("id");
  if (it == j.end() || !it->is_string()) return "";
  const std::string base = who.kind == Principal::Kind::kSubject ? "/v1/self/requests/" : "/v1/requests/";
  return base + util::PercentEncode(it->get<std::string>());
}

// 405 names the methods the path does answer (RFC 9110 §15.5.6).
Reply MethodNotAllowed(const std::vector<bhttp::verb>& allowed) {
  Reply r = Reply::Error(Status(Code::kInvalid, "method not allowed"));
  r.status = 405;
  std::string allow;
  for (bhttp::verb v : allowed) {
    boost::beast::string_view name = bhttp::to_string(v);
    allow += (allow.empty() ? "" : ", ") + std::string(name.data(), name.size());
  }
  r.headers.emplace_back("Allow", allow);
  return r;
}

std::string_view TargetPath(std::string_view target) { return target.substr(0, target.find('?')); }

}  // namespace

Service::Service(const Config& config, ServiceOptions opts)
    : opts_(std::move(opts)),
      subject_limiter_(opts_.subject_burst, opts_.subject_per_second),
      operator_limiter_(opts_.operator_burst, opts_.operator_per_second) {}

Service::~Service() = default;

Result<std::unique_ptr<Service>> Service::Create(const Config& config, ServiceOptions opts) {
  std::unique_ptr<Service> s(new Service(config, std::move(opts)));
  LETHE_ASSIGN_OR_RETURN(auto engine, Engine::Open(config));
  s->engine_ = std::move(engine);
  const Config& c = s->engine_->config;

  JwtSettings jwt;
  if (!c.jwt_secret_env.empty()) {
    LETHE_ASSIGN_OR_RETURN(auto secret, c.JwtSecret());
    jwt.secret = secret;
    jwt.issuer = c.jwt_issuer;
    jwt.audience = c.jwt_audience;
  }
  s->auth_ = std::make_unique<Authenticator>(c.operators, jwt);

  s->executor_ = std::move(s->opts_.executor);
  if (!s->executor_) {
    LETHE_ASSIGN_OR_RETURN(auto ex, MakeExecutor(c, *s->engine_->store, s->engine_->pseudonym_key));
    s->executor_ = std::move(ex);
  }
  if (s->executor_) {
    WorkerOptions wo;
    wo.lease = c.worker_lease;
    s->worker_ = std::make_unique<Worker>(*s->engine_->workflow, *s->executor_, wo);
  }

  LETHE_ASSIGN_OR_RETURN(auto notifier, Notifier::Create(c));
  s->notifier_ = std::move(notifier);
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
  ShapeError(Sv(req.target()), &reply);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  http_latency_.Observe(secs);
  // The route pattern, never the raw path: download tokens live in paths.
  spdlog::info("http: method={} route={} status={} ms={:.2f}", Sv(req.method_string()), route_name, reply.status,
               secs * 1000);
  return reply;
}

Status Service::Authorize(const Route& route, const HttpRequest& req, Context* ctx) {
  const std::string_view authz = Sv(req[bhttp::field::authorization]);
  if (route.access == Access::kSubject) {
    LETHE_ASSIGN_OR_RETURN(auto p, auth_->Subject(authz, ctx->now));
    ctx->principal = p;
  } else if (route.access != Access::kPublic) {
    LETHE_ASSIGN_OR_RETURN(auto p, auth_->Operator(authz));
    if (!RoleAllows(route.access, p.role)) {
      return Status::Forbidden("role \"" + std::string(ToString(p.role)) + "\" may not call " +
                               std::string(Sv(req.method_string())) + " " + route.pattern);
    }
    ctx->principal = p;
  }
  return Status::Ok();
}

std::optional<Reply> Service::EarlyReply(const HttpRequest& req) {
  std::optional<Reply> out;
  try {
    const std::string_view path = TargetPath(Sv(req.target()));
    if (path.empty() || path.front() != '/') return std::nullopt;  // Dispatch words this one
    Router::Match m = router_.Find(req.method(), path);
    if (m.route == nullptr) {
      out = m.path_known ? MethodNotAllowed(m.allowed) : Reply::Error(Status::NotFound("no such endpoint"));
    } else {
      Context ctx{req, {}, {}, {}, Now()};
      Status st = Authorize(*m.route, req, &ctx);
      if (!st.ok()) out = Reply::Error(st);
    }
  } catch (...) {
    return std::nullopt;  // let the full path answer
  }
  if (out) ShapeError(Sv(req.target()), &*out);
  return out;
}

void Service::ShapeError(std::string_view target, Reply* reply) const {
  if (reply->status < 400 || reply->content_type != "application/json") return;
  if (TargetPath(target).rfind("/opendsr/", 0) != 0) return;
  nlohmann::json j = nlohmann::json::parse(reply->body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("error") || !j["error"].is_object()) return;
  j["error"]["code"] = reply->status;
  reply->body = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Reply Service::Dispatch(const HttpRequest& req, std::string* route_name) {
  std::string_view target = Sv(req.target());
  std::string_view path = TargetPath(target);
  std::string_view query = path.size() < target.size() ? target.substr(path.size() + 1) : std::string_view();
  if (path.empty() || path.front() != '/') return Reply::Error(Status::Invalid("request target must be a path"));

  Router::Match m = router_.Find(req.method(), path);
  if (m.route == nullptr) {
    if (m.path_known) return MethodNotAllowed(m.allowed);
    return Reply::Error(Status::NotFound("no such endpoint"));
  }
  const Route& route = *m.route;
  *route_name = route.pattern;

  Context ctx{req, std::move(m.params), {}, {}, Now()};
  if (!ParseQuery(query, &ctx.query)) return Reply::Error(Status::Invalid("malformed query string"));
  if (Status st = Authorize(route, req, &ctx); !st.ok()) return Reply::Error(st);

  if (route.rate_limited) {
    RateLimiter& limiter = ctx.principal.kind == Principal::Kind::kSubject ? subject_limiter_ : operator_limiter_;
    if (!limiter.Allow(ctx.principal.Key())) {
      Reply r = Reply::Error(Status(Code::kRateLimited, "too many requests; try again later"));
      r.headers.emplace_back("Retry-After", std::to_string(kRetryAfterSeconds));
      return r;
    }
  }

  // Every body Lethe reads is JSON; a form or text/plain body is refused
  // before anything parses it (contract section 4).
  if (!req.body().empty() && !IsJsonMediaType(Sv(req[bhttp::field::content_type]))) {
    const std::string msg = "the body must be application/json";
    const bool opendsr = route.pattern.rfind("/opendsr/", 0) == 0;
    return Reply::Json(
        415,
        {{"error",
          {{"code", opendsr ? nlohmann::json(415) : nlohmann::json("unsupported_media_type")}, {"message", msg}}}});
  }

  Reply reply;
  const std::string_view idem = Sv(req["Idempotency-Key"]);
  if (req.method() == bhttp::verb::post && !idem.empty() && ctx.principal.kind != Principal::Kind::kNone) {
    if (!ValidIdempotencyKey(idem))
      return Reply::Error(Status::Invalid("Idempotency-Key must be 1-255 visible ASCII characters"));
    reply = WithIdempotency(std::string(idem), ctx, route);
  } else {
    reply = route.handler(ctx);
  }
  if (reply.status >= 500 && SubjectFacing(route)) {
    // The detail is for operators (the log); the subject gets a plain
    // message. Error texts carry codes and constraint names, not values.
    nlohmann::json detail = nlohmann::json::parse(reply.body, nullptr, false);
    spdlog::error("http: {} {}: {} {}", Sv(req.method_string()), route.pattern, reply.status,
                  detail.is_object() ? detail.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                                     : std::string("(no detail)"));
    reply = PlainServerError(reply.status);
  }
  return reply;
}

// The first response to (principal, key) is returned again for every retry
// within kIdempotencyTtl. The record is claimed before the handler runs, so
// two concurrent retries cannot both act; the loser gets 409 until the first
// finishes. Only successes are kept: a failed attempt may be retried.
//
// A record keeps no response body: bodies hold the subject's identity, and
// the store must not keep copies of it that an erasure would have to hunt
// down. It keeps the status, a SHA-256 of the first body, and the path of
// the resource the body showed; a replay reads that resource afresh, so it
// shows the request as it is now, with the first status.
Reply Service::WithIdempotency(const std::string& key, Context& ctx, const Route& route) {
  const std::string rkey = ctx.principal.Key() + ":" + key;
  const std::string fingerprint = Sha256Hex(std::string(Sv(ctx.req.method_string())) + " " +
                                            std::string(Sv(ctx.req.target())) + "\n" + ctx.req.body());
  Record claim;
  claim.kind = kIdempotencyKind;
  claim.key = rkey;
  claim.value = {{"state", "pending"}, {"fingerprint", fingerprint}};
  claim.due_at = ctx.now + kIdempotencyTtl;
  claim.created_at = ctx.now;
  bool claimed = false;
  for (int attempt = 0; attempt < 3 && !claimed; ++attempt) {
    Result<bool> put = engine_->store->PutRecordIfAbsent(claim);
    if (!put.ok()) return Reply::Error(put.status());
    if (*put) {
      claimed = true;
      PurgeExpiredIdempotency(ctx.now);
      break;
    }
    Result<std::optional<Record>> got = engine_->store->GetRecord(kIdempotencyKind, rkey);
    if (!got.ok()) return Reply::Error(got.status());
    if (!got->has_value()) continue;  // deleted meanwhile: claim again
    const Record& prev = **got;
    if (prev.due_at && *prev.due_at <= ctx.now) {
      // Expired: the key is free again. Delete and claim anew, so that of
      // two retries racing here only one wins the claim.
      Status st = engine_->store->DeleteRecord(kIdempotencyKind, rkey);
      if (!st.ok()) return Reply::Error(st);
      continue;
    }
    if (prev.value.value("fingerprint", "") != fingerprint)
      return Reply::Error(Status::Conflict("Idempotency-Key was already used for a different request"));
    if (prev.value.value("state", "") == "done") return Replay(prev, ctx);
    if (ctx.now - prev.created_at < std::chrono::seconds(kIdempotencyLeaseSeconds))
      return Reply::Error(Status::Conflict("a request with this Idempotency-Key is still in progress"));
    // Abandoned by a crashed attempt: take it over.
    Status st = engine_->store->PutRecord(claim);
    if (!st.ok()) return Reply::Error(st);
    claimed = true;
  }
  // Never run the handler unclaimed: a concurrent retry could run it too.
  if (!claimed) return Reply::Error(Status::Conflict("a request with this Idempotency-Key is still in progress"));

  Reply r = route.handler(ctx);
  const std::string resource = r.status >= 200 && r.status < 300 && r.file_path.empty()
                                   ? ResourcePath(route, ctx.principal, r.body)
                                   : std::string();
  if (!resource.empty()) {
    Record done = claim;
    done.value = {{"state", "done"},
                  {"fingerprint", fingerprint},
                  {"status", r.status},
                  {"resource", resource},
                  {"body_sha256", Sha256Hex(r.body)}};
    Status st = engine_->store->PutRecord(done);
    if (!st.ok()) spdlog::warn("http: could not store idempotent response: {}", st.ToString());
  } else {
    // A failure, or a response that names no resource to replay: nothing
    // to remember, so a retry runs again.
    Status st = engine_->store->DeleteRecord(kIdempotencyKind, rkey);
    if (!st.ok()) spdlog::warn("http: could not release idempotency key: {}", st.ToString());
  }
  return r;
}

// The first response again: the resource's GET route, called as the same
// caller, answered with the first status.
Reply Service::Replay(const Record& prev, Context& ctx) {
  const std::string resource = prev.value.value("resource", "");
  Router::Match m = router_.Find(bhttp::verb::get, resource);
  if (m.route == nullptr) return Reply::Error(Status::Internal("idempotency record names no route"));
  Context view{ctx.req, std::move(m.params), {}, ctx.principal, ctx.now};
  Reply r = m.route->handler(view);
  if (r.status == 200) r.status = prev.value.value("status", 200u);
  r.headers.emplace_back("Idempotent-Replayed", "true");
  return r;
}

// Deletes a few records past their expiry, so keys do not pile up forever.
void Service::PurgeExpiredIdempotency(Time now) {
  Result<std::vector<Record>> old = engine_->store->Records(kIdempotencyKind, now, kIdempotencyPurgeBatch);
  if (!old.ok()) {
    spdlog::warn("http: could not list expired idempotency keys: {}", old.status().ToString());
    return;
  }
  for (const Record& r : *old) {
    Status st = engine_->store->DeleteRecord(r.kind, r.key);
    if (!st.ok()) spdlog::warn("http: could not purge an idempotency key: {}", st.ToString());
  }
}

}  // namespace lethe::http
