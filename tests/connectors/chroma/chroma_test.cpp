// Integration tests of the chroma connector against a real Chroma server
// (scripts/services.sh start; LETHE_CHROMA_URL). Each test case makes its own
// collection through the HTTP API and removes it afterwards.
#include <curl/curl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "lethe/connector.h"

using lethe::Connector;
using lethe::EraseAction;
using lethe::Item;
using lethe::Status;
using nlohmann::json;

namespace {

std::string Url() {
  const char* v = std::getenv("LETHE_CHROMA_URL");
  if (!v || !*v) {
    FAIL("LETHE_CHROMA_URL is not set: start the test services with "
         "`bash scripts/services.sh start && set -a && . tests/services/.run/env && set +a`");
  }
  return v;
}

size_t Append(char* p, size_t s, size_t n, void* ud) {
  static_cast<std::string*>(ud)->append(p, s * n);
  return s * n;
}

// A plain HTTP call for test set-up; fails the test on a transport error.
json Call(const std::string& method, const std::string& path, const json& body = nullptr, long* code = nullptr) {
  CURL* c = curl_easy_init();
  REQUIRE(c != nullptr);
  std::string url = Url() + path, payload = body.is_null() ? "" : body.dump(), out;
  curl_slist* h = curl_slist_append(nullptr, "Content-Type: application/json");
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (!body.is_null()) curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload.c_str());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, Append);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
  CURLcode rc = curl_easy_perform(c);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  REQUIRE(rc == CURLE_OK);
  if (code) *code = status;
  INFO(method << " " << path << " -> " << status << " " << out);
  if (!code) REQUIRE((status >= 200 && status < 300));
  return out.empty() ? json(nullptr) : json::parse(out);
}

const std::string kDb = "/api/v2/tenants/default_tenant/databases/default_database";

// A fresh collection with a few subjects' entries.
class Collection {
 public:
  Collection() {
    static int counter = 0;
    name_ = "lethe_t" + std::to_string(getpid()) + "_" + std::to_string(++counter);
    json created = Call("POST", kDb + "/collections", {{"name", name_}});
    id_ = created["id"].get<std::string>();
    Add({{"ids", {"a1", "a2", "a3", "b1", "e1"}},
         {"embeddings", {{0.5, 1.0, 2.0}, {1.5, -1.0, 0.0}, {3.0, 3.0, 3.0}, {9.0, 9.0, 9.0}, {0.0, 0.0, 1.0}}},
         {"documents", {"ann chunk 1", "ann chunk 2", nullptr, "bob chunk", "by email"}},
         {"metadatas",
          {{{"user_id", "42"}, {"page", 1}},
           {{"user_id", "42"}, {"page", 2}},
           {{"user_id", 42}},  // the same subject, stored as a number
           {{"user_id", "43"}},
           {{"email", "ann@example.com"}}}}});
  }
  ~Collection() {
    long code = 0;
    Call("DELETE", kDb + "/collections/" + name_, nullptr, &code);
  }

  void Add(const json& body) { Call("POST", kDb + "/collections/" + id_ + "/add", body); }
  std::vector<std::string> Ids() {
    json r = Call("POST", kDb + "/collections/" + id_ + "/get", {{"include", json::array()}});
    auto ids = r["ids"].get<std::vector<std::string>>();
    std::sort(ids.begin(), ids.end());
    return ids;
  }
  json Metadata(const std::string& id) {
    json r = Call("POST", kDb + "/collections/" + id_ + "/get", {{"ids", {id}}, {"include", {"metadatas"}}});
    return r["metadatas"][0];
  }

  json Config(json extra = json::object()) const {
    json coll = {{"name", name_},
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
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  std::string id_;
};

lethe::Result<std::unique_ptr<Connector>> Make(const json& config) {
  const lethe::ConnectorFactory* f = lethe::FindConnectorType("chroma");
  REQUIRE(f != nullptr);
  return (*f)(config, "/connectors/2", lethe::ConnectorContext{});
}

std::unique_ptr<Connector> MakeConnected(const json& config) {
  auto c = Make(config);
  INFO(c.status().ToString());
  REQUIRE(c.ok());
  Status s = (*c)->Connect();
  INFO(s.ToString());
  REQUIRE(s.ok());
  return std::move(*c);
}

std::vector<Item> FindAll(Connector& conn, const lethe::Match& m) {
  std::vector<Item> items;
  Status s = conn.Find(conn.collections()[0], m, [&](const Item& i) {
    items.push_back(i);
    return Status::Ok();
  });
  INFO(s.ToString());
  REQUIRE(s.ok());
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
  s = conn->Find(conn->collections()[0], {{"user_id", {"7"}}}, [&](const Item&) {
    return ++calls == 5 ? Status::Io("stop here") : Status::Ok();
  });
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
