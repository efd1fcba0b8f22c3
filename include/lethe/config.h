// Configuration: one JSON file, validated against schemas/config.schema.json.
// Errors name the file and the JSON pointer of the field at fault:
//   config.json: /connectors/2/collections/0/references/user_id: unknown collection "usr"
#pragma once

#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lethe/deadline.h"
#include "lethe/request.h"
#include "lethe/status.h"
#include "lethe/time.h"

namespace lethe {

struct OperatorKey {
  std::string name;
  std::string role;        // admin, operator, auditor
  std::string key_sha256;  // hex sha256 of the bearer key
};

struct Config {
  std::string path;      // the file it was loaded from ("" when built in memory)
  std::string base_dir;  // relative paths in config resolve against this
  nlohmann::json raw;    // the whole validated document

  std::string listen = "127.0.0.1:8080";
  std::string public_url = "http://127.0.0.1:8080";
  nlohmann::json store = {{"sqlite", "lethe.db"}};
  DeadlineRules deadlines;
  Regulation default_regulation = Regulation::kGdpr;
  std::vector<OperatorKey> operators;

  // self_service
  std::string jwt_secret_env, jwt_issuer, jwt_audience;
  std::set<RequestType> auto_approve;
  Duration erasure_grace{0, 0, 7, 0};

  // exports
  std::string exports_dir = "exports";
  Duration link_ttl{0, 0, 7, 0};
  Duration exports_keep{0, 0, 30, 0};
  std::string export_password_env;  // optional: AES-256 zip password

  std::string audit_key_env = "LETHE_AUDIT_KEY";
  std::string audit_chain_key_env;  // "" : the chain is keyed with the pseudonym key
  std::string audit_anchor_file;    // "" : no anchor (truncation is not detected); resolved path

  // workers (contract §1 and §2): how long a claimed request stays claimed
  // without a heartbeat. concurrency and retries are read and kept for the
  // parallel, retrying worker; today's worker runs one request at a time.
  std::chrono::seconds worker_lease{60};
  int worker_concurrency = 4;
  int worker_retries = 3;

  nlohmann::json notify = nlohmann::json::object();     // parsed by the notifier
  nlohmann::json recipients = nlohmann::json::array();  // Art. 19 recipients
  nlohmann::json connectors = nlohmann::json::array();  // validated by each connector type

  // path resolved against base_dir (absolute paths are returned unchanged)
  std::string Resolve(const std::string& p) const;
  // Value of an environment variable named in config; kInvalid naming the pointer if unset.
  Result<std::string> Secret(const std::string& env_name, const std::string& pointer) const;
  // The self-service HS256 secret (jwt_secret_env). kInvalid when unset or
  // shorter than 32 bytes: RFC 7518 §3.2 wants a key at least as long as
  // the hash, and a short one can be brute-forced from any token.
  Result<std::string> JwtSecret() const;
};

// Loads, validates (schema + cross-field checks of the core), and fills Config.
// Connector configs are only schema-checked here; the executor validates them.
// Status messages are already prefixed with the file name.
Result<Config> LoadConfig(const std::string& path);
Result<Config> ParseConfig(const nlohmann::json& doc, const std::string& path_for_errors, const std::string& base_dir);

// Validates `doc` against a JSON Schema (the subset Lethe's schemas use:
// type, properties, required, additionalProperties, items, enum, const,
// pattern, minimum, maximum, minLength, minItems, oneOf, anyOf, $ref to $defs).
// The Status's field() is the JSON pointer of the first error.
Status ValidateSchema(const nlohmann::json& doc, const nlohmann::json& schema);

// The schemas shipped in schemas/, compiled into the binary.
const nlohmann::json& ConfigSchema();

}  // namespace lethe
