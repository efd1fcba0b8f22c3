// The executor over a real PostgreSQL: the same example world as the sqlite
// executor tests (tests/exec/world.h), with the application tables in
// PostgreSQL instead. Checks discovery through references, the export, and
// erasure with delete, retention with masks, keep, and other subjects untouched.
#include <zip.h>

#include <cstdlib>

#include "exec/util.h"
#include "exec/world.h"
#include "support/services.h"

using lethe::RequestType;
using lethe::testing::World;
using nlohmann::json;

namespace {

class PgApp {
 public:
  PgApp() { db_.Exec(lethe::testing::kAppSchema); }
  void Exec(const std::string& sql) { db_.Exec(sql); }
  // "<none>" when there is no row (Scalar says "<null>" for both).
  std::string Text(const std::string& sql) {
    if (db_.Scalar("SELECT count(*) FROM (" + sql + ") q") == "0") return "<none>";
    return db_.Scalar(sql);
  }
  json Connector() const {
    json j = lethe::testing::AppConnector("postgres");
    j.erase("path");
    j["dsn_env"] = "LETHE_PG_DSN";
    j["schema"] = db_.name();
    return j;
  }

 private:
  lethe::test::PgSchema db_;
};

}  // namespace

TEST_CASE("executor over postgres: access export holds the subject's rows", "[postgres][executor]") {
  PgApp pg;
  World w;
  w.config.connectors = json::array({pg.Connector()});
  auto r = w.NewRequest("req-pg-access", RequestType::kAccess, "ada@example.com");
  auto res = lethe::testing::Receipt(w.MakeExec()->Execute(r));
  INFO(res.status().ToString());
  REQUIRE(res.ok());
  CHECK((*res)["records"] == 1 + 2 + 3 + 1200 + 1 + 1);

  int err = 0;
  zip_t* za = zip_open((*res)["export_path"].get<std::string>().c_str(), ZIP_RDONLY, &err);
  REQUIRE(za != nullptr);
  zip_stat_t st;
  REQUIRE(zip_stat(za, "data/app/users.json", 0, &st) == 0);
  std::string users(st.size, '\0');
  zip_file_t* f = zip_fopen(za, "data/app/users.json", 0);
  REQUIRE(f != nullptr);
  REQUIRE(zip_fread(f, users.data(), st.size) == static_cast<zip_int64_t>(st.size));
  zip_fclose(f);
  zip_close(za);
  CHECK(users.find("ada@example.com") != std::string::npos);
  CHECK(users.find("bob@example.com") == std::string::npos);
  CHECK(users.find("1 Main St") == std::string::npos);  // "address" is omitted
}

TEST_CASE("executor over postgres: erasure deletes, masks retained rows, keeps, and spares others",
          "[postgres][executor]") {
  PgApp pg;
  World w;
  w.config.connectors = json::array({pg.Connector()});
  auto r = w.NewRequest("req-pg-erase", RequestType::kErasure, "ada@example.com");
  auto res = lethe::testing::Receipt(w.MakeExec()->Execute(r));
  INFO(res.status().ToString());
  REQUIRE(res.ok());

  CHECK(pg.Text("SELECT count(*) FROM users WHERE id = 1") == "0");
  CHECK(pg.Text("SELECT count(*) FROM orders WHERE user_id = 1") == "0");
  CHECK(pg.Text("SELECT count(*) FROM order_items WHERE id IN (100, 101, 102)") == "0");
  CHECK(pg.Text("SELECT count(*) FROM events WHERE user_id = 1") == "0");
  // Retained for the tax law, masked.
  CHECK(pg.Text("SELECT name FROM invoices WHERE id = 500") == "<null>");
  CHECK(pg.Text("SELECT address FROM invoices WHERE id = 500") == "[redacted]");
  CHECK(pg.Text("SELECT email FROM invoices WHERE id = 500") == lethe::exec::MaskHash(w.hash_key, "ada@example.com"));
  // The suppression list keeps its row.
  CHECK(pg.Text("SELECT email FROM newsletter WHERE id = 7") == "ada@example.com");
  // Bob is untouched.
  CHECK(pg.Text("SELECT count(*) FROM users WHERE id = 2") == "1");
  CHECK(pg.Text("SELECT count(*) FROM events WHERE user_id = 2") == "2");
  CHECK(pg.Text("SELECT email FROM invoices WHERE id = 501") == "bob@example.com");
  CHECK(pg.Text("SELECT count(*) FROM order_items WHERE id = 103") == "1");

  auto tasks = w.TasksOf("req-pg-erase");
  CHECK(tasks["app.events:erase"].rows == 1200);
  CHECK(tasks["app.order_items:erase"].rows == 3);
  CHECK(res->dump().find("ada@example.com") == std::string::npos);

  // Again: nothing more changes, the hash is not hashed twice.
  auto again = lethe::testing::Receipt(w.MakeExec()->Execute(r));
  REQUIRE(again.ok());
  CHECK(pg.Text("SELECT email FROM invoices WHERE id = 500") == lethe::exec::MaskHash(w.hash_key, "ada@example.com"));
  CHECK(pg.Text("SELECT count(*) FROM users") == "1");
}

TEST_CASE(
    "executor over postgres: retention counts from a timestamptz column; expired rows go, the rest "
    "are kept in the ledger and purged when due",
    "[postgres][executor][retention]") {
  PgApp pg;
  // issued_at as PostgreSQL's own type: its text form ("2018-03-31 00:00:00+00") is what the period counts from.
  pg.Exec("ALTER TABLE invoices ALTER COLUMN issued_at TYPE timestamptz USING issued_at::timestamptz");
  pg.Exec(
      "INSERT INTO invoices VALUES (502, 1, 'Ada', '1 Main St', 'ada@example.com', '2018-03-31 00:00:00+00'),"
      " (503, 1, 'Ada', '1 Main St', 'ada@example.com', '2026-03-31 09:00:00+02')");
  World w;
  w.config.connectors = json::array({pg.Connector()});
  lethe::SetClockForTesting(*lethe::ParseRfc3339("2026-06-01T12:00:00Z"));
  auto r = w.NewRequest("req-pg-ret", RequestType::kErasure, "ada@example.com");
  auto res = lethe::testing::Receipt(w.MakeExec()->Execute(r));
  lethe::SetClockForTesting(lethe::Time{});
  INFO(res.status().ToString());
  REQUIRE(res.ok());
  CHECK(pg.Text("SELECT count(*) FROM invoices WHERE id = 502") == "0");  // its seven years ended in 2025
  CHECK(pg.Text("SELECT count(*) FROM invoices WHERE id IN (500, 503) AND name IS NULL") == "2");
  json kept = (*res)["kept_items"];
  REQUIRE(kept.size() == 1);
  CHECK(kept[0]["records"] == 2);
  CHECK(kept[0]["until"] == "2033-03-31");

  auto ledger = w.store->Records("kept", std::nullopt, 100);
  REQUIRE(ledger.ok());
  REQUIRE(ledger->size() == 2);
  for (const auto& rec : *ledger) CHECK(rec.value.dump().find("ada@example.com") == std::string::npos);

  auto purged = w.MakeExec()->PurgeExpiredKept(*lethe::ParseRfc3339("2033-04-01T00:00:00Z"));
  INFO(purged.status().ToString());
  REQUIRE(purged.ok());
  CHECK((*purged)["rows"] == 2);
  CHECK(pg.Text("SELECT count(*) FROM invoices WHERE user_id = 1") == "0");
  CHECK(pg.Text("SELECT email FROM invoices WHERE id = 501") == "bob@example.com");
}
