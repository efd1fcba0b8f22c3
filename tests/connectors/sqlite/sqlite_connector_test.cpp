// The sqlite connector against real SQLite files in a temp directory.
#include <sqlite3.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <set>

#include "exec/util.h"
#include "lethe/connector.h"
#include "lethe/connector_config.h"
#include "support/support.h"

namespace fs = std::filesystem;
using lethe::Connector;
using lethe::Item;
using lethe::Status;

namespace {

using lethe::test::TempDir;  // tests/support/support.h

void Exec(const fs::path& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(db_path.c_str(), &db) == SQLITE_OK);
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  INFO((err ? err : ""));
  sqlite3_free(err);
  sqlite3_close(db);
  REQUIRE(rc == SQLITE_OK);
}

int64_t Count(const fs::path& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(db_path.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(s) == SQLITE_ROW);
  int64_t n = sqlite3_column_int64(s, 0);
  sqlite3_finalize(s);
  sqlite3_close(db);
  return n;
}

std::string Text(const fs::path& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(db_path.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(s) == SQLITE_ROW);
  const unsigned char* t = sqlite3_column_text(s, 0);
  std::string out = t ? reinterpret_cast<const char*>(t) : "<null>";
  sqlite3_finalize(s);
  sqlite3_close(db);
  return out;
}

const char* kSchema = R"sql(
  CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, name TEXT, address TEXT, restricted INTEGER DEFAULT 0);
  CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER, total REAL, note TEXT);
  CREATE TABLE invoices (id INTEGER PRIMARY KEY, user_id INTEGER, name TEXT, address TEXT, email TEXT, issued_at TEXT);
  INSERT INTO users VALUES (1, 'ada@example.com', 'Ada', '1 Main St', 0), (2, 'bob@example.com', 'Bob', '2 Side St', 0);
  INSERT INTO orders VALUES (10, 1, 9.5, 'a'), (11, 1, 3.0, 'b'), (12, 2, 7.0, 'c');
  INSERT INTO invoices VALUES (100, 1, 'Ada', '1 Main St', 'ada@example.com', '2025-01-01'),
                              (101, 2, 'Bob', '2 Side St', 'bob@example.com', '2025-01-02');
)sql";

nlohmann::json ConfigFor(const fs::path& dir) {
  return nlohmann::json::parse(R"({
    "name": "app", "type": "sqlite", "path": "app.db",
    "collections": [
      {"name": "users", "primary_key": "id", "identity": {"email": "email", "user_id": "id"},
       "rectify": ["name", "email"], "restrict": {"set": {"restricted": 1}}, "portable": true},
      {"name": "orders", "primary_key": "id", "references": {"user_id": "users.id"}},
      {"name": "invoices", "primary_key": "id", "references": {"user_id": "users.id"},
       "retain": {"basis": "legal_obligation", "period": "P7Y", "from": "issued_at"},
       "erase": {"mask": {"name": "null", "address": "redact", "email": "hash"}}}
    ]})");
}

std::unique_ptr<Connector> Make(const nlohmann::json& cfg, const fs::path& dir, Status* st = nullptr) {
  const lethe::ConnectorFactory* f = lethe::FindConnectorType("sqlite");
  REQUIRE(f != nullptr);
  lethe::ConnectorContext ctx;
  ctx.base_dir = dir.string();
  auto r = (*f)(cfg, "/connectors/0", ctx);
  if (!r.ok()) {
    if (st) *st = r.status();
    return nullptr;
  }
  return std::move(*r);
}

const lethe::CollectionSpec& Coll(Connector& c, const std::string& name) {
  for (const auto& s : c.collections()) {
    if (s.name == name) return s;
  }
  FAIL("no collection " << name);
  return c.collections()[0];
}

std::vector<Item> FindAll(Connector& c, const std::string& coll, const lethe::Match& m) {
  std::vector<Item> items;
  Status st = c.Find(Coll(c, coll), m, [&](const Item& it) {
    items.push_back(it);
    return Status::Ok();
  });
  REQUIRE(st.ok());
  return items;
}

}  // namespace

