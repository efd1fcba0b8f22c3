#include "http/server.h"

#include <atomic>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <spdlog/spdlog.h>

#include "http/reply.h"
#include "http/service.h"

namespace lethe::http {

namespace beast = boost::beast;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// Parses "host:port", "[v6]:port" or ":port".
Status SplitHostPort(const std::string& listen, std::string* host, std::string* port) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return Status::Invalid("listen address must be host:port, got \"" + listen + "\"");
  *host = listen.substr(0, colon);
  *port = listen.substr(colon + 1);
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']') *host = host->substr(1, host->size() - 2);
  if (host->empty()) *host = "0.0.0.0";
  if (port->empty()) return Status::Invalid("listen address has no port: \"" + listen + "\"");
  return Status::Ok();
}

// RFC 9110 §5.6.7 IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"), built by
// hand so that no locale can change the day and month names.
std::string HttpDate(std::chrono::system_clock::time_point t) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday % 7], tm.tm_mday,
                kMonths[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

// Pages (the inbox, the settings example, the hosted form) load only their
// own scripts, styles and API: no inline code, nothing from elsewhere, never
// framed. Other responses are data and may load nothing at all.
constexpr const char* kPageCsp =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'";
constexpr const char* kDataCsp = "default-src 'none'; frame-ancestors 'none'";

template <class Body>
void CommonHeaders(bhttp::response<Body>& res, const Reply& r, unsigned version, bool keep_alive) {
  res.version(version);
  res.result(r.status);
  res.set(bhttp::field::server, "lethe");
  res.set(bhttp::field::date, HttpDate(std::chrono::system_clock::now()));
  res.set(bhttp::field::content_type, r.content_type);
  res.set("X-Content-Type-Options", "nosniff");
  res.set("X-Frame-Options", "DENY");
  res.set("Referrer-Policy", "no-referrer");
  res.set("Content-Security-Policy", r.content_type.rfind("text/html", 0) == 0 ? kPageCsp : kDataCsp);
  if (r.content_type == "application/json") res.set(bhttp::field::cache_control, "no-store");
  for (const auto& [k, v] : r.headers) res.set(k, v);
  res.keep_alive(keep_alive);
}

// A HEAD answer is the GET answer's header (Content-Length included) with
// no body (RFC 9110 §9.3.2).
bhttp::message_generator HeadResponse(const Reply& r, uint64_t length, unsigned version, bool keep_alive) {
  bhttp::response<bhttp::empty_body> res;
  CommonHeaders(res, r, version, keep_alive);
  res.content_length(length);
  return res;
}

bhttp::message_generator MakeResponse(Reply r, unsigned version, bool keep_alive, bool head) {
  if (!r.file_path.empty()) {
    beast::error_code ec;
    bhttp::file_body::value_type file;
    file.open(r.file_path.c_str(), beast::file_mode::scan, ec);
    if (!ec) {
      if (head) return HeadResponse(r, file.size(), version, keep_alive);
      bhttp::response<bhttp::file_body> res;
      CommonHeaders(res, r, version, keep_alive);
      res.body() = std::move(file);
      res.prepare_payload();
      return res;
    }
    r = Reply::Error(Status::NotFound("file is no longer available"));
  }
  if (head) return HeadResponse(r, r.body.size(), version, keep_alive);
  bhttp::response<bhttp::string_body> res;
  CommonHeaders(res, r, version, keep_alive);
  res.body() = std::move(r.body);
  res.prepare_payload();
  return res;
}

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

std::string_view Trim(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

// What the request line and header fields alone already decide, before a
// byte of the body is read. An error reply, or nullopt to go on.
std::optional<Reply> CheckFraming(const bhttp::request_parser<bhttp::string_body>::value_type& req) {
  // RFC 9112 §3.2: an HTTP/1.1 request needs exactly one Host; any request
  // with two is refused, since proxies and we might pick different ones.
  const size_t hosts = req.count(bhttp::field::host);
  if (hosts > 1) return Reply::Error(Status::Invalid("more than one Host header field"));
  if (hosts == 0 && req.version() >= 11)
    return Reply::Error(Status::Invalid("an HTTP/1.1 request needs a Host header field"));
  // RFC 9112 §6.1 / RFC 9110 §15.6.2: we decode chunked and nothing else.
  // Beast would strip a final "chunked" and hand us still-gzipped bytes.
  std::vector<std::string_view> codings;
  for (const auto& f : req) {
    if (f.name() != bhttp::field::transfer_encoding) continue;
    std::string_view v(f.value().data(), f.value().size());
    for (size_t i = 0; i <= v.size();) {
      size_t j = v.find(',', i);
      if (j == std::string_view::npos) j = v.size();
      if (std::string_view c = Trim(v.substr(i, j - i)); !c.empty()) codings.push_back(c);
      i = j + 1;
    }
  }
  if (codings.empty()) return std::nullopt;
  // §6.3: chunked must be final and (§6.1) applied once, or the body's
  // length cannot be known.
  for (size_t i = 0; i < codings.size(); ++i) {
    if (IEquals(codings[i], "chunked") != (i + 1 == codings.size()))
      return Reply::Error(Status::Invalid("Transfer-Encoding must end in a single chunked"));
  }
  if (codings.size() > 1) {
    Reply r = Reply::Error(Status::Invalid("transfer coding is not implemented; only chunked is"));
    r.status = 501;
    return r;
  }
  return std::nullopt;
}

// RFC 9112 §3.2.2: an absolute-form target ("http://host/v1/x?y") names the
// same resource as its path; the router only knows paths.
void ToOriginForm(bhttp::request_parser<bhttp::string_body>::value_type& req) {
  std::string_view t(req.target().data(), req.target().size());
  size_t scheme = t.find("://");
  if (scheme == std::string_view::npos || t.empty() || t.front() == '/') return;
  std::string_view s = t.substr(0, scheme);
  if (!IEquals(s, "http") && !IEquals(s, "https")) return;
  std::string_view rest = t.substr(scheme + 3);
  size_t path = rest.find_first_of("/?");
  std::string origin = path == std::string_view::npos ? "/" : std::string(rest.substr(path));
  if (origin.front() == '?') origin = "/" + origin;
  req.target(origin);
}

bool ExpectsContinue(const bhttp::request_parser<bhttp::string_body>::value_type& req) {
  auto it = req.find(bhttp::field::expect);
  return it != req.end() && IEquals(Trim(std::string_view(it->value().data(), it->value().size())), "100-continue");
}

}  // namespace

class Session;

struct HttpServer::Impl {
  // Declared first so they outlive the io_context: sessions still queued in
  // it unregister themselves when it is destroyed.
  std::mutex mu;
  std::condition_variable cv;
  uint64_t next_id = 0;
  std::map<uint64_t, std::weak_ptr<Session>> sessions;

  Service& service;
  ServeOptions opts;
  asio::io_context ioc;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard;
  tcp::acceptor acceptor;
  std::vector<std::thread> threads;
  std::atomic<bool> stopping{false};
  bool started = false, stopped = false;
  unsigned short port = 0;

  // Background worker/scheduler thread.
  std::thread background;
  std::mutex bg_mu;
  std::condition_variable bg_cv;
  bool bg_stop = false;

  Impl(Service& s, ServeOptions o) : service(s), opts(std::move(o)), ioc(), acceptor(asio::make_strand(ioc)) {}

  void DoAccept();
  void RunBackground();
  uint64_t Register(const std::shared_ptr<Session>& s) {
    std::lock_guard<std::mutex> lock(mu);
    sessions[++next_id] = s;
    return next_id;
  }
  void Unregister(uint64_t id) {
    std::lock_guard<std::mutex> lock(mu);
    sessions.erase(id);
    cv.notify_all();
  }
};

// One connection: read a request, handle it, write the reply, repeat while
// keep-alive. All of a session's handlers run on its strand.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, HttpServer::Impl& server) : stream_(std::move(socket)), server_(server) {}
  ~Session() { server_.Unregister(id_); }

  void Run() {
    id_ = server_.Register(shared_from_this());
    asio::dispatch(stream_.get_executor(), beast::bind_front_handler(&Session::DoRead, shared_from_this()));
  }

  // Called at stop: an idle connection (waiting for its next request) is
  // closed now; a busy one closes after its reply is written.
  void CloseIfIdle() {
    asio::post(stream_.get_executor(), [self = shared_from_this()] {
      if (self->reading_) {
        beast::error_code ec;
        self->stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
        self->stream_.cancel();
      }
    });
  }

 private:
  // The header comes first and alone, so that a request can be refused
  // (and "100 Continue" sent) before its body is read.
  void DoRead() {
    if (server_.stopping) return DoClose();
    parser_.emplace();
    parser_->body_limit(kBodyLimit);
    parser_->header_limit(kHeaderLimit);
    reading_ = true;
    stream_.expires_after(server_.opts.read_timeout);
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             beast::bind_front_handler(&Session::OnHeader, shared_from_this()));
  }

  // Errors that end the connection; false when `ec` is none of them.
  bool OnReadError(beast::error_code ec) {
    if (!ec) return false;
    reading_ = false;
    if (ec == bhttp::error::end_of_stream || ec == asio::error::operation_aborted || ec == beast::error::timeout) {
      DoClose();
    } else if (ec == bhttp::error::body_limit) {
      static_assert(kBodyLimit % (1024 * 1024) == 0, "the 413 message counts whole MiB");
      SendError(Reply::Error(Status(Code::kTooLarge,
                                    "request body exceeds " + std::to_string(kBodyLimit / (1024 * 1024)) + " MiB")),
                /*drain=*/true);
    } else if (ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category()) {
      // Beast's parse errors (bad method, bad header ...): tell the client, then close.
      SendError(Reply::Error(Status::Invalid("malformed HTTP request: " + ec.message())), false);
    } else {
      DoClose();
    }
    return true;
  }

  void OnHeader(beast::error_code ec, std::size_t) {
    if (OnReadError(ec)) return;
    auto& req = parser_->get();
    // Refusals before the body: drain what the client may still send, so
    // that closing does not reset the connection before it reads our answer.
    if (std::optional<Reply> refused = CheckFraming(req)) return SendError(std::move(*refused), /*drain=*/true);
    ToOriginForm(req);
    if (parser_->is_done()) return OnRead({}, 0);
    if (req.version() >= 11 && ExpectsContinue(req)) {
      // RFC 9110 §10.1.1: answer now. A final status (401, 403, 404 ...)
      // tells the client not to send the body at all; otherwise go ahead.
      HttpRequest head_only(req.base());
      if (std::optional<Reply> early = server_.service.EarlyReply(head_only))
        return SendError(std::move(*early), /*drain=*/true);
      auto cont = std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_, req.version());
      return bhttp::async_write(stream_, *cont, [self = shared_from_this(), cont](beast::error_code wec, std::size_t) {
        if (wec) return self->DoClose();
        self->ReadBody();
      });
    }
    ReadBody();
  }

  void ReadBody() {
    bhttp::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&Session::OnRead, shared_from_this()));
  }

  void OnRead(beast::error_code ec, std::size_t) {
    if (OnReadError(ec)) return;
    reading_ = false;
    HttpRequest req = parser_->release();
    const bool keep = req.keep_alive() && !server_.stopping;
    const bool head = req.method() == bhttp::verb::head;
    Reply reply;
    try {
      reply = server_.service.Handle(req);
    } catch (...) {
      reply = Reply::Error(Status::Internal("internal error"));
    }
    Write(MakeResponse(std::move(reply), req.version(), keep, head), keep, false);
  }

  // A reply decided before (or instead of) reading the body: the
  // connection closes after it, since the body's framing is not trusted.
  void SendError(Reply reply, bool drain) {
    server_.service.http_latency().Observe(0);
    if (parser_)
      server_.service.ShapeError(std::string_view(parser_->get().target().data(), parser_->get().target().size()),
                                 &reply);
    Write(MakeResponse(std::move(reply), 11, false, false), false, drain);
  }

  void Write(bhttp::message_generator msg, bool keep_alive, bool drain) {
    stream_.expires_after(server_.opts.write_timeout);
    beast::async_write(stream_, std::move(msg),
                       [self = shared_from_this(), keep_alive, drain](beast::error_code ec, std::size_t) {
                         if (ec) return self->DoClose();
                         if (drain) return self->DrainAndClose();
                         if (!keep_alive || self->server_.stopping) return self->DoClose();
                         self->DoRead();
                       });
  }

  // After a 413 the client may still be sending the body. Closing at once
  // would reset the connection and the client might never read our reply,
  // so stop sending and read (and drop) what is left for a while first.
  void DrainAndClose() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.expires_after(kDrainTimeout);
    drain_buf_.resize(kDrainChunk);
    DrainSome();
  }
  void DrainSome() {
    stream_.async_read_some(asio::buffer(drain_buf_), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
      self->drained_ += n;
      if (ec || self->drained_ > kDrainMaxBytes) return self->DoClose();
      self->DrainSome();
    });
  }

  void DoClose() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.socket().close(ec);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  HttpServer::Impl& server_;
  uint64_t id_ = 0;
  bool reading_ = false;
  std::vector<char> drain_buf_;
  size_t drained_ = 0;
};

