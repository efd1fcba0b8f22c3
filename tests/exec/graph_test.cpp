// Building the data graph from config: errors name the config pointer.
#include <catch2/catch.hpp>

#include "exec/util.h"
#include "lethe/exec.h"
#include "world.h"

using namespace lethe;
using namespace lethe::testing;
using nlohmann::json;

namespace {

Status BuildError(const json& connectors, const std::string& base_dir = "/tmp") {
  ConnectorContext ctx;
  ctx.base_dir = base_dir;
  auto g = DataGraph::Build(connectors, ctx);
  if (g.ok()) return Status::Ok();
  return g.status();
}

}  // namespace

TEST_CASE("graph orders collections after the ones they read") {
  ConnectorContext ctx;
  ctx.base_dir = "/tmp";
  auto g = DataGraph::Build(json::array({AppConnector(), FilesConnector()}), ctx);
  INFO(g.status().ToString());
  REQUIRE(g.ok());
  std::map<std::string, size_t> pos;
  for (size_t i = 0; i < (*g)->nodes().size(); ++i) pos[(*g)->nodes()[i].id] = i;
  REQUIRE(pos.size() == 7);
  // order_items is listed first in config but reads orders, which reads users.
  CHECK(pos["app.users"] < pos["app.orders"]);
  CHECK(pos["app.orders"] < pos["app.order_items"]);
  CHECK(pos["app.users"] < pos["files.uploads"]);
  // Only the referenced columns are kept during discovery.
  CHECK((*g)->referenced_columns(pos["app.users"]) == std::set<std::string>{"id"});
  CHECK((*g)->referenced_columns(pos["app.orders"]) == std::set<std::string>{"id"});
  CHECK((*g)->referenced_columns(pos["app.events"]).empty());

  json d = (*g)->Describe();
  CHECK(d["order"].size() == 7);
  CHECK(d["warnings"].empty());
  json typo = AppConnector();
  typo["collections"][5]["identity"] = {{"emial", "email"}};
  auto g2 = DataGraph::Build(json::array({typo}), ctx);
  REQUIRE(g2.ok());
  json d2 = (*g2)->Describe();
  REQUIRE(d2["warnings"].size() == 1);
  CHECK(d2["warnings"][0].get<std::string>().find("/connectors/0/collections/5/identity/emial") == 0);
  CHECK(d["collections"][pos["app.invoices"]]["retain"]["basis"] == "legal_obligation");
}