TEST_CASE("sqlite connector is registered") {
  auto types = lethe::ConnectorTypes();
  REQUIRE(std::find(types.begin(), types.end(), "sqlite") != types.end());
}

TEST_CASE("sqlite connector finds rows by identity and by reference") {
  TempDir dir;
  Exec(dir.path() / "app.db", kSchema);
  auto conn = Make(ConfigFor(dir.path()), dir.path());
  REQUIRE(conn);
  REQUIRE(conn->Connect().ok());
  auto& users = Coll(*conn, "users");
  REQUIRE(users.links.size() == 2);

  auto found = FindAll(*conn, "users", {{"email", {"ada@example.com"}}});
  REQUIRE(found.size() == 1);
  CHECK(found[0].key == "1");
  CHECK(found[0].fields["name"] == "Ada");
  CHECK(found[0].fields["id"] == 1);

  // Reference values arrive as strings; the integer column still matches.
  auto orders = FindAll(*conn, "orders", {{"user_id", {"1"}}});
  REQUIRE(orders.size() == 2);
  std::set<std::string> keys{orders[0].key, orders[1].key};
  CHECK(keys == std::set<std::string>{"10", "11"});
  CHECK(orders[0].fields["total"].is_number());

  // Terms are ORed; empty terms are ignored; no values means no rows.
  CHECK(FindAll(*conn, "users", {{"email", {"bob@example.com"}}, {"id", {"1"}}}).size() == 2);
  CHECK(FindAll(*conn, "users", {{"email", {}}}).empty());
  CHECK(FindAll(*conn, "users", {}).empty());
}

TEST_CASE("sqlite connector: an injection attempt in an identity value stays data") {
  TempDir dir;
  Exec(dir.path() / "app.db", kSchema);
  auto conn = Make(ConfigFor(dir.path()), dir.path());
  REQUIRE(conn->Connect().ok());
  std::string evil = "x' OR '1'='1";
  CHECK(FindAll(*conn, "users", {{"email", {evil}}}).empty());
  std::string evil2 = "1); DROP TABLE users; --";
  CHECK(FindAll(*conn, "users", {{"email", {evil2}}, {"id", {evil2}}}).empty());
  auto r = conn->Erase(Coll(*conn, "users"), {}, {evil, evil2, "1 OR 1=1"}, {});
  REQUIRE(r.ok());
  CHECK(*r == 0);
  CHECK(Count(dir.path() / "app.db", "SELECT count(*) FROM users") == 2);
}

TEST_CASE("sqlite connector: an integer-looking identity out of int64 range matches nothing, never throws") {
  // user_id 9999999999999999999 used to reach std::stoll, whose exception
  // escaped the worker and wedged the queue (issue 8, item 6).
  TempDir dir;
  Exec(dir.path() / "app.db", std::string(kSchema) +
                                  "CREATE TABLE loose (id, user_ref, note);"
                                  "INSERT INTO loose VALUES (1, '9999999999999999999', 'text'), (2, 1, 'int');");
  auto cfg = ConfigFor(dir.path());
  cfg["collections"].push_back({{"name", "loose"}, {"primary_key", "id"}, {"references", {{"user_ref", "users.id"}}}});
  auto conn = Make(cfg, dir.path());
  REQUIRE(conn->Connect().ok());
  for (std::string v : {"9999999999999999999", "-9999999999999999999", "99999999999999999999", "9223372036854775808"}) {
    INFO(v);
    CHECK(FindAll(*conn, "users", {{"id", {v}}}).empty());
    CHECK(FindAll(*conn, "orders", {{"user_id", {v, "2"}}}).size() == 1);  // the other value still matches
    auto r = conn->Erase(Coll(*conn, "orders"), {}, {v}, {});
    REQUIRE(r.ok());
    CHECK(*r == 0);
  }
  // In a column without a type the value is compared as the text it is.
  auto loose = FindAll(*conn, "loose", {{"user_ref", {"9999999999999999999"}}});
  REQUIRE(loose.size() == 1);
  CHECK(loose[0].key == "1");
  // The edges of int64 are still integers.
  CHECK(FindAll(*conn, "users", {{"id", {"9223372036854775807"}}}).empty());
  CHECK(FindAll(*conn, "users", {{"id", {"-9223372036854775808"}}}).empty());
  CHECK(Count(dir.path() / "app.db", "SELECT count(*) FROM orders") == 3);
}

