// Integration tests of the chroma connector against a real Chroma server
// (scripts/services.sh start; LETHE_CHROMA_URL). Each test case makes its own
// collection through the HTTP API and removes it afterwards.
#include <algorithm>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "lethe/connector.h"
#include "support/services.h"

using lethe::Connector;
using lethe::EraseAction;
using lethe::Item;
using lethe::Status;
using nlohmann::json;

namespace {

using lethe::test::ChromaCall;
using lethe::test::kChromaDb;

std::string Url() { return lethe::test::ServiceEnv("LETHE_CHROMA_URL"); }

// A fresh collection with a few subjects' entries.
class Collection {
 public:
  Collection() {
    coll_.Add({{"ids", {"a1", "a2", "a3", "b1", "e1"}},
               {"embeddings", {{0.5, 1.0, 2.0}, {1.5, -1.0, 0.0}, {3.0, 3.0, 3.0}, {9.0, 9.0, 9.0}, {0.0, 0.0, 1.0}}},
               {"documents", {"ann chunk 1", "ann chunk 2", nullptr, "bob chunk", "by email"}},
               {"metadatas",
                {{{"user_id", "42"}, {"page", 1}},
                 {{"user_id", "42"}, {"page", 2}},
                 {{"user_id", 42}},  // the same subject, stored as a number
                 {{"user_id", "43"}},
                 {{"email", "ann@example.com"}}}}});
  }

  void Add(const json& body) { coll_.Add(body); }
  std::vector<std::string> Ids() {
    json r = coll_.Get({{"include", json::array()}});
    auto ids = r["ids"].get<std::vector<std::string>>();
    std::sort(ids.begin(), ids.end());
    return ids;
  }
  json Metadata(const std::string& id) {
    json r = coll_.Get({{"ids", {id}}, {"include", {"metadatas"}}});
    return r["metadatas"][0];
  }

  json Config(json extra = json::object()) const {
    json coll = {{"name", name()},
                 {"where", {{"user_id", "{app.users.id}"}, {"email", "{identity.email}"}}},
                 {"categories", {"cv"}},
                 {"portable", true},
                 {"erase", "delete"}};
    coll.update(extra);
    return {{"name", "vectors"},
            {"type", "chroma"},
            {"url", Url()},
            {"tenant", "default_tenant"},
            {"database", "default_database"},
            {"collections", {coll}}};
  }
  const std::string& name() const { return coll_.name(); }

 private:
  lethe::test::ChromaCollection coll_;
};

lethe::Result<std::unique_ptr<Connector>> Make(const json& config) {
  return lethe::test::MakeConnector("chroma", config, lethe::ConnectorContext{}, "/connectors/2");
}

std::unique_ptr<Connector> MakeConnected(const json& config) {
  return lethe::test::MakeConnected("chroma", config, lethe::ConnectorContext{}, "/connectors/2");
}

// Items sorted by key.
std::vector<Item> FindAll(Connector& conn, const lethe::Match& m) {
  std::vector<Item> items = lethe::test::FindAll(conn, conn.collections()[0], m);
  std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) { return a.key < b.key; });
  return items;
}

std::vector<std::string> Keys(const std::vector<Item>& items) {
  std::vector<std::string> keys;
  for (const auto& i : items) keys.push_back(i.key);
  return keys;
}

}  // namespace

TEST_CASE("chroma: config errors name the field", "[chroma]") {
  Collection coll;
  json cfg = coll.Config();
  REQUIRE(Make(cfg).ok());
  auto check = [&](json bad, const std::string& field) {
    auto r = Make(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().field() == field);
  };
  json bad = cfg;
  bad["api_key"] = "x";
  check(bad, "/connectors/2/api_key");
  bad = cfg;
  bad["url"] = "file:///etc/passwd";
  check(bad, "/connectors/2/url");
  bad = cfg;
  bad["tenant"] = "../x";
  check(bad, "/connectors/2/tenant");
  bad = cfg;
  bad["collections"][0]["where"] = {{"user_id", "42"}};  // no placeholder: would match one fixed subject for all
  check(bad, "/connectors/2/collections/0/where/user_id");
  bad = cfg;
  bad["collections"][0]["where"] = {{"$or", "{app.users.id}"}};
  check(bad, "/connectors/2/collections/0/where/$or");
  bad = cfg;
  bad["collections"][0].erase("where");
  check(bad, "/connectors/2/collections/0");
  bad = cfg;
  bad["collections"][0]["omit"] = {"ids"};
  check(bad, "/connectors/2/collections/0/omit/0");
  bad = cfg;
  bad["collections"][0]["name"] = "a/b";
  check(bad, "/connectors/2/collections/0/name");
}

TEST_CASE("chroma: Connect resolves collections", "[chroma]") {
  Collection coll;
  json cfg = coll.Config();
  cfg["collections"][0]["name"] = "lethe_no_such_collection";
  auto c = Make(cfg);
  REQUIRE(c.ok());
  Status s = (*c)->Connect();
  REQUIRE_FALSE(s.ok());
  CHECK(s.field() == "/connectors/2/collections/0/name");

  cfg = coll.Config();
  cfg["url"] = "http://127.0.0.1:1";
  c = Make(cfg);
  REQUIRE(c.ok());
  CHECK((*c)->Connect().code() == lethe::Code::kUnavailable);
}

