// Shared by CLI commands: open config + store + workflow, print requests.
#pragma once

#include <memory>
#include <string>

#include "lethe/engine.h"
#include "notify/notifier.h"

namespace lethe::cli {

// Loads the config and opens the engine with notifications attached (they
// queue to the outbox); on failure prints the one-line error, sets the exit
// code and returns nullptr.
std::unique_ptr<Engine> OpenEngine(const std::string& config_path);
// The notifier OpenEngine made (valid after a successful OpenEngine).
Notifier& EngineNotifier();

// The request as the API shows it (contract section 3): with events and tasks.
nlohmann::json RequestDetail(Engine& e, const Request& r);

}  // namespace lethe::cli