TEST_CASE("sqlite connector erases: delete, mask, keep") {
  TempDir dir;
  fs::path db = dir.path() / "app.db";
  Exec(db, kSchema);
  auto conn = Make(ConfigFor(dir.path()), dir.path());
  REQUIRE(conn->Connect().ok());

  SECTION("delete removes only the given keys and is idempotent") {
    lethe::EraseAction del;
    auto r = conn->Erase(Coll(*conn, "orders"), {}, {"10", "11"}, del);
    REQUIRE(r.ok());
    CHECK(*r == 2);
    CHECK(Count(db, "SELECT count(*) FROM orders") == 1);
    CHECK(Count(db, "SELECT count(*) FROM orders WHERE id = 12") == 1);
    auto again = conn->Erase(Coll(*conn, "orders"), {}, {"10", "11"}, del);
    REQUIRE(again.ok());
    CHECK(*again == 0);
  }
  SECTION("mask nulls, redacts and hashes; rerunning leaves the hash alone") {
    const auto& inv = Coll(*conn, "invoices");
    REQUIRE(inv.erase.kind == lethe::EraseAction::Kind::kMask);
    lethe::EraseAction a = inv.erase;
    a.hash_key = "k1";
    auto r = conn->Erase(inv, {}, {"100"}, a);
    REQUIRE(r.ok());
    CHECK(*r == 1);
    CHECK(Text(db, "SELECT name FROM invoices WHERE id = 100") == "<null>");
    CHECK(Text(db, "SELECT address FROM invoices WHERE id = 100") == "[redacted]");
    std::string hashed = Text(db, "SELECT email FROM invoices WHERE id = 100");
    CHECK(hashed == lethe::exec::MaskHash("k1", "ada@example.com"));
    CHECK(Text(db, "SELECT issued_at FROM invoices WHERE id = 100") == "2025-01-01");
    CHECK(Text(db, "SELECT email FROM invoices WHERE id = 101") == "bob@example.com");
    REQUIRE(conn->Erase(inv, {}, {"100"}, a).ok());
    CHECK(Text(db, "SELECT email FROM invoices WHERE id = 100") == hashed);
  }
  SECTION("a mask without columns is refused, never a delete") {
    lethe::EraseAction empty_mask;
    empty_mask.kind = lethe::EraseAction::Kind::kMask;
    auto r = conn->Erase(Coll(*conn, "users"), {}, {"1"}, empty_mask);
    CHECK_FALSE(r.ok());
    CHECK(Count(db, "SELECT count(*) FROM users") == 2);
  }
  SECTION("keep changes nothing") {
    lethe::EraseAction keep;
    keep.kind = lethe::EraseAction::Kind::kKeep;
    auto r = conn->Erase(Coll(*conn, "users"), {}, {"1"}, keep);
    REQUIRE(r.ok());
    CHECK(*r == 0);
    CHECK(Count(db, "SELECT count(*) FROM users") == 2);
  }
  SECTION("update sets columns on the given keys") {
    auto r = conn->Update(Coll(*conn, "users"), {"1"}, {{"restricted", 1}, {"name", "Ada L."}});
    REQUIRE(r.ok());
    CHECK(*r == 1);
    CHECK(Count(db, "SELECT restricted FROM users WHERE id = 1") == 1);
    CHECK(Text(db, "SELECT name FROM users WHERE id = 1") == "Ada L.");
    CHECK(Count(db, "SELECT restricted FROM users WHERE id = 2") == 0);
  }
  SECTION("many keys in one erase") {
    Exec(db,
         "WITH RECURSIVE n(i) AS (SELECT 1000 UNION ALL SELECT i+1 FROM n WHERE i < 3499) "
         "INSERT INTO orders SELECT i, 1, 1.0, 'x' FROM n;");
    std::vector<std::string> keys;
    for (int i = 1000; i < 3500; ++i) keys.push_back(std::to_string(i));
    auto r = conn->Erase(Coll(*conn, "orders"), {}, keys, {});
    REQUIRE(r.ok());
    CHECK(*r == 2500);
    CHECK(Count(db, "SELECT count(*) FROM orders") == 3);
  }
}

