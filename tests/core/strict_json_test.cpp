#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <string>

#include "lethe/config.h"
#include "lethe/strict_json.h"
#include "test_util.h"

using namespace lethe;
using nlohmann::json;

namespace {

std::string Repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

std::string NestedArrays(int depth) { return std::string(depth, '[') + std::string(depth, ']'); }

// {"a":{"a":...{}...}} with `depth` objects.
std::string NestedObjects(int depth) {
  std::string s;
  for (int i = 0; i < depth; ++i) s += "{\"a\":";
  s += "{}";
  for (int i = 0; i < depth; ++i) s += "}";
  return s;
}

}  // namespace

TEST_CASE("strict JSON: depth, duplicate keys and integer range, with the pointer at fault", "[json]") {
  struct Case {
    std::string text;
    bool ok;
    std::string pointer;  // of the refusal
  };
  const Case cases[] = {
      {NestedArrays(64), true, ""},
      {NestedArrays(65), false, Repeat("/0", 64)},
      {NestedObjects(63), true, ""},  // 63 "a" objects + the innermost {} = 64 levels
      {NestedObjects(64), false, Repeat("/a", 64)},
      {"[1,[2,[[]]],[[3,{\"k\":" + NestedArrays(61) + "}]]]", false, "/2/0/1/k" + Repeat("/0", 60)},
      {R"({"type":"erasure","type":"access"})", false, "/type"},
      {R"({"a":{"b":1,"c":{"x":1,"x":2}}})", false, "/a/c/x"},
      {R"({"a/b~":{"k":1,"k":2}})", false, "/a~1b~0/k"},
      {R"([{"k":1},{"k":1}])", true, ""},  // equal keys in different objects are fine
      {R"({"n":9007199254740992})", true, ""},
      {R"({"n":-9007199254740992})", true, ""},
      {R"({"n":9007199254740993})", false, "/n"},
      {R"({"n":-9007199254740993})", false, "/n"},
      {R"({"n":[1,2,123456789012345678901234567890]})", false, "/n/2"},
      {R"({"n":18446744073709551615})", false, "/n"},
      {R"({"n":1.5e300,"m":-0.25,"k":1e3})", true, ""},
      {R"({"a":[1,2,{"b":)", false, "/a/2/b"},
      {"{\"a\": \"\xff\"}", false, "/a"},
      {"", false, ""},
      {"{} x", false, ""},
  };
  for (const Case& c : cases) {
    INFO(c.text.substr(0, 120));
    Result<json> r = ParseStrictJson(c.text);
    CHECK(r.ok() == c.ok);
    if (!c.ok && !r.ok()) {
      CHECK(r.status().code() == Code::kInvalid);
      CHECK(r.status().field() == c.pointer);
    }
  }
}

TEST_CASE("strict JSON: the depth refusal names the level and the place", "[json]") {
  Result<json> r = ParseStrictJson(NestedArrays(65));
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.status().message(), Catch::Contains("deeper than 64"));
  std::string expect;
  for (int i = 0; i < 64; ++i) expect += "/0";
  CHECK(r.status().field() == expect);

  Result<json> o = ParseStrictJson(NestedObjects(64));
  REQUIRE_FALSE(o.ok());
  std::string expect_o;
  for (int i = 0; i < 64; ++i) expect_o += "/a";
  CHECK(o.status().field() == expect_o);

  Result<json> ok = ParseStrictJson(NestedArrays(64));
  REQUIRE(ok.ok());
  CHECK(ok->dump() == NestedArrays(64));
}

TEST_CASE("strict JSON: 60,000 nested objects are refused without building them", "[json]") {
  // The body of issue 8 item 5 (360 kB here), under the 1 MiB body limit; the
  // old parse built the tree and the server died copying it.
  const std::string text = "{\"type\":\"access\",\"params\":" + NestedObjects(60000) + "}";
  REQUIRE(text.size() > 350000);
  Result<json> r = ParseStrictJson(text);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().field().rfind("/params/a/a/", 0) == 0);
}

TEST_CASE("strict JSON: values come through unchanged", "[json]") {
  const std::string text =
      R"({"s":"caf\u00e9 \"q\"","i":-42,"u":9007199254740992,"f":0.5,"b":[true,false,null],"o":{"":{}},"e":[]})";
  Result<json> r = ParseStrictJson(text);
  REQUIRE(r.ok());
  CHECK(*r == json::parse(text));
  CHECK((*r)["u"].get<uint64_t>() == 9007199254740992ull);
  CHECK(ParseStrictJson("  7 ")->get<int>() == 7);
  CHECK(ParseStrictJson("\"x\"")->get<std::string>() == "x");
}

TEST_CASE("the config loader refuses duplicate keys and deep nesting, naming file and pointer", "[json][config]") {
  testing::TempDir dir;
  const std::string path = (dir.path / "lethe.json").string();
  // Last-wins would silently drop the first connectors list.
  std::ofstream(path) << R"({"store": {"sqlite": "lethe.db"}, "timezone": "Europe/Berlin",
    "connectors": [{"name": "app", "type": "sqlite", "path": "app.db", "collections": []}],
    "connectors": []})";
  Result<Config> dup = LoadConfig(path);
  REQUIRE_FALSE(dup.ok());
  CHECK(dup.status().code() == Code::kInvalid);
  CHECK(dup.status().field() == "/connectors");
  CHECK_THAT(dup.status().message(), Catch::Contains(path));
  CHECK_THAT(dup.status().message(), Catch::Contains("/connectors: duplicate object key"));

  std::ofstream(path, std::ios::trunc) << "{\"store\": " + NestedObjects(100000) + "}";
  Result<Config> deep = LoadConfig(path);
  REQUIRE_FALSE(deep.ok());
  CHECK_THAT(deep.status().message(), Catch::Contains("deeper than 64"));
}

// Not run by default: `core_tests "[.bench]"` prints the cost of the checks
// on a 1 MiB body against nlohmann's own parse.
TEST_CASE("strict JSON: parse cost on a 1 MiB body", "[.bench][json]") {
  json items = json::array();
  std::string text;
  for (int i = 0; text.size() < (1u << 20); ++i) {
    items.push_back({{"id", "req-" + std::to_string(i)},
                     {"email", "person" + std::to_string(i) + "@example.com"},
                     {"n", i},
                     {"tags", {"a", "b", "c"}},
                     {"nested", {{"x", 1.5}, {"y", nullptr}}}});
    if (i % 100 == 0) text = json{{"items", items}}.dump();
  }
  text = json{{"items", items}}.dump();
  auto time = [&](auto&& f) {
    double best = 1e9;
    for (int k = 0; k < 20; ++k) {
      auto t0 = std::chrono::steady_clock::now();
      f();
      best = std::min(best, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    return best;
  };
  const double plain = time([&] { CHECK_FALSE(json::parse(text, nullptr, false).is_discarded()); });
  const double strict = time([&] { CHECK(ParseStrictJson(text).ok()); });
  WARN("1 MiB body (" << text.size() << " bytes): nlohmann::json::parse " << plain << " ms, ParseStrictJson " << strict
                      << " ms (best of 20)");
}
