// The connector contract (tests/connectors/contract/) over a real SQLite file.
#include <sqlite3.h>

#include "connectors/contract/contract_suite.h"

namespace {

using lethe::contract::Rows;
using nlohmann::json;

class SqliteWorld : public lethe::contract::TableWorld {
 public:
  SqliteWorld() {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open((dir_ / "app.db").c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db, "CREATE TABLE items (id TEXT PRIMARY KEY, owner TEXT, body TEXT, created TEXT)", nullptr,
                         nullptr, nullptr) == SQLITE_OK);
    for (const auto& r : Rows()) {
      sqlite3_stmt* s = nullptr;
      REQUIRE(sqlite3_prepare_v2(db, "INSERT INTO items VALUES (?, ?, ?, ?)", -1, &s, nullptr) == SQLITE_OK);
      int i = 1;
      for (const std::string* v : {&r.id, &r.owner, &r.body, &r.created}) {
        sqlite3_bind_text(s, i++, v->c_str(), -1, SQLITE_TRANSIENT);
      }
      REQUIRE(sqlite3_step(s) == SQLITE_DONE);
      sqlite3_finalize(s);
    }
    sqlite3_close(db);
  }

  std::string type() const override { return "sqlite"; }
  json Config(const json& erase, const json& retain) const override {
    return {{"name", "app"}, {"type", "sqlite"}, {"path", "app.db"}, {"collections", {Items(erase, retain)}}};
  }
  lethe::ConnectorContext Context() const override { return lethe::test::Context(dir_.path().string()); }

 private:
  lethe::test::TempDir dir_{"lethe-sqlite-contract"};
};

}  // namespace

LETHE_CONNECTOR_CONTRACT(SqliteWorld, "[sqlite]")
