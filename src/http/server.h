// The network side of `lethe serve`: a Boost.Beast HTTP/1.1 server after
// Beast's advanced server example. One listener, one session per
// connection (keep-alive), a thread pool sized to the machine, a body limit
// (413), read/write timeouts, and a graceful stop on SIGTERM/SIGINT: stop
// accepting, let in-flight requests finish, exit 0. The limits, and why
// each has its value, are in limits.h.
//
// Background work (Worker::RunOnce, Scheduler::Tick) runs on its own thread,
// never on the IO threads.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "http/limits.h"
#include "lethe/config.h"
#include "lethe/status.h"

namespace lethe::http {

class Service;

struct ServeOptions {
  std::string listen;        // "host:port"; empty: the config's listen. Port 0: any free port.
  bool workers = true;       // run workers and the scheduler beside the server
  std::string static_dir;    // /inbox/ files (default <source>/web/inbox)
  std::string examples_dir;  // /examples/settings-page/ files
  int threads = 0;           // IO threads; 0: kIoThreadsPerCore per core
  std::chrono::milliseconds worker_interval = kWorkerInterval;
  std::chrono::milliseconds scheduler_interval = kSchedulerInterval;
  std::chrono::seconds read_timeout = kReadTimeout;        // a whole request, headers and body
  std::chrono::seconds write_timeout = kWriteTimeout;      // a whole response (large exports)
  std::chrono::seconds drain_timeout = kStopDrainTimeout;  // how long a stop waits for in-flight requests
  // Called once the socket listens, with the bound port (tests, the demo's banner).
  std::function<void(unsigned short port)> on_listening;
};

// The server without signal handling: tests start it on an ephemeral port
// in-process and stop it when done.
class HttpServer {
 public:
  HttpServer(Service& service, ServeOptions opts);
  ~HttpServer();  // stops if running
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts the IO threads (and, if opts.workers, the background thread).
  Status Start();
  unsigned short port() const;
  // Stops accepting, lets in-flight requests finish (up to drain_timeout),
  // closes idle keep-alive connections, joins every thread. Idempotent.
  void Stop();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Runs `service` until SIGTERM or SIGINT, then stops gracefully. OK after a
// signal; an error if the address cannot be bound.
Status Serve(Service& service, ServeOptions opts);

// Builds the Service from an already-loaded Config (store, workflow,
// executor, notifier) and serves it: what `lethe serve` and `lethe demo` run.
Status ServeConfig(const Config& config, ServeOptions opts);

}  // namespace lethe::http
