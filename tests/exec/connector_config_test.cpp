// ConnectorConfigReader: the config preamble every connector factory shares.
#include <catch2/catch.hpp>

#include "lethe/connector_config.h"

using lethe::ConnectorConfigReader;
using nlohmann::json;

namespace {

lethe::ConnectorContext Ctx() {
  lethe::ConnectorContext ctx;
  ctx.base_dir = "/base";
  ctx.env = [](const std::string& name) -> std::optional<std::string> {
    if (name == "SET_VAR") return std::string("secret");
    if (name == "EMPTY_VAR") return std::string();
    return std::nullopt;
  };
  return ctx;
}

// The status of reading `config` as a "demo" connector with a required
// "path", an optional "dsn"/"dsn_env", "flag" and "items".
lethe::Status Read(const json& config) {
  auto ctx = Ctx();
  ConnectorConfigReader r(config, "/connectors/3", ctx, "demo");
  r.Name();
  r.Path("path", ConnectorConfigReader::kRequired);
  r.StringOrEnv("dsn", ConnectorConfigReader::kOptional, "a connection string");
  r.Bool("flag", false);
  r.NonEmptyArray("items", ConnectorConfigReader::kOptional);
  return r.Finish();
}

}  // namespace

TEST_CASE("ConnectorConfigReader reads names, paths, secrets and flags") {
  auto ctx = Ctx();
  json config = {{"name", "app"},        {"type", "demo"}, {"path", "db/app.db"},
                 {"dsn_env", "SET_VAR"}, {"flag", true},   {"extensions", {"/abs/vec0", "rel/x"}}};
  ConnectorConfigReader r(config, "/connectors/3", ctx, "demo");
  CHECK(r.Name() == "app");
  CHECK(r.Path("path", ConnectorConfigReader::kRequired) == "/base/db/app.db");
  CHECK(r.StringOrEnv("dsn", ConnectorConfigReader::kRequired, "a connection string") == "secret");
  CHECK(r.Bool("flag", false));
  CHECK(r.Paths("extensions") == std::vector<std::string>{"/abs/vec0", "/base/rel/x"});
  CHECK(r.Raw("absent", ConnectorConfigReader::kOptional) == nullptr);
  CHECK(r.Finish().ok());
}

TEST_CASE("ConnectorConfigReader errors name the field by JSON pointer") {
  json good = {{"name", "app"}, {"type", "demo"}, {"path", "app.db"}};
  REQUIRE(Read(good).ok());
  auto field = [](const json& config) { return Read(config).field(); };

  CHECK(Read(json::array()).code() == lethe::Code::kInvalid);
  CHECK(field(json::array()) == "/connectors/3");
  json bad = good;
  bad["type"] = "other";
  CHECK(field(bad) == "/connectors/3/type");
  bad = good;
  bad.erase("name");
  CHECK(field(bad) == "/connectors/3");
  CHECK(Read(bad).message() == "demo connector needs \"name\"");
  bad = good;
  bad["name"] = "a b";
  CHECK(field(bad) == "/connectors/3/name");
  bad = good;
  bad.erase("path");
  CHECK(Read(bad).message() == "demo connector needs \"path\"");
  bad = good;
  bad["path"] = "";
  CHECK(field(bad) == "/connectors/3/path");
  bad = good;
  bad["a/b~c"] = 1;  // unknown, and its pointer escapes '/' and '~'
  CHECK(field(bad) == "/connectors/3/a~1b~0c");
  CHECK(Read(bad).message() == "unknown key \"a/b~c\"");
  bad = good;
  bad["flag"] = "yes";
  CHECK(field(bad) == "/connectors/3/flag");
  bad = good;
  bad["items"] = json::array();
  CHECK(field(bad) == "/connectors/3/items");
  bad = good;
  bad["dsn"] = "host=x";
  bad["dsn_env"] = "SET_VAR";
  CHECK(field(bad) == "/connectors/3/dsn_env");
  bad = good;
  bad["dsn_env"] = "UNSET_VAR";
  CHECK(field(bad) == "/connectors/3/dsn_env");
  CHECK(Read(bad).message() == "environment variable UNSET_VAR is not set");
  bad["dsn_env"] = "EMPTY_VAR";
  CHECK(field(bad) == "/connectors/3/dsn_env");
  // The first error wins: an unknown key does not hide a bad value before it.
  bad = good;
  bad["flag"] = 1;
  bad["zzz"] = 1;
  CHECK(field(bad) == "/connectors/3/flag");
}
