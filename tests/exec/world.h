// A small real world for executor tests: an SQLite application database, a
// directory of uploaded files, and the real SQLite store, in a temp dir.
#pragma once

#include <sqlite3.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>

#include "lethe/config.h"
#include "lethe/exec.h"
#include "lethe/store.h"

namespace lethe::testing {

namespace fs = std::filesystem;

// What the tests assert on: the receipt as the API shows it, plus the
// server-side export path (Outcome::ToJson leaves that out on purpose).
inline Result<nlohmann::json> Receipt(const Result<Outcome>& o) {
  if (!o.ok()) return o.status();
  nlohmann::json j = o->ToJson();
  if (!o->export_path.empty()) j["export_path"] = o->export_path;
  return j;
}

inline void SqlExec(const fs::path& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(db_path.c_str(), &db) == SQLITE_OK);
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  std::string msg = err ? err : "";
  sqlite3_free(err);
  sqlite3_close(db);
  INFO(msg);
  REQUIRE(rc == SQLITE_OK);
}

inline std::string SqlText(const fs::path& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(db_path.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) == SQLITE_OK);
  std::string out = "<none>";
  if (sqlite3_step(s) == SQLITE_ROW) {
    const unsigned char* t = sqlite3_column_text(s, 0);
    out = t ? reinterpret_cast<const char*>(t) : "<null>";
  }
  sqlite3_finalize(s);
  sqlite3_close(db);
  return out;
}

inline int64_t SqlCount(const fs::path& db_path, const std::string& sql) { return std::stoll(SqlText(db_path, sql)); }

// users 1 (ada) and 2 (bob); ada has 2 orders, 3 items, 1200 events, an
// invoice, a newsletter row and two files; bob a little of everything.
inline const char* kAppSchema = R"sql(
  CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, name TEXT, address TEXT, language TEXT,
                      restricted INTEGER NOT NULL DEFAULT 0);
  CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER, total REAL);
  CREATE TABLE order_items (id INTEGER PRIMARY KEY, order_id INTEGER, sku TEXT);
  CREATE TABLE events (id INTEGER PRIMARY KEY, user_id INTEGER, kind TEXT);
  CREATE TABLE invoices (id INTEGER PRIMARY KEY, user_id INTEGER, name TEXT, address TEXT, email TEXT, issued_at TEXT);
  CREATE TABLE newsletter (id INTEGER PRIMARY KEY, email TEXT, opted_in INTEGER);
  INSERT INTO users VALUES (1, 'ada@example.com', 'Ada', '1 Main St', 'en', 0), (2, 'bob@example.com', 'Bob', '2 Side St', 'de', 0);
  INSERT INTO orders VALUES (10, 1, 9.5), (11, 1, 3.25), (12, 2, 7.0);
  INSERT INTO order_items VALUES (100, 10, 'A'), (101, 10, 'B'), (102, 11, 'C'), (103, 12, 'D');
  WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 1200)
    INSERT INTO events SELECT i, 1, 'click' FROM n;
  INSERT INTO events VALUES (5001, 2, 'click'), (5002, 2, 'view');
  INSERT INTO invoices VALUES (500, 1, 'Ada', '1 Main St', 'ada@example.com', '2025-01-01'),
                              (501, 2, 'Bob', '2 Side St', 'bob@example.com', '2025-02-01');
  INSERT INTO newsletter VALUES (7, 'ada@example.com', 1), (8, 'bob@example.com', 1);
)sql";

