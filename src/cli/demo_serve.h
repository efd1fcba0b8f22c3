// The demo's use of the core and the HTTP service: a few sample requests in
// the inbox, then the server with its workers.
#pragma once

#include <string>

#include "lethe/config.h"
#include "lethe/status.h"

namespace lethe::cli {

// Files sample requests from the other demo users (an overdue CCPA access
// request, a pending erasure awaiting approval, ...) so the inbox has
// something to triage. Called once, when the world is first built.
Status SeedDemoRequests(const Config& config);

// Serves the config's HTTP API, inbox and settings-page example with workers
// and the scheduler until interrupted.
Status ServeDemo(const Config& config, const std::string& listen);

}  // namespace lethe::cli
