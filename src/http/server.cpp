#include "http/server.h"

#include <atomic>
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

template <class Body>
void CommonHeaders(bhttp::response<Body>& res, const Reply& r, unsigned version, bool keep_alive) {
  res.version(version);
  res.result(r.status);
  res.set(bhttp::field::server, "lethe");
  res.set(bhttp::field::content_type, r.content_type);
  res.set("X-Content-Type-Options", "nosniff");
  if (r.content_type == "application/json") res.set(bhttp::field::cache_control, "no-store");
  for (const auto& [k, v] : r.headers) res.set(k, v);
  res.keep_alive(keep_alive);
}

bhttp::message_generator MakeResponse(Reply r, unsigned version, bool keep_alive, bool head) {
  if (!r.file_path.empty()) {
    beast::error_code ec;
    bhttp::file_body::value_type file;
    file.open(r.file_path.c_str(), beast::file_mode::scan, ec);
    if (!ec) {
      bhttp::response<bhttp::file_body> res;
      CommonHeaders(res, r, version, keep_alive);
      res.body() = std::move(file);
      res.prepare_payload();
      return res;
    }
    r = Reply::Error(Status::NotFound("file is no longer available"));
  }
  bhttp::response<bhttp::string_body> res;
  CommonHeaders(res, r, version, keep_alive);
  res.body() = std::move(r.body);
  res.prepare_payload();
  if (head) res.body().clear();
  return res;
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
  void DoRead() {
    if (server_.stopping) return DoClose();
    parser_.emplace();
    parser_->body_limit(kBodyLimit);
    parser_->header_limit(16 * 1024);
    reading_ = true;
    stream_.expires_after(server_.opts.read_timeout);
    bhttp::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&Session::OnRead, shared_from_this()));
  }

  void OnRead(beast::error_code ec, std::size_t) {
    reading_ = false;
    if (ec == bhttp::error::end_of_stream || ec == asio::error::operation_aborted || ec == beast::error::timeout)
      return DoClose();
    if (ec == bhttp::error::body_limit) {
      return SendError(Status(Code::kTooLarge, "request body exceeds 1 MiB"), /*drain=*/true);
    }
    if (ec && ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category()) {
      // Beast's parse errors (bad method, bad header ...): tell the client, then close.
      return SendError(Status::Invalid("malformed HTTP request: " + ec.message()), false);
    }
    if (ec) return DoClose();

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

  void SendError(const Status& st, bool drain) {
    server_.service.http_latency().Observe(0);
    Write(MakeResponse(Reply::Error(st), 11, false, false), false, drain);
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
    stream_.expires_after(std::chrono::seconds(5));
    drain_buf_.resize(64 * 1024);
    DrainSome();
  }
  void DrainSome() {
    stream_.async_read_some(asio::buffer(drain_buf_), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
      self->drained_ += n;
      if (ec || self->drained_ > 64 * kBodyLimit) return self->DoClose();
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

HttpServer::HttpServer(Service& service, ServeOptions opts)
    : impl_(std::make_unique<Impl>(service, std::move(opts))) {}

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
  if (ec || results.empty()) return Status::Invalid("listen: cannot resolve \"" + host + ":" + port + "\": " + ec.message());
  tcp::endpoint ep = results.begin()->endpoint();
  s.acceptor.open(ep.protocol(), ec);
  if (!ec) s.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) s.acceptor.bind(ep, ec);
  if (!ec) s.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Status::Unavailable("listen " + host + ":" + port + ": " + ec.message());
  s.port = s.acceptor.local_endpoint().port();

  s.guard.emplace(s.ioc.get_executor());
  s.DoAccept();
  int n = s.opts.threads > 0 ? s.opts.threads : static_cast<int>(std::thread::hardware_concurrency());
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
  Result<std::unique_ptr<Service>> service = Service::Create(config, std::move(so));
  if (!service.ok()) return service.status();
  return Serve(**service, std::move(opts));
}

}  // namespace lethe::http
