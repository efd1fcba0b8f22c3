// ParseTableCollection: the collection keys shared by sqlite and postgres.
#include <catch2/catch.hpp>

#include "lethe/connector.h"
#include "lethe/connector_config.h"

using namespace lethe;
using nlohmann::json;

TEST_CASE("ParseTableCollection normalizes identity and references into links") {
  json j = json::parse(R"({"name": "orders", "primary_key": "id",
    "identity": {"email": "buyer_email"},
    "references": {"user_id": "users.id", "contact_id": "crm.contacts.id"},
    "categories": ["purchases"], "purpose": "contract", "portable": true,
    "rectify": ["buyer_email"], "restrict": {"set": {"frozen": true}}, "omit": ["blob"]})");
  auto c = ParseTableCollection(j, "app", "/connectors/0/collections/3");
  INFO(c.status().ToString());
  REQUIRE(c.ok());
  CHECK(c->connector == "app");
  CHECK(c->name == "orders");
  CHECK(c->pointer == "/connectors/0/collections/3");
  std::map<std::string, std::pair<std::string, std::string>> links;
  for (const auto& l : c->links) links[l.column] = {l.value_template, l.pointer};
  REQUIRE(links.size() == 3);
  CHECK(links["buyer_email"].first == "{identity.email}");
  CHECK(links["buyer_email"].second == "/connectors/0/collections/3/identity/email");
  CHECK(links["user_id"].first == "{app.users.id}");
  CHECK(links["contact_id"].first == "{crm.contacts.id}");
  CHECK(links["contact_id"].second == "/connectors/0/collections/3/references/contact_id");
  CHECK(c->portable);
  CHECK(c->erase.kind == EraseAction::Kind::kDelete);
  CHECK(c->restrict_set == json{{"frozen", true}});
  CHECK(c->omit == std::vector<std::string>{"blob"});
}

TEST_CASE("ParseTableCollection: retain keeps unless masked") {
  json j = json::parse(R"({"name": "invoices", "primary_key": "id", "references": {"user_id": "users.id"},
    "retain": {"basis": "legal_claims", "period": "P3Y", "note": "limitation period"}})");
  auto c = ParseTableCollection(j, "app", "/c");
  REQUIRE(c.ok());
  CHECK(c->erase.kind == EraseAction::Kind::kKeep);
  REQUIRE(c->retain);
  CHECK(c->retain->basis == "legal_claims");
  CHECK(c->retain->period == "P3Y");

  j["erase"] = {{"mask", {{"name", "redact"}}}};
  c = ParseTableCollection(j, "app", "/c");
  REQUIRE(c.ok());
  CHECK(c->erase.kind == EraseAction::Kind::kMask);
  CHECK(c->erase.mask.at("name") == "redact");
}

TEST_CASE("ParseTableCollection errors point at the key") {
  auto err = [](const std::string& text) {
    auto c = ParseTableCollection(json::parse(text), "app", "/connectors/0/collections/2");
    REQUIRE_FALSE(c.ok());
    CHECK(c.status().code() == Code::kInvalid);
    return c.status().field();
  };
  CHECK(err(R"({"name": "t", "primary_key": "id", "identity": {"email": "e"}, "colour": 1})") ==
        "/connectors/0/collections/2/colour");
  CHECK(err(R"({"name": "t", "identity": {"email": "e"}, "erase": "shred"})") == "/connectors/0/collections/2/erase");
  CHECK(err(R"({"name": "t", "identity": {"email": "e"}, "erase": {"mask": {"a": "blur"}}})") ==
        "/connectors/0/collections/2/erase/mask/a");
  CHECK(
      err(R"({"name": "t", "identity": {"email": "e"}, "retain": {"basis": "legal_obligation", "period": "7 years"}})") ==
      "/connectors/0/collections/2/retain/period");
  CHECK(err(R"({"name": "t", "identity": {"email": "e"}, "retain": {"note": "x"}})") ==
        "/connectors/0/collections/2/retain");
  CHECK(err(R"({"name": "t", "references": {"user_id": "a.b.c.d"}})") ==
        "/connectors/0/collections/2/references/user_id");
  CHECK(err(R"({"name": "t", "identity": {"email": "e; DROP TABLE t"}})") ==
        "/connectors/0/collections/2/identity/email");
  CHECK(err(R"({"name": "t"})") == "/connectors/0/collections/2");  // nothing ties rows to a subject
  CHECK(err(R"({"identity": {"email": "e"}})") == "/connectors/0/collections/2");
  CHECK(err(R"({"name": "t", "identity": {"email": "e"}, "restrict": {"restricted": 1}})") ==
        "/connectors/0/collections/2/restrict");
  CHECK(err(R"({"name": "t", "identity": {"email": "e"}, "rectify": ["ok", "not ok"]})") ==
        "/connectors/0/collections/2/rectify/1");
  // JSON pointer escaping of odd keys.
  CHECK(err(R"({"name": "t", "identity": {"email": "e"}, "a/b": 1})") == "/connectors/0/collections/2/a~1b");
}
