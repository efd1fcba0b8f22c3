// Integration tests of the s3 connector against a real S3 server (s3rver,
// started by scripts/services.sh; LETHE_S3_*). Each test case makes its own
// bucket. s3rver checks the access key and the x-amz-content-sha256 header
// but not SigV4 signatures; sigv4_test.cpp checks those against AWS's vectors.
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "lethe/connector.h"
#include "s3/s3_client.h"
#include "support/s3_bucket.h"

using lethe::Connector;
using lethe::EraseAction;
using lethe::Item;
using lethe::Status;
using nlohmann::json;

namespace {

// A fresh bucket with a few subjects' objects in it.
class Bucket {
 public:
  Bucket() {
    big_.resize(200 * 1024);
    for (size_t i = 0; i < big_.size(); ++i) big_[i] = static_cast<char>((i * 7919) % 256);  // has NUL bytes
    Put("42/cv.pdf", big_);
    Put("42/photos/a b&c<d>.jpg", "photo");
    Put("420/other.txt", "not 42's");
    Put("43/x.txt", "someone else");
  }

  void Put(const std::string& key, const std::string& body) { bucket_.Put(key, body); }
  bool Exists(const std::string& key) { return bucket_.Exists(key); }

  json Config() const {
    return bucket_.Config(json::array({{{"name", "uploads"},
                                        {"prefix", "{app.users.id}/"},
                                        {"categories", {"uploads"}},
                                        {"portable", true},
                                        {"erase", "delete"}}}));
  }

  const std::string& big() const { return big_; }
  lethe::s3::Client& client() { return bucket_.client(); }

 private:
  lethe::test::S3Bucket bucket_;
  std::string big_;
};

lethe::Result<std::unique_ptr<Connector>> Make(const json& config) {
  return lethe::test::MakeConnector("s3", config, lethe::test::Context(), "/connectors/1");
}

std::unique_ptr<Connector> MakeConnected(const json& config) {
  return lethe::test::MakeConnected("s3", config, lethe::test::Context(), "/connectors/1");
}

std::vector<Item> FindAll(Connector& conn, const lethe::Match& m) {
  return lethe::test::FindAll(conn, conn.collections()[0], m);
}

}  // namespace

TEST_CASE("s3: config errors name the field", "[s3]") {
  Bucket b;
  json cfg = b.Config();
  REQUIRE(Make(cfg).ok());
  REQUIRE(Make(cfg)->get()->collections()[0].objects);

  auto check = [&](json bad, const std::string& field) {
    auto r = Make(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().field() == field);
  };
  json bad = cfg;
  bad["acl"] = "public";
  check(bad, "/connectors/1/acl");
  bad = cfg;
  bad["secret_key_env"] = "LETHE_TEST_SURELY_UNSET_VAR";
  check(bad, "/connectors/1/secret_key_env");
  bad = cfg;
  bad["endpoint"] = "ftp://127.0.0.1/";
  check(bad, "/connectors/1/endpoint");
  bad = cfg;
  bad["endpoint"] = "http://user:pw@127.0.0.1/";
  check(bad, "/connectors/1/endpoint");
  bad = cfg;
  bad["bucket"] = "../etc";
  check(bad, "/connectors/1/bucket");
  bad = cfg;
  bad["objects"][0]["prefix"] = "uploads/";
  check(bad, "/connectors/1/objects/0/prefix");
  bad = cfg;
  bad["objects"][0]["prefix"] = "{app.users.id}";
  check(bad, "/connectors/1/objects/0/prefix");
  bad = cfg;
  bad["objects"][0]["prefix"] = "../{app.users.id}/";
  check(bad, "/connectors/1/objects/0/prefix");
  bad = cfg;
  bad["objects"][0]["erase"] = {{"mask", {{"x", "null"}}}};
  check(bad, "/connectors/1/objects/0/erase");
}

