#include "cli/context.h"

#include "cli/commands.h"
#include "notify/notifications.h"

namespace lethe::cli {
namespace {
std::unique_ptr<Notifier> g_notifier;
}  // namespace

Notifier& EngineNotifier() { return *g_notifier; }

std::unique_ptr<Engine> OpenEngine(const std::string& config_path) {
  auto cfg = LoadConfig(config_path);
  if (!cfg.ok()) {
    Fail(Status::Invalid(cfg.status().message()));
    return nullptr;
  }
  auto engine = Engine::Open(std::move(*cfg));
  if (!engine.ok()) {
    Fail(engine.status());
    return nullptr;
  }
  // Actions taken from the CLI notify like those taken over HTTP: the
  // listener only queues to the outbox; `lethe run`/`serve` deliver.
  auto n = Notifier::Create((*engine)->config);
  if (!n.ok()) {
    Fail(Status::Invalid(config_path + ": " + n.status().ToString()));
    return nullptr;
  }
  g_notifier = std::move(*n);
  AttachNotifications(*(*engine)->workflow, *g_notifier, (*engine)->config);
  return std::move(*engine);
}

nlohmann::json RequestDetail(Engine& e, const Request& r) {
  using nlohmann::json;
  json j = r.ToJson(Now());
  json events = json::array(), tasks = json::array();
  if (auto ev = e.store->Events(r.id); ev.ok()) {
    for (const Event& x : *ev) {
      json o = {{"at", FormatRfc3339(x.at)}, {"kind", x.kind}, {"actor", x.actor}};
      if (!x.reason.empty()) o["reason"] = x.reason;
      if (!x.to_status.empty()) o["status"] = x.to_status;
      events.push_back(o);
    }
  }
  if (auto ts = e.store->Tasks(r.id); ts.ok()) {
    for (const Task& t : *ts) {
      json o = {{"connector", t.connector},
                {"collection", t.collection},
                {"action", t.action},
                {"status", t.status},
                {"rows", t.rows}};
      if (!t.error.empty()) o["error"] = t.error;
      tasks.push_back(o);
    }
  }
  j["events"] = events;
  j["tasks"] = tasks;
  return j;
}

}  // namespace lethe::cli
