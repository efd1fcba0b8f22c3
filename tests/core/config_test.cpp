#include <catch2/catch.hpp>

#include <fstream>

#include "lethe/config.h"
#include "test_util.h"

using namespace lethe;
using nlohmann::json;

namespace {
json Minimal() {
  return json::parse(R"({"store": {"sqlite": "lethe.db"}, "timezone": "Europe/Berlin", "connectors": [
    {"name": "app", "type": "sqlite", "path": "app.db", "collections": []}]})");
}
}  // namespace

TEST_CASE("a minimal config loads with defaults", "[config]") {
  auto c = ParseConfig(Minimal(), "config.json", "/tmp");
  REQUIRE(c.ok());
  CHECK(c->deadlines.timezone == "Europe/Berlin");
  CHECK(c->default_regulation == Regulation::kGdpr);
  CHECK(c->Resolve("app.db") == "/tmp/app.db");
  CHECK(c->Resolve("/abs/x.db") == "/abs/x.db");
}

TEST_CASE("config errors name the file and the JSON pointer", "[config]") {
  struct Case {
    std::string patch;
    std::string pointer;
  };
  const Case cases[] = {
      {R"([{"op": "add", "path": "/bogus", "value": 1}])", "/bogus"},
      {R"([{"op": "add", "path": "/default_regulation", "value": "hipaa"}])", "/default_regulation"},
      {R"([{"op": "add", "path": "/operators", "value": [{"name": "a", "role": "root", "key_sha256": "00"}]}])",
       "/operators/0/key_sha256"},
      {R"([{"op": "add", "path": "/holidays", "value": ["25.12.2026"]}])", "/holidays/0"},
      {R"([{"op": "add", "path": "/self_service", "value": {"erasure_grace": "7 days"}}])",
       "/self_service/erasure_grace"},
      {R"([{"op": "remove", "path": "/connectors/0/name"}])", "/connectors/0/name"},
      {R"([{"op": "add", "path": "/connectors/1", "value": {"name": "app", "type": "jsonl"}}])", "/connectors/1/name"},
      {R"([{"op": "replace", "path": "/timezone", "value": "Mars/Olympus"}])", "/timezone"},
      {R"([{"op": "add", "path": "/store/postgres", "value": "x"}])", "/store"},
  };
  for (const auto& c : cases) {
    json doc = Minimal().patch(json::parse(c.patch));
    auto r = ParseConfig(doc, "config.json", "/tmp");
    INFO(c.patch);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kInvalid);
    CHECK_THAT(r.status().message(), Catch::StartsWith("config.json: " + c.pointer + ":"));
  }
}

TEST_CASE("LoadConfig reports unreadable and malformed files", "[config]") {
  testing::TempDir dir;
  auto missing = LoadConfig((dir.path / "nope.json").string());
  CHECK_FALSE(missing.ok());
  std::ofstream(dir.path / "bad.json") << "{\"store\": ";
  auto bad = LoadConfig((dir.path / "bad.json").string());
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.status().message(), Catch::Contains("not valid JSON"));
  std::ofstream(dir.path / "ok.json") << Minimal().dump();
  auto ok = LoadConfig((dir.path / "ok.json").string());
  REQUIRE(ok.ok());
  CHECK(ok->base_dir == dir.str());
}

TEST_CASE("the schema validator covers the keywords our schemas use", "[config]") {
  json schema = json::parse(R"({"type": "object", "additionalProperties": false, "required": ["a"],
    "properties": {"a": {"type": "integer", "minimum": 1}, "b": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"enum": ["x"]}}]}}})");
  CHECK(ValidateSchema(json{{"a", 1}}, schema).ok());
  CHECK(ValidateSchema(json{{"a", 0}}, schema).field() == "/a");
  CHECK(ValidateSchema(json{{"a", 1}, {"b", json::array({"y"})}}, schema).field() == "/b/0");
  CHECK(ValidateSchema(json{{"a", 1}, {"c/d", 1}}, schema).field() == "/c~1d");
  CHECK(ValidateSchema(json::object(), schema).field() == "/a");
}

// Found by fuzzing the config loader (regression
// fuzz/regressions/config/long_listen.json): std::regex recursed once per
// character, so `lethe check` on a config with a 60,000-character "listen"
// died of a stack overflow instead of naming the field.
TEST_CASE("a very long patterned value is refused by name, not matched until the stack runs out", "[config]") {
  json doc = Minimal();
  doc["listen"] = std::string(60000, 'a') + ":1";
  auto r = ParseConfig(doc, "config.json", "/tmp");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kInvalid);
  CHECK(r.status().field() == "/listen");
  CHECK_THAT(r.status().message(), Catch::Contains("too long"));
  doc["listen"] = std::string(4000, 'a') + ":1";  // long, but within the bound: matched as before
  CHECK(ParseConfig(doc, "config.json", "/tmp").ok());
}