TEST_CASE("s3: Connect reports a missing bucket and a refused key", "[s3]") {
  Bucket b;
  json cfg = b.Config();
  cfg["bucket"] = "lethe-no-such-bucket";
  auto c = Make(cfg);
  REQUIRE(c.ok());
  Status s = (*c)->Connect();
  REQUIRE_FALSE(s.ok());
  CHECK(s.code() == lethe::Code::kNotFound);
  CHECK(s.message().find("NoSuchBucket") != std::string::npos);

  setenv("LETHE_TEST_BAD_ACCESS_KEY", "NOT-A-KEY", 1);
  cfg = b.Config();
  cfg["access_key_env"] = "LETHE_TEST_BAD_ACCESS_KEY";
  c = Make(cfg);
  REQUIRE(c.ok());
  s = (*c)->Connect();
  REQUIRE_FALSE(s.ok());
  CHECK(s.code() == lethe::Code::kForbidden);

  cfg = b.Config();
  cfg["endpoint"] = "http://127.0.0.1:1";
  c = Make(cfg);
  REQUIRE(c.ok());
  s = (*c)->Connect();
  CHECK(s.code() == lethe::Code::kUnavailable);
}

TEST_CASE("s3: Find lists the subject's prefix only", "[s3]") {
  Bucket b;
  auto conn = MakeConnected(b.Config());
  auto items = FindAll(*conn, {{"prefix", {"42/"}}});
  REQUIRE(items.size() == 2);
  CHECK(items[0].key == "42/cv.pdf");
  CHECK(items[0].size == 200 * 1024);
  CHECK(items[0].fields["key"] == "42/cv.pdf");
  CHECK(items[0].fields["size"] == 200 * 1024);
  CHECK(items[0].fields.contains("modified"));
  CHECK(items[1].key == "42/photos/a b&c<d>.jpg");  // XML entities decoded
  CHECK(items[1].size == 5);

  // Two subjects' prefixes, and one given twice: each object once.
  items = FindAll(*conn, {{"prefix", {"43/", "42/", "43/"}}});
  CHECK(items.size() == 3);
  items = FindAll(*conn, {{"prefix", {"42/photos/"}}, {"prefix", {"42/"}}});  // nested
  CHECK(items.size() == 2);
  CHECK(FindAll(*conn, {{"prefix", {"44/"}}}).empty());
  CHECK(FindAll(*conn, {}).empty());
}

TEST_CASE("s3: Find follows continuation tokens", "[s3]") {
  Bucket b;
  for (int i = 0; i < 1005; ++i) b.Put("7/f" + std::to_string(i), "x");
  auto conn = MakeConnected(b.Config());
  std::set<std::string> keys;
  int64_t calls = 0;
  Status s = conn->Find(conn->collections()[0], {{"prefix", {"7/"}}}, [&](const Item& i) {
    ++calls;
    keys.insert(i.key);
    return Status::Ok();
  });
  REQUIRE(s.ok());
  CHECK(calls == 1005);
  CHECK(keys.size() == 1005);

  // A sink error stops the listing and is returned.
  calls = 0;
  s = conn->Find(conn->collections()[0], {{"prefix", {"7/"}}},
                 [&](const Item&) { return ++calls == 3 ? Status::Io("enough") : Status::Ok(); });
  CHECK(s.message() == "enough");
  CHECK(calls == 3);
}

TEST_CASE("s3: ReadObject streams content exactly", "[s3]") {
  Bucket b;
  auto conn = MakeConnected(b.Config());
  auto items = FindAll(*conn, {{"prefix", {"42/"}}});
  REQUIRE(items.size() == 2);
  std::string got;
  int chunks = 0;
  Status s = conn->ReadObject(conn->collections()[0], items[0], [&](std::string_view c) {
    got.append(c);
    ++chunks;
    return Status::Ok();
  });
  REQUIRE(s.ok());
  CHECK(got == b.big());
  CHECK(chunks > 1);  // streamed, not buffered whole

  got.clear();
  REQUIRE(conn->ReadObject(conn->collections()[0], items[1],
                           [&](std::string_view c) {
                             got.append(c);
                             return Status::Ok();
                           })
              .ok());
  CHECK(got == "photo");

  // A sink error stops the transfer and comes back unchanged.
  s = conn->ReadObject(conn->collections()[0], items[0], [&](std::string_view) { return Status::Io("disk full"); });
  CHECK(s.message() == "disk full");

  // A missing object is NotFound, and its error document is never content.
  Item gone;
  gone.key = "42/gone.txt";
  bool called = false;
  s = conn->ReadObject(conn->collections()[0], gone, [&](std::string_view) {
    called = true;
    return Status::Ok();
  });
  CHECK(s.code() == lethe::Code::kNotFound);
  CHECK_FALSE(called);
}