TEST_CASE("graph errors carry the pointer of the fault") {
  SECTION("cycle") {
    json c = json::parse(R"({"name": "app", "type": "sqlite", "path": "x.db", "collections": [
      {"name": "users", "primary_key": "id", "identity": {"email": "email"}},
      {"name": "a", "primary_key": "id", "references": {"b_id": "b.id"}},
      {"name": "b", "primary_key": "id", "references": {"a_id": "a.id"}}]})");
    Status st = BuildError(json::array({c}));
    CHECK(st.code() == Code::kInvalid);
    CHECK(st.message().find("cycle") != std::string::npos);
    CHECK((st.field() == "/connectors/0/collections/1" || st.field() == "/connectors/0/collections/2"));
  }
  SECTION("self reference is a cycle") {
    json c = json::parse(R"({"name": "app", "type": "sqlite", "path": "x.db", "collections": [
      {"name": "users", "primary_key": "id", "identity": {"email": "email"}, "references": {"referrer": "users.id"}}]})");
    Status st = BuildError(json::array({c}));
    CHECK(st.field() == "/connectors/0/collections/0");
  }
  SECTION("unknown collection") {
    json c = AppConnector();
    c["collections"][2]["references"]["user_id"] = "usr.id";
    Status st = BuildError(json::array({c}));
    CHECK(st.field() == "/connectors/0/collections/2/references/user_id");
    CHECK(st.message().find("unknown collection \"app.usr\"") != std::string::npos);
  }
  SECTION("unknown connector in a cross-connector reference") {
    json c = AppConnector();
    c["collections"][2]["references"]["user_id"] = "crm.users.id";
    Status st = BuildError(json::array({c}));
    CHECK(st.field() == "/connectors/0/collections/2/references/user_id");
    CHECK(st.message().find("crm") != std::string::npos);
  }
  SECTION("placeholder that names nothing") {
    json f = FilesConnector();
    f["objects"][0]["prefix"] = "{users}/";
    Status st = BuildError(json::array({AppConnector(), f}));
    CHECK(st.field() == "/connectors/1/objects/0/prefix");
    f["objects"][0]["prefix"] = "{app.customers.id}/";
    st = BuildError(json::array({AppConnector(), f}));
    CHECK(st.field() == "/connectors/1/objects/0/prefix");
  }
  SECTION("unknown type, duplicate name, bad collection key") {
    json c = AppConnector();
    c["type"] = "oracle";
    Status st = BuildError(json::array({c}));
    CHECK(st.field() == "/connectors/0/type");
    CHECK(st.message().find("sqlite") != std::string::npos);  // lists the known types

    st = BuildError(json::array({AppConnector(), AppConnector()}));
    CHECK(st.field() == "/connectors/1/name");

    c = AppConnector();
    c["name"] = "../app";
    st = BuildError(json::array({c}));
    CHECK(st.field() == "/connectors/0/name");

    c = AppConnector();
    c["collections"][4]["erase"] = {{"mask", {{"name", "scramble"}}}};
    st = BuildError(json::array({c}));
    CHECK(st.field() == "/connectors/0/collections/4/erase/mask/name");
  }
  SECTION("from a Config: pointer in field(), message without the file name (the CLI adds it)") {
    Config cfg;
    cfg.path = "config.json";
    json c = AppConnector();
    c["collections"][2]["references"]["user_id"] = "usr.id";
    cfg.connectors = json::array({c});
    auto g = DataGraph::Build(cfg);
    REQUIRE_FALSE(g.ok());
    CHECK(g.status().ToString() ==
          "/connectors/0/collections/2/references/user_id: unknown collection \"app.usr\" in {app.usr.id}");
    CHECK(g.status().field() == "/connectors/0/collections/2/references/user_id");
  }
}

TEST_CASE("MatchesFor batches values") {
  ConnectorContext ctx;
  ctx.base_dir = "/tmp";
  auto g = DataGraph::Build(json::array({AppConnector()}), ctx);
  REQUIRE(g.ok());
  size_t orders = 0;
  for (size_t i = 0; i < (*g)->nodes().size(); ++i) {
    if ((*g)->nodes()[i].id == "app.orders") orders = i;
  }
  size_t users = (*g)->nodes()[orders].sources[0].node;
  FoundValues found((*g)->nodes().size());
  for (int i = 0; i < 1234; ++i) found[users]["id"].insert(std::to_string(i));
  auto ms = MatchesFor(**g, orders, Subject{}, found, 500);
  REQUIRE(ms.size() == 3);
  size_t total = 0;
  for (const auto& m : ms) {
    for (const auto& t : m) {
      CHECK(t.values.size() <= 500);
      CHECK(t.column == "user_id");
      total += t.values.size();
    }
  }
  CHECK(total == 1234);
  // Identity links: the subject's value, or nothing when the kind is absent.
  Subject s;
  s.email = "ada@example.com";
  auto um = MatchesFor(**g, users, s, found, 500);
  REQUIRE(um.size() == 1);
  REQUIRE(um[0].size() == 1);
  CHECK(um[0][0].column == "email");
  CHECK(um[0][0].values == std::vector<std::string>{"ada@example.com"});
}

TEST_CASE("CheckConnectors connects and describes; a missing column fails with its pointer") {
  World w;
  auto d = CheckConnectors(w.config);
  INFO(d.status().ToString());
  REQUIRE(d.ok());
  CHECK((*d)["connectors"][0]["connected"] == true);
  CHECK((*d)["order"].size() == 7);

  w.config.connectors[0]["collections"][3]["references"] = {{"account_id", "users.id"}};
  d = CheckConnectors(w.config);
  REQUIRE_FALSE(d.ok());
  CHECK(d.status().field() == "/connectors/0/collections/3/references/account_id");
}