inline nlohmann::json AppConnector(const std::string& type = "sqlite") {
  auto j = nlohmann::json::parse(R"({
    "name": "app", "type": "sqlite", "path": "app.db",
    "collections": [
      {"name": "order_items", "primary_key": "id", "references": {"order_id": "orders.id"}, "portable": true},
      {"name": "users", "primary_key": "id", "identity": {"email": "email", "user_id": "id"},
       "categories": ["identity", "contact"], "purpose": "account", "portable": true, "omit": ["address"],
       "rectify": ["name", "email", "language"], "restrict": {"set": {"restricted": 1}}},
      {"name": "orders", "primary_key": "id", "references": {"user_id": "users.id"},
       "categories": ["purchases"], "purpose": "contract", "portable": true},
      {"name": "events", "primary_key": "id", "references": {"user_id": "users.id"},
       "categories": ["usage"], "purpose": "analytics"},
      {"name": "invoices", "primary_key": "id", "references": {"user_id": "users.id"},
       "categories": ["billing"], "purpose": "bookkeeping",
       "retain": {"basis": "legal_obligation", "note": "EU tax law", "period": "P7Y", "from": "issued_at"},
       "erase": {"mask": {"name": "null", "address": "redact", "email": "hash"}}},
      {"name": "newsletter", "primary_key": "id", "identity": {"email": "email"}, "erase": "keep",
       "purpose": "marketing suppression list"}
    ]})");
  j["type"] = type;
  return j;
}

inline nlohmann::json FilesConnector() {
  return nlohmann::json::parse(R"({
    "name": "files", "type": "filesystem", "root": "files",
    "objects": [{"name": "uploads", "prefix": "{app.users.id}/", "categories": ["uploads"],
                 "purpose": "applications", "portable": true, "erase": "delete"}]})");
}

struct World {
  fs::path dir;
  fs::path app_db;
  Config config;
  std::unique_ptr<Store> store;
  std::string hash_key = "test-hash-key";

  World() {
    char tmpl[] = "/tmp/lethe-exec-test-XXXXXX";
    dir = mkdtemp(tmpl);
    app_db = dir / "app.db";
    SqlExec(app_db, kAppSchema);
    fs::create_directories(dir / "files/1");
    fs::create_directories(dir / "files/2");
    std::ofstream(dir / "files/1/cv.pdf") << "%PDF-1.4 ada's cv";
    std::ofstream(dir / "files/1/notes.txt") << "ada's notes\n";
    std::ofstream(dir / "files/2/other.txt") << "bob's file\n";
    config.base_dir = dir.string();
    config.exports_dir = "exports";
    config.recipients = nlohmann::json::parse(R"([{"name": "crm", "webhook": "http://127.0.0.1:9/art19"}])");
    config.connectors = nlohmann::json::array({AppConnector(), FilesConnector()});
    auto st = Store::Open({{"sqlite", "lethe.db"}}, dir.string());
    INFO(st.status().ToString());
    REQUIRE(st.ok());
    store = std::move(*st);
  }
  ~World() {
    store.reset();
    std::error_code ec;
    fs::remove_all(dir, ec);
  }

  Request NewRequest(const std::string& id, RequestType type, const std::string& email,
                     const nlohmann::json& params = nlohmann::json::object()) {
    Request r;
    r.id = id;
    r.type = type;
    r.status = RequestStatus::kInProgress;
    r.channel = "api";
    r.subject.email = email;
    r.verified = true;
    r.verified_identities = {"email"};  // the world's subjects proved their email
    r.received_at = Now();
    r.due_at = Now() + std::chrono::hours(24 * 30);
    r.due_date = "2099-01-01";
    r.params = params;
    r.created_at = r.updated_at = Now();
    Event e;
    e.at = Now();
    e.kind = "received";
    e.actor = "test";
    e.to_status = "in_progress";
    AuditEntry a;
    a.at = Now();
    a.request_id = id;
    a.kind = "received";
    a.actor = "test";
    Status st = store->Insert(r, e, a);
    INFO(st.ToString());
    REQUIRE(st.ok());
    return r;
  }

  std::unique_ptr<Executor> MakeExec() {
    auto ex = MakeExecutor(config, *store, hash_key);
    INFO(ex.status().ToString());
    REQUIRE(ex.ok());
    return std::move(*ex);
  }

  std::map<std::string, Task> TasksOf(const std::string& id) {
    auto t = store->Tasks(id);
    REQUIRE(t.ok());
    std::map<std::string, Task> out;
    for (auto& task : *t) out[task.connector + "." + task.collection + ":" + task.action] = task;
    return out;
  }
};

}  // namespace lethe::testing