TEST_CASE("s3: traversal and control characters are refused", "[s3]") {
  Bucket b;
  auto conn = MakeConnected(b.Config());
  const auto& spec = conn->collections()[0];
  auto ok = [](const Item&) { return Status::Ok(); };
  for (const std::string& bad :
       std::vector<std::string>{"../", "42/../43/", "/42/", "42//", "4\n2/", std::string("42\0/", 4), "42\\..\\"}) {
    INFO(bad);
    CHECK(conn->Find(spec, {{"prefix", {bad}}}, ok).code() == lethe::Code::kInvalid);
  }
  CHECK_FALSE(conn->Find(spec, {{"user_id", {"42/"}}}, ok).ok());

  for (const std::string bad : {"42/../43/x.txt", "/43/x.txt", "42/./cv.pdf", "42/a\rb"}) {
    INFO(bad);
    Item item;
    item.key = bad;
    CHECK(conn->ReadObject(spec, item, [](std::string_view) { return Status::Ok(); }).code() == lethe::Code::kInvalid);
    EraseAction del;
    CHECK(conn->Erase(spec, {{"prefix", {"42/"}}}, {bad}, del).status().code() == lethe::Code::kInvalid);
  }
  CHECK(b.Exists("43/x.txt"));
}

TEST_CASE("s3: erase deletes the subject's objects only, idempotently", "[s3]") {
  Bucket b;
  auto conn = MakeConnected(b.Config());
  const auto& spec = conn->collections()[0];
  EraseAction del;
  del.kind = EraseAction::Kind::kDelete;

  // A key outside the subject's prefixes is refused before anything is deleted.
  auto n = conn->Erase(spec, {{"prefix", {"42/"}}}, {"42/cv.pdf", "420/other.txt"}, del);
  REQUIRE_FALSE(n.ok());
  CHECK(b.Exists("42/cv.pdf"));
  CHECK(b.Exists("420/other.txt"));

  EraseAction keep;
  keep.kind = EraseAction::Kind::kKeep;
  n = conn->Erase(spec, {{"prefix", {"42/"}}}, {"42/cv.pdf"}, keep);
  REQUIRE(n.ok());
  CHECK(*n == 0);
  CHECK(b.Exists("42/cv.pdf"));

  std::vector<std::string> keys;
  for (const auto& i : FindAll(*conn, {{"prefix", {"42/"}}})) keys.push_back(i.key);
  n = conn->Erase(spec, {{"prefix", {"42/"}}}, keys, del);
  REQUIRE(n.ok());
  CHECK(*n == 2);
  CHECK(FindAll(*conn, {{"prefix", {"42/"}}}).empty());
  CHECK(b.Exists("420/other.txt"));
  CHECK(b.Exists("43/x.txt"));

  n = conn->Erase(spec, {{"prefix", {"42/"}}}, keys, del);
  REQUIRE(n.ok());
  CHECK(*n == 0);

  EraseAction mask;
  mask.kind = EraseAction::Kind::kMask;
  CHECK_FALSE(conn->Erase(spec, {{"prefix", {"43/"}}}, {"43/x.txt"}, mask).ok());
  CHECK(b.Exists("43/x.txt"));
}

TEST_CASE("s3: XML listing parser", "[s3]") {
  auto page = lethe::s3::ParseListObjectsV2(
      "<?xml version=\"1.0\"?><ListBucketResult><Name>b</Name><IsTruncated>true</IsTruncated>"
      "<Contents><Key>a&amp;b&#x2F;&#233;&lt;&quot;</Key><Size>12</Size>"
      "<LastModified>2026-01-01T00:00:00.000Z</LastModified></Contents>"
      "<Contents><Key>&lt;IsTruncated&gt;false&lt;/IsTruncated&gt;</Key><Size>0</Size></Contents>"
      "<NextContinuationToken>tok+/=</NextContinuationToken></ListBucketResult>");
  REQUIRE(page.ok());
  REQUIRE(page->objects.size() == 2);
  CHECK(page->objects[0].key == "a&b/\xC3\xA9<\"");
  CHECK(page->objects[0].size == 12);
  CHECK(page->objects[0].last_modified == "2026-01-01T00:00:00.000Z");
  CHECK(page->truncated);
  CHECK(page->next_token == "tok+/=");
  CHECK_FALSE(lethe::s3::ParseListObjectsV2("<Error><Code>NoSuchBucket</Code></Error>").ok());
  CHECK_FALSE(
      lethe::s3::ParseListObjectsV2("<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>").ok());
}