TEST_CASE("sqlite connector config and schema errors carry the pointer") {
  TempDir dir;
  Exec(dir.path() / "app.db", kSchema);
  Status st;

  auto cfg = ConfigFor(dir.path());
  cfg["colour"] = "blue";
  CHECK(Make(cfg, dir.path(), &st) == nullptr);
  CHECK(st.field() == "/connectors/0/colour");

  cfg = ConfigFor(dir.path());
  cfg["collections"][1]["references"]["user_id"] = "users";
  CHECK(Make(cfg, dir.path(), &st) == nullptr);
  CHECK(st.field() == "/connectors/0/collections/1/references/user_id");

  cfg = ConfigFor(dir.path());
  cfg["collections"][2]["erase"] = "shred";
  CHECK(Make(cfg, dir.path(), &st) == nullptr);
  CHECK(st.field() == "/connectors/0/collections/2/erase");

  cfg = ConfigFor(dir.path());
  cfg["collections"][2]["retain"]["basis"] = "because";
  CHECK(Make(cfg, dir.path(), &st) == nullptr);
  CHECK(st.field() == "/connectors/0/collections/2/retain/basis");

  cfg = ConfigFor(dir.path());
  cfg["collections"][0]["name"] = "users\"; DROP TABLE users; --";
  CHECK(Make(cfg, dir.path(), &st) == nullptr);
  CHECK(st.field() == "/connectors/0/collections/0/name");

  // Unknown column: found by Connect().
  cfg = ConfigFor(dir.path());
  cfg["collections"][1]["references"] = {{"customer_id", "users.id"}};
  auto conn = Make(cfg, dir.path());
  REQUIRE(conn);
  st = conn->Connect();
  CHECK(st.code() == lethe::Code::kInvalid);
  CHECK(st.field() == "/connectors/0/collections/1/references/customer_id");
  CHECK(st.message().find("customer_id") != std::string::npos);

  cfg = ConfigFor(dir.path());
  cfg["collections"][0]["rectify"] = {"name", "nickname"};
  conn = Make(cfg, dir.path());
  st = conn->Connect();
  CHECK(st.field() == "/connectors/0/collections/0/rectify/1");

  cfg = ConfigFor(dir.path());
  cfg["collections"][1]["name"] = "ordrs";
  conn = Make(cfg, dir.path());
  st = conn->Connect();
  CHECK(st.field() == "/connectors/0/collections/1/name");

  // A missing database file is not silently created.
  cfg = ConfigFor(dir.path());
  cfg["path"] = "nope.db";
  conn = Make(cfg, dir.path());
  st = conn->Connect();
  CHECK(st.code() == lethe::Code::kUnavailable);
  CHECK_FALSE(fs::exists(dir.path() / "nope.db"));
}

TEST_CASE("sqlite connector matches columns declared without a type, integer or text") {
  TempDir dir;
  fs::path db = dir.path() / "app.db";
  Exec(db, std::string(kSchema) +
               "CREATE TABLE loose (id, user_ref, note);"
               "INSERT INTO loose VALUES (1, 1, 'int'), (2, '1', 'text'), (3, 2, 'other'), ('k4', '01', 'padded');");
  auto cfg = ConfigFor(dir.path());
  cfg["collections"].push_back({{"name", "loose"}, {"primary_key", "id"}, {"references", {{"user_ref", "users.id"}}}});
  auto conn = Make(cfg, dir.path());
  REQUIRE(conn->Connect().ok());
  auto items = FindAll(*conn, "loose", {{"user_ref", {"1"}}});
  REQUIRE(items.size() == 2);
  std::set<std::string> keys{items[0].key, items[1].key};
  CHECK(keys == std::set<std::string>{"1", "2"});
  auto r = conn->Erase(Coll(*conn, "loose"), {}, {"1", "2", "k4"}, {});
  REQUIRE(r.ok());
  CHECK(*r == 3);
  CHECK(Count(db, "SELECT count(*) FROM loose") == 1);
}