void HttpServer::Impl::DoAccept() {
  acceptor.async_accept(asio::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == asio::error::operation_aborted || stopping || !acceptor.is_open()) return;
      spdlog::warn("http: accept failed: {}", ec.message());
    } else {
      std::make_shared<Session>(std::move(socket), *this)->Run();
    }
    if (!stopping) DoAccept();
  });
}

void HttpServer::Impl::RunBackground() {
  auto next_tick = std::chrono::steady_clock::now();
  for (;;) {
    if (opts.workers) {
      Result<int> n = service.RunWorkers();
      if (!n.ok()) spdlog::warn("worker: {}", n.status().ToString());
      if (std::chrono::steady_clock::now() >= next_tick) {
        Result<int> d = service.TickScheduler();
        if (!d.ok()) spdlog::warn("scheduler: {}", d.status().ToString());
        next_tick = std::chrono::steady_clock::now() + opts.scheduler_interval;
      }
    }
    std::unique_lock<std::mutex> lock(bg_mu);
    if (bg_cv.wait_for(lock, opts.worker_interval, [this] { return bg_stop; })) return;
  }
}

HttpServer::HttpServer(Service& service, ServeOptions opts) : impl_(std::make_unique<Impl>(service, std::move(opts))) {}

HttpServer::~HttpServer() { Stop(); }

