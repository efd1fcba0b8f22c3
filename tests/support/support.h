// What the test binaries share: temporary directories, the test services'
// addresses (tests/services/.run/env, written by scripts/services.sh start),
// files, and building connectors the way the engine does. Header-only, so
// every test binary can include it without a CMake change.
//
// A test service that is not running is a failure, never a skip: a skipped
// integration test would hide a broken connector.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "lethe/connector.h"

namespace lethe::test {

namespace fs = std::filesystem;

// A fresh directory under the system's temp directory, removed with
// everything in it when the object goes.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "lethe-test") {
    std::string t = (fs::temp_directory_path() / (prefix + "-XXXXXX")).string();
    REQUIRE(::mkdtemp(t.data()) != nullptr);
    path_ = t;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& rel) const { return path_ / rel; }

 private:
  fs::path path_;
};

// The value of a test-service variable (LETHE_PG_DSN, LETHE_S3_ENDPOINT,
// LETHE_CHROMA_URL, ...); fails the test, with how to start the services,
// when it is not set.
inline std::string ServiceEnv(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) {
    FAIL(name << " is not set: start the test services with "
                 "`bash scripts/services.sh start && set -a && . tests/services/.run/env && set +a`");
  }
  return v;
}

// A name no other test case of any running test process uses:
// "<prefix><pid><sep><n>" (schemas, buckets, collections).
inline std::string UniqueName(const std::string& prefix, const std::string& sep = "_") {
  static int counter = 0;
  return prefix + std::to_string(::getpid()) + sep + std::to_string(++counter);
}

// Writes `content` to `p`, making its directories.
inline void WriteFile(const fs::path& p, const std::string& content) {
  fs::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary);
  out << content;
  REQUIRE(out.good());
}

inline std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The context the engine gives factories: relative paths resolve against
// `base_dir`, *_env secrets come from the process environment.
inline ConnectorContext Context(const std::string& base_dir = "") {
  ConnectorContext ctx;
  ctx.base_dir = base_dir;
  ctx.env = [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  };
  return ctx;
}

// Builds a connector of `type` from `config` at JSON pointer `pointer`.
inline Result<std::unique_ptr<Connector>> MakeConnector(const std::string& type, const nlohmann::json& config,
                                                        const ConnectorContext& ctx,
                                                        const std::string& pointer = "/connectors/0") {
  const ConnectorFactory* f = FindConnectorType(type);
  REQUIRE(f != nullptr);
  return (*f)(config, pointer, ctx);
}

// Builds and connects; fails the test (with the reason) when either fails.
inline std::unique_ptr<Connector> MakeConnected(const std::string& type, const nlohmann::json& config,
                                                const ConnectorContext& ctx,
                                                const std::string& pointer = "/connectors/0") {
  auto c = MakeConnector(type, config, ctx, pointer);
  INFO(c.status().ToString());
  REQUIRE(c.ok());
  Status s = (*c)->Connect();
  INFO(s.ToString());
  REQUIRE(s.ok());
  return std::move(*c);
}

// The collection called `name`; fails the test when there is none.
inline const CollectionSpec& CollectionNamed(const Connector& c, const std::string& name) {
  for (const auto& s : c.collections()) {
    if (s.name == name) return s;
  }
  FAIL("connector " << c.name() << " has no collection " << name);
  throw 0;  // unreachable: FAIL throws
}

// Every item Find reports; fails the test when Find fails.
inline std::vector<Item> FindAll(Connector& c, const CollectionSpec& spec, const Match& m) {
  std::vector<Item> items;
  Status st = c.Find(spec, m, [&](const Item& it) {
    items.push_back(it);
    return Status::Ok();
  });
  INFO(st.ToString());
  REQUIRE(st.ok());
  return items;
}

}  // namespace lethe::test