TEST_CASE("chroma: Find returns the subject's entries with embeddings", "[chroma]") {
  Collection coll;
  auto conn = MakeConnected(coll.Config());
  auto items = FindAll(*conn, {{"user_id", {"42"}}});
  REQUIRE(Keys(items) == std::vector<std::string>{"a1", "a2", "a3"});
  CHECK(items[0].fields["id"] == "a1");
  CHECK(items[0].fields["document"] == "ann chunk 1");
  CHECK(items[0].fields["metadata"] == json{{"user_id", "42"}, {"page", 1}});
  CHECK(items[0].fields["embedding"] == json::array({0.5, 1.0, 2.0}));
  CHECK(items[2].fields["document"].is_null());
  CHECK(items[2].fields["metadata"]["user_id"] == 42);

  // Any where-field may match.
  items = FindAll(*conn, {{"user_id", {"42"}}, {"email", {"ann@example.com"}}});
  CHECK(Keys(items) == std::vector<std::string>{"a1", "a2", "a3", "e1"});
  CHECK(FindAll(*conn, {{"user_id", {"44"}}}).empty());
  CHECK(FindAll(*conn, {{"user_id", {}}}).empty());
  CHECK(FindAll(*conn, {}).empty());
  CHECK_FALSE(conn->Find(conn->collections()[0], {{"page", {"1"}}}, [](const Item&) { return Status::Ok(); }).ok());
}

TEST_CASE("chroma: omitted parts are neither fetched nor exported", "[chroma]") {
  Collection coll;
  auto conn = MakeConnected(coll.Config({{"omit", {"embeddings"}}}));
  auto items = FindAll(*conn, {{"user_id", {"43"}}});
  REQUIRE(items.size() == 1);
  CHECK_FALSE(items[0].fields.contains("embedding"));
  CHECK(items[0].fields["document"] == "bob chunk");
}

TEST_CASE("chroma: values are data, never query operators", "[chroma]") {
  Collection coll;
  auto conn = MakeConnected(coll.Config());
  for (const std::string evil : {"{\"$ne\": \"x\"}", "$ne", "42\"}, {\"user_id\": {\"$ne\": \"\"", "*"}) {
    INFO(evil);
    CHECK(FindAll(*conn, {{"user_id", {evil}}}).empty());
  }
}

TEST_CASE("chroma: Find pages through many entries and stops on a sink error", "[chroma]") {
  Collection coll;
  json ids = json::array(), embs = json::array(), metas = json::array();
  for (int i = 0; i < 250; ++i) {
    ids.push_back("p" + std::to_string(i));
    embs.push_back({static_cast<double>(i), 1.0, 0.0});
    metas.push_back({{"user_id", "7"}});
  }
  coll.Add({{"ids", ids}, {"embeddings", embs}, {"metadatas", metas}});
  auto conn = MakeConnected(coll.Config());
  std::set<std::string> seen;
  int calls = 0;
  Status s = conn->Find(conn->collections()[0], {{"user_id", {"7"}}}, [&](const Item& i) {
    ++calls;
    seen.insert(i.key);
    return Status::Ok();
  });
  REQUIRE(s.ok());
  CHECK(calls == 250);
  CHECK(seen.size() == 250);

  calls = 0;
  s = conn->Find(conn->collections()[0], {{"user_id", {"7"}}},
                 [&](const Item&) { return ++calls == 5 ? Status::Io("stop here") : Status::Ok(); });
  CHECK(s.message() == "stop here");
  CHECK(calls == 5);
}

TEST_CASE("chroma: erase deletes the subject's entries only, idempotently", "[chroma]") {
  Collection coll;
  auto conn = MakeConnected(coll.Config());
  const auto& spec = conn->collections()[0];
  EraseAction del;
  del.kind = EraseAction::Kind::kDelete;

  // An id of another subject, given with this subject's match, is not deleted.
  auto n = conn->Erase(spec, {{"user_id", {"42"}}}, {"b1"}, del);
  REQUIRE(n.ok());
  CHECK(*n == 0);
  CHECK(coll.Ids().size() == 5);

  EraseAction keep;
  keep.kind = EraseAction::Kind::kKeep;
  n = conn->Erase(spec, {{"user_id", {"42"}}}, {"a1"}, keep);
  REQUIRE(n.ok());
  CHECK(*n == 0);

  auto keys = Keys(FindAll(*conn, {{"user_id", {"42"}}}));
  n = conn->Erase(spec, {{"user_id", {"42"}}}, keys, del);
  REQUIRE(n.ok());
  CHECK(*n == 3);
  CHECK(coll.Ids() == std::vector<std::string>{"b1", "e1"});

  n = conn->Erase(spec, {{"user_id", {"42"}}}, keys, del);
  REQUIRE(n.ok());
  CHECK(*n == 0);

  EraseAction mask;
  mask.kind = EraseAction::Kind::kMask;
  CHECK_FALSE(conn->Erase(spec, {{"user_id", {"43"}}}, {"b1"}, mask).ok());
  CHECK(coll.Ids() == std::vector<std::string>{"b1", "e1"});
}

TEST_CASE("chroma: update sets metadata fields and keeps the rest", "[chroma]") {
  Collection coll;
  auto conn = MakeConnected(coll.Config());
  auto n = conn->Update(conn->collections()[0], {"a1", "missing"}, {{"restricted", true}});
  REQUIRE(n.ok());
  CHECK(*n == 1);
  json meta = coll.Metadata("a1");
  CHECK(meta["restricted"] == true);
  CHECK(meta["user_id"] == "42");
  CHECK_FALSE(coll.Metadata("a2").contains("restricted"));
  CHECK_FALSE(conn->Update(conn->collections()[0], {"a1"}, {{"embedding", {1, 2}}}).ok());
}
