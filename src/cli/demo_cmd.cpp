// `lethe demo [--dir DIR] [--listen HOST:PORT] [--fresh] [--no-serve]`:
// builds the example world (demo_world.cpp), writes its lethe.json, makes an
// operator key and a subject JWT, prints them, and serves.
//
// Secrets stay out of lethe.json (contract: secrets are env-named). The JWT
// secret and the audit pseudonym key live in DIR/demo.env (mode 0600) so a
// rerun keeps earlier tokens and pseudonyms valid; `set -a; . DIR/demo.env`
// lets `lethe serve --config DIR/lethe.json` use the same world. The operator
// key is new on every run: only its sha256 is written anywhere.
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/demo_serve.h"
#include "cli/demo_world.h"
#include "lethe/hex.h"
#include "lethe/config.h"
#include "lethe/time.h"

#ifdef HAVE_LETHE_HTTP
#include "http/auth.h"
#endif

namespace lethe::cli {
namespace fs = std::filesystem;

namespace {

struct DemoArgs {
  std::string dir = "lethe-demo";
  std::string listen = "127.0.0.1:8080";
  bool fresh = false;
  bool serve = true;
};

// Marks a directory as made by `lethe demo`, so --fresh never deletes
// anything it did not create.
constexpr const char* kMarker = ".lethe-demo";

Result<std::string> ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return Status::Io(p.string() + ": cannot read");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Status WriteFileAtomic(const fs::path& p, const std::string& text, fs::perms perms) {
  fs::path tmp = p;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) return Status::Io(tmp.string() + ": write failed");
  }
  std::error_code ec;
  fs::permissions(tmp, perms, ec);
  fs::rename(tmp, p, ec);
  if (ec) return Status::Io(p.string() + ": " + ec.message());
  return Status::Ok();
}

// DIR/demo.env: NAME=value lines. Created with fresh random secrets.
Result<std::map<std::string, std::string>> LoadOrCreateSecrets(const fs::path& dir) {
  fs::path p = dir / "demo.env";
  std::map<std::string, std::string> env;
  if (fs::exists(p)) {
    LETHE_ASSIGN_OR_RETURN(auto text, ReadFile(p));
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
      auto eq = line.find('=');
      if (eq == std::string::npos || line.starts_with("#")) continue;
      env[line.substr(0, eq)] = line.substr(eq + 1);
    }
  }
  bool changed = false;
  for (const char* name : {kDemoJwtSecretEnv, kDemoAuditKeyEnv}) {
    if (env[name].empty()) {
      env[name] = RandomHex(32);
      changed = true;
    }
  }
  if (changed) {
    std::string text = "# Secrets of this demo world (see docs/demo.md). Keep private.\n";
    for (const auto& [k, v] : env) text += k + "=" + v + "\n";
    LETHE_RETURN_IF_ERROR(WriteFileAtomic(p, text, fs::perms::owner_read | fs::perms::owner_write));
  }
  return env;
}

// Writes DIR/lethe.json: a new one, or the existing one with the demo
// operator's key hash and the listen address replaced (other edits kept).
Status WriteConfig(const fs::path& dir, const DemoWorldOptions& world, const std::string& listen,
                   const std::string& key_sha256) {
  fs::path p = dir / "lethe.json";
  nlohmann::json doc;
  if (fs::exists(p)) {
    LETHE_ASSIGN_OR_RETURN(auto text, ReadFile(p));
    doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!doc.is_object()) return Status::Invalid(p.string() + ": not a JSON object");
    doc["listen"] = listen;
    doc["public_url"] = DemoPublicUrl(listen);
    auto& ops = doc["operators"];
    if (!ops.is_array()) ops = nlohmann::json::array();
    bool found = false;
    for (auto& op : ops) {
      if (op.is_object() && op.value("name", "") == "demo") {
        op["key_sha256"] = key_sha256;
        found = true;
      }
    }
    if (!found) ops.push_back({{"name", "demo"}, {"role", "admin"}, {"key_sha256", key_sha256}});
  } else {
    doc = DemoConfig(world, listen, key_sha256);
  }
  return WriteFileAtomic(
      p, doc.dump(2) + "\n",
      fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read);
}