unsigned short HttpServer::port() const { return impl_->port; }

Status HttpServer::Start() {
  Impl& s = *impl_;
  if (s.started) return Status::Invalid("server already started");
  std::string host, port;
  LETHE_RETURN_IF_ERROR(SplitHostPort(s.opts.listen.empty() ? s.service.config().listen : s.opts.listen, &host, &port));
  beast::error_code ec;
  tcp::resolver resolver(s.ioc);
  auto results = resolver.resolve(host, port, ec);
  if (ec || results.empty())
    return Status::Invalid("listen: cannot resolve \"" + host + ":" + port + "\": " + ec.message());
  tcp::endpoint ep = results.begin()->endpoint();
  s.acceptor.open(ep.protocol(), ec);
  if (!ec) s.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) s.acceptor.bind(ep, ec);
  if (!ec) s.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Status::Unavailable("listen " + host + ":" + port + ": " + ec.message());
  s.port = s.acceptor.local_endpoint().port();

  s.guard.emplace(s.ioc.get_executor());
  s.DoAccept();
  int n =
      s.opts.threads > 0 ? s.opts.threads : kIoThreadsPerCore * static_cast<int>(std::thread::hardware_concurrency());
  if (n < 1) n = 1;
  for (int i = 0; i < n; ++i) s.threads.emplace_back([&s] { s.ioc.run(); });
  s.background = std::thread([&s] { s.RunBackground(); });
  s.started = true;
  spdlog::info("http: listening on {}:{} with {} threads", host, s.port, n);
  if (s.opts.on_listening) s.opts.on_listening(s.port);
  return Status::Ok();
}

