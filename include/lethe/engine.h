// Engine: the loaded configuration with its store and workflow, opened once
// by whichever front end runs (CLI command, HTTP server, demo).
#pragma once

#include <memory>
#include <string>

#include "lethe/config.h"
#include "lethe/store.h"
#include "lethe/workflow.h"

namespace lethe {

struct Engine {
  Config config;
  std::unique_ptr<Store> store;
  std::unique_ptr<Workflow> workflow;
  std::string pseudonym_key;  // HMAC key for audit pseudonyms and hash masks

  // Opens the store (running migrations) and builds the workflow. The audit
  // pseudonym key must be set in the environment variable the config names.
  static Result<std::unique_ptr<Engine>> Open(Config config);
};

}  // namespace lethe