Status RunDemo(const DemoArgs& args) {
  std::error_code ec;
  fs::path dir = fs::absolute(args.dir, ec);
  if (ec) return Status::Invalid(args.dir + ": " + ec.message());
  if (args.fresh && fs::exists(dir)) {
    if (!fs::exists(dir / kMarker)) {
      return Status::Invalid(dir.string() + ": not a lethe demo directory (no " + kMarker +
                             "); refusing to delete it for --fresh");
    }
    fs::remove_all(dir, ec);
    if (ec) return Status::Io(dir.string() + ": " + ec.message());
  }

  DemoWorldOptions world{dir.string(), FindSqliteVec()};
  bool built = false;
  if (!fs::exists(dir / "app.db")) {
    if (fs::exists(dir) && !fs::is_empty(dir, ec) && !fs::exists(dir / kMarker)) {
      return Status::Invalid(dir.string() + ": exists and is not a lethe demo directory");
    }
    LETHE_RETURN_IF_ERROR(BuildDemoWorld(world));
    std::ofstream(dir / kMarker) << "made by lethe demo\n";
    built = true;
  }

  LETHE_ASSIGN_OR_RETURN(auto secrets, LoadOrCreateSecrets(dir));
  for (const auto& [k, v] : secrets) setenv(k.c_str(), v.c_str(), 1);

  // The operator key: random, printed once, stored only as its hash.
  std::string operator_key = "lethe_op_" + RandomHex(24);
  LETHE_RETURN_IF_ERROR(WriteConfig(dir, world, args.listen, Sha256Hex(operator_key)));

  LETHE_ASSIGN_OR_RETURN(auto config, LoadConfig((dir / "lethe.json").string()));

  if (built) LETHE_RETURN_IF_ERROR(SeedDemoRequests(config));

  std::string base = DemoPublicUrl(args.listen);
  std::string jwt;
#ifdef HAVE_LETHE_HTTP
  int64_t now = ToUnix(Now());
  jwt = http::SignJwt({{"sub", "42"},
                       {"email", "ada@example.com"},
                       {"iss", kDemoIssuer},
                       {"aud", kDemoAudience},
                       {"iat", now},
                       {"exp", now + 24 * 3600}},
                      secrets[kDemoJwtSecretEnv]);
#endif

  // Machine-readable lines first (`key: value`), so scripts and the browser
  // tests can pick them out of stdout.
  std::printf("Lethe demo world: %s%s\n", dir.c_str(), built ? " (new)" : " (reused; --fresh rebuilds it)");
  std::printf("vector store:     %s\n",
              world.vec0_path.empty() ? "none (sqlite-vec not found)" : "sqlite-vec vec0 table doc_embeddings");
  std::printf("inbox_url: %s/inbox/\n", base.c_str());
  std::printf("settings_url: %s/examples/settings-page/?token=%s\n", base.c_str(), jwt.c_str());
  std::printf("operator_key: %s\n", operator_key.c_str());
  std::printf("demo_jwt: %s\n", jwt.c_str());
  std::printf(
      "\nThe operator key is shown only now (lethe.json keeps its sha256). The JWT is ada@example.com's\n"
      "(user 42), valid 24h. Sign in to the inbox with the key; open the settings URL as Ada.\n"
      "Same world without the demo: set -a; . %s/demo.env; set +a; lethe serve --config %s/lethe.json\n",
      dir.c_str(), dir.c_str());
  std::fflush(stdout);

  if (!args.serve) return Status::Ok();
  return ServeDemo(config, args.listen);
}

}  // namespace

void AddDemoCommand(CLI::App& app) {
  auto args = std::make_shared<DemoArgs>();
  auto* cmd = app.add_subcommand("demo", "Build the example world (embedded SQLite, local files) and serve it");
  cmd->add_option("--dir", args->dir, "Directory of the demo world (reused if it exists)")->capture_default_str();
  cmd->add_option("--listen", args->listen, "HOST:PORT to serve on")->capture_default_str();
  cmd->add_flag("--fresh", args->fresh, "Delete and rebuild an existing demo directory");
  cmd->add_flag("--no-serve{false}", args->serve, "Build the world and print the keys, then exit");
  cmd->callback([args] {
    if (Status st = RunDemo(*args); !st.ok()) Fail(st);
  });
}

}  // namespace lethe::cli
