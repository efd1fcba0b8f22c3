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
  // Declared before the store: destroyed after it, so the last head the store
  // committed is written at shutdown (AuditAnchor's destructor).
  std::unique_ptr<AuditAnchor> audit_anchor;  // null without audit.anchor_file
  std::unique_ptr<Store> store;
  std::unique_ptr<Workflow> workflow;
  std::string pseudonym_key;    // HMAC key for audit pseudonyms and hash masks
  std::string audit_chain_key;  // AuditChainKey(): keys the audit hash chain and anchor heads

  // Opens the store (running migrations) and builds the workflow. The audit
  // pseudonym key (and the chain key, if the config names one) must be set in
  // the environment variables the config names.
  static Result<std::unique_ptr<Engine>> Open(Config config);

  // Checks the whole audit chain with the chain key and, when configured,
  // against the anchor file's signed heads (read only).
  Result<ChainReport> CheckAudit();
};

}  // namespace lethe
