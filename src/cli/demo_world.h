// The example world `lethe demo` builds: a small SaaS app's SQLite database,
// uploaded files, an LLM-trace log and an app audit log, plus the lethe.json
// that maps them as a data graph (contract section 2). Everything here is
// invented; ada@example.com (user 42) is the demo subject.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "lethe/status.h"

namespace lethe::cli {

struct DemoWorldOptions {
  std::string dir;        // where the world lives (created if missing)
  std::string vec0_path;  // sqlite-vec loadable extension; empty: no vector table
};

// Writes app.db, files/<user_id>/..., logs/*.jsonl under opts.dir.
// Fails if app.db already exists (the caller decides between reuse and --fresh).
Status BuildDemoWorld(const DemoWorldOptions& opts);

// The demo's lethe.json document. Secrets are named by environment variable;
// `operator_key_sha256` is the hash of the one operator key.
nlohmann::json DemoConfig(const DemoWorldOptions& opts, const std::string& listen,
                          const std::string& operator_key_sha256);

// http://HOST:PORT for a listen address; 0.0.0.0 (every interface) is shown
// as 127.0.0.1, the address a browser on this machine uses.
std::string DemoPublicUrl(const std::string& listen);

// Where sqlite-vec's vec0.so is, if anywhere: $LETHE_SQLITE_VEC, else
// tests/services/node_modules/sqlite-vec-linux-x64/vec0.so under
// $LETHE_SOURCE_DIR, the binary's parent directory, or the working directory.
std::string FindSqliteVec();

// Environment variable names the demo config uses for its secrets.
inline constexpr const char* kDemoJwtSecretEnv = "LETHE_DEMO_JWT_SECRET";
inline constexpr const char* kDemoAuditKeyEnv = "LETHE_DEMO_AUDIT_KEY";
inline constexpr const char* kDemoIssuer = "https://app.example";
inline constexpr const char* kDemoAudience = "lethe";

}  // namespace lethe::cli