void HttpServer::Stop() {
  Impl& s = *impl_;
  if (!s.started || s.stopped) return;
  s.stopped = true;
  s.stopping = true;
  // 1. No new connections.
  asio::post(s.acceptor.get_executor(), [&s] {
    beast::error_code ec;
    s.acceptor.close(ec);
  });
  // 2. Idle keep-alive connections close now, busy ones after their reply.
  std::vector<std::shared_ptr<Session>> live;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    for (auto& [id, w] : s.sessions)
      if (auto p = w.lock()) live.push_back(std::move(p));
  }
  for (auto& p : live) p->CloseIfIdle();
  live.clear();
  // 3. Wait for in-flight requests, up to drain_timeout.
  {
    std::unique_lock<std::mutex> lock(s.mu);
    if (!s.cv.wait_for(lock, s.opts.drain_timeout, [&s] { return s.sessions.empty(); }))
      spdlog::warn("http: {} connections still open at shutdown; closing them", s.sessions.size());
  }
  {
    std::lock_guard<std::mutex> lock(s.bg_mu);
    s.bg_stop = true;
  }
  s.bg_cv.notify_all();
  if (s.background.joinable()) s.background.join();
  s.guard.reset();
  s.ioc.stop();
  for (auto& t : s.threads)
    if (t.joinable()) t.join();
  s.threads.clear();
  spdlog::info("http: stopped");
}

Status Serve(Service& service, ServeOptions opts) {
  HttpServer server(service, std::move(opts));
  LETHE_RETURN_IF_ERROR(server.Start());
  // Signals are awaited on their own io_context in this thread, so the
  // IO threads never block on them.
  asio::io_context sig_ioc;
  asio::signal_set signals(sig_ioc, SIGINT, SIGTERM);
  int got = 0;
  signals.async_wait([&got](const beast::error_code& ec, int sig) {
    if (!ec) got = sig;
  });
  sig_ioc.run();
  spdlog::warn("lethe: signal {} received, shutting down", got);
  server.Stop();
  return Status::Ok();
}

Status ServeConfig(const Config& config, ServeOptions opts) {
  ServiceOptions so;
  so.static_dir = opts.static_dir;
  so.examples_dir = opts.examples_dir;
  LETHE_ASSIGN_OR_RETURN(auto service, Service::Create(config, std::move(so)));
  return Serve(*service, std::move(opts));
}

}  // namespace lethe::http