TEST_CASE("QuoteIdentifier accepts plain names only") {
  CHECK(*lethe::QuoteIdentifier("user_id", "") == "\"user_id\"");
  CHECK_FALSE(lethe::QuoteIdentifier("a\"b", "/x").ok());
  CHECK(lethe::QuoteIdentifier("a b", "/x").status().field() == "/x");
  CHECK_FALSE(lethe::QuoteIdentifier("", "").ok());
  CHECK_FALSE(lethe::QuoteIdentifier("1abc", "").ok());
}

TEST_CASE("sqlite connector: sqlite-vec vec0 tables are collections") {
  // scripts/services.sh (run by `make test`) installs sqlite-vec and names
  // it in LETHE_SQLITE_VEC. A missing extension is a failure, never a skip:
  // a skipped vector-store test would hide a broken vector connector.
  const char* env_vec = std::getenv("LETHE_SQLITE_VEC");
  const char* src = std::getenv("LETHE_SOURCE_DIR");
  fs::path vec = env_vec
                     ? fs::path(env_vec)
                     : fs::path(src ? src : "/work/main") / "tests/services/node_modules/sqlite-vec-linux-x64/vec0.so";
  REQUIRE(fs::exists(vec));
  TempDir dir;
  fs::path db = dir.path() / "app.db";
  Exec(db, kSchema);
  auto cfg = ConfigFor(dir.path());
  cfg["extensions"] = {vec.string().substr(0, vec.string().size() - 3)};  // sqlite finds ".so" itself
  cfg["collections"].push_back(
      {{"name", "cv_chunks"}, {"references", {{"user_id", "users.id"}}}, {"portable", true}, {"erase", "delete"}});
  // Create the vec0 table through a connection that has the extension.
  {
    sqlite3* h = nullptr;
    REQUIRE(sqlite3_open(db.c_str(), &h) == SQLITE_OK);
    sqlite3_enable_load_extension(h, 1);
    char* err = nullptr;
    REQUIRE(sqlite3_load_extension(h, vec.c_str(), nullptr, &err) == SQLITE_OK);
    REQUIRE(sqlite3_exec(h,
                         "CREATE VIRTUAL TABLE cv_chunks USING vec0(user_id integer, embedding float[3]);"
                         "INSERT INTO cv_chunks(rowid, user_id, embedding) VALUES "
                         "(1, 1, '[0.5, 1.0, -2.0]'), (2, 1, '[0, 0, 1]'), (3, 2, '[1, 1, 1]');",
                         nullptr, nullptr, &err) == SQLITE_OK);
    sqlite3_close(h);
  }
  auto conn = Make(cfg, dir.path());
  REQUIRE(conn);
  Status st = conn->Connect();
  INFO(st.ToString());
  REQUIRE(st.ok());
  auto items = FindAll(*conn, "cv_chunks", {{"user_id", {"1"}}});
  REQUIRE(items.size() == 2);
  const Item& first = items[0].key == "1" ? items[0] : items[1];
  REQUIRE(first.fields["embedding"].is_array());
  CHECK(first.fields["embedding"] == nlohmann::json::parse("[0.5, 1.0, -2.0]"));
  auto r = conn->Erase(Coll(*conn, "cv_chunks"), {}, {items[0].key, items[1].key}, {});
  REQUIRE(r.ok());
  CHECK(*r == 2);
  CHECK(FindAll(*conn, "cv_chunks", {{"user_id", {"1"}}}).empty());
  CHECK(FindAll(*conn, "cv_chunks", {{"user_id", {"2"}}}).size() == 1);
}
