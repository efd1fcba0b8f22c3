// `lethe run --config FILE [--once]`: workers and scheduler without HTTP, for
// cron and batch use. --once does all due work and exits: 0 when everything
// it ran completed, 1 when a request failed.
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <memory>
#include <thread>

#include <spdlog/spdlog.h>

#include "cli/commands.h"
#include "cli/context.h"
#include "lethe/exec.h"
#include "notify/scheduler.h"

namespace lethe::cli {
namespace {

std::atomic<bool> g_stop{false};

struct RunOptions {
  std::string config;
  bool once = false;
  int interval = 5;
};

void Run(const RunOptions& o) {
  auto e = OpenEngine(o.config);
  if (!e) return;
  auto ex = MakeExecutor(e->config, *e->store, e->pseudonym_key);
  if (!ex.ok()) return (void)Fail(ex.status());
  Scheduler scheduler(*e->workflow, EngineNotifier(), e->config, ex->get());
  WorkerOptions wo;
  wo.lease = e->config.worker_lease;
  Worker worker(*e->workflow, **ex, wo);

  std::signal(SIGTERM, [](int) { g_stop = true; });
  std::signal(SIGINT, [](int) { g_stop = true; });
  int total = 0, failed = 0;
  do {
    // Drain: a finished request may make the next one runnable.
    while (!g_stop) {
      auto n = worker.RunOnce();
      if (!n.ok() && o.once) return (void)Fail(n.status());
      if (!n.ok()) {
        // The queue could not be read (the store busy past its timeout):
        // a long-running worker tries again next round.
        spdlog::warn("worker: {}", n.status().ToString());
        break;
      }
      total += *n;
      failed += worker.failed();
      if (*n == 0) break;
    }
    auto sent = scheduler.Tick(Now());
    if (!sent.ok()) spdlog::warn("scheduler tick failed: {}", sent.status().ToString());
    if (o.once) break;
    for (int i = 0; i < o.interval * 10 && !g_stop; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  } while (!g_stop);
  if (o.once) std::printf("ran %d request(s), %d failed\n", total, failed);
  if (failed > 0) ExitCode() = 1;
}

}  // namespace

void AddRunCommand(CLI::App& app) {
  auto o = std::make_shared<RunOptions>();
  auto* sub = app.add_subcommand("run", "Run workers and the scheduler without HTTP");
  sub->add_option("--config", o->config, "Config file")->required();
  sub->add_flag("--once", o->once, "Do all due work, then exit");
  sub->add_option("--interval", o->interval, "Seconds between rounds")->check(CLI::Range(1, 3600));
  sub->callback([o] { Run(*o); });
}

}  // namespace lethe::cli
