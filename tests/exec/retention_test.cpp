// Retention at erasure and after it, over a real SQLite app database and the
// real SQLite store: rows past their period are deleted, the rest are kept
// (masked) and recorded in the pseudonymous ledger, the purge erases them
// when their period ends, and a later access request lists them.
#include <zip.h>

#include <catch2/catch.hpp>

#include "exec/retention.h"
#include "lethe/audit.h"
#include "lethe/exec.h"
#include "world.h"

using namespace lethe;
using namespace lethe::testing;
using nlohmann::json;

namespace {

Time At(const char* s) { return *ParseRfc3339(s); }

// Pins the clock for one test case and releases it afterwards.
struct PinnedClock {
  explicit PinnedClock(const char* at) { SetClockForTesting(At(at)); }
  ~PinnedClock() { SetClockForTesting(Time{}); }
};

std::string ZipEntry(const std::string& path, const std::string& name) {
  int err = 0;
  zip_t* za = zip_open(path.c_str(), ZIP_RDONLY, &err);
  REQUIRE(za != nullptr);
  zip_stat_t st;
  zip_stat_init(&st);
  REQUIRE(zip_stat(za, name.c_str(), 0, &st) == 0);
  zip_file_t* f = zip_fopen(za, name.c_str(), 0);
  REQUIRE(f != nullptr);
  std::string out(st.size, '\0');
  REQUIRE(zip_fread(f, out.data(), st.size) == static_cast<zip_int64_t>(st.size));
  zip_fclose(f);
  zip_close(za);
  return out;
}

std::vector<Record> Ledger(World& w) {
  auto all = w.store->Records(exec::kKeptKind, std::nullopt, 1000);
  REQUIRE(all.ok());
  return *all;
}

json Retained(const json& result, const std::string& collection) {
  for (const auto& e : result["retained"]) {
    if (e["collection"] == collection) return e;
  }
  FAIL("no retained entry for " << collection << " in " << result.dump());
  return {};
}

// Ada's invoices: 500 (2025-01-01, the world's), 502 from 2018 (its seven
// years ended 2025-03-31), 503 from 2026-03-31 (kept until 2033-03-31),
// 504 from 2024-05-02 in PostgreSQL's text form.
void AddInvoices(World& w) {
  SqlExec(w.app_db,
          "INSERT INTO invoices VALUES (502, 1, 'Ada', '1 Main St', 'ada@example.com', '2018-03-31'),"
          " (503, 1, 'Ada', '1 Main St', 'ada@example.com', '2026-03-31T09:00:00Z'),"
          " (504, 1, 'Ada', '1 Main St', 'ada@example.com', '2024-05-02 10:00:00+00')");
}

}  // namespace

TEST_CASE("retention: the period counts from the row's date; missing or odd dates keep the row", "[retention]") {
  Retention r{"legal_obligation", "EU tax law", "P7Y", "issued_at"};
  const Time now = At("2026-06-01T00:00:00Z");
  auto judge = [&](json fields) { return exec::JudgeRetention(r, fields, now); };
  using K = exec::RetentionVerdict::Kind;
  CHECK(judge({{"issued_at", "2018-03-31"}}).kind == K::kExpired);
  auto kept = judge({{"issued_at", "2024-02-29"}});
  CHECK(kept.kind == K::kKeep);
  CHECK(FormatRfc3339(*kept.until) == "2031-02-28T00:00:00Z");                // calendar years, clamped
  CHECK(judge({{"issued_at", "2019-06-01T00:00:00Z"}}).kind == K::kExpired);  // ended exactly now
  CHECK(judge({{"issued_at", "2019-06-01T00:00:01Z"}}).kind == K::kKeep);
  CHECK(FormatRfc3339(*judge({{"issued_at", "2024-05-02 10:00:00.123+02"}}).until) == "2031-05-02T08:00:00Z");
  CHECK(FormatRfc3339(*judge({{"issued_at", "2024-05-02 10:00:00"}}).until) == "2031-05-02T10:00:00Z");
  CHECK(judge({{"issued_at", 1262304000}}).kind == K::kExpired);  // Unix seconds, 2010-01-01
  CHECK(judge({{"issued_at", nullptr}}).kind == K::kUndated);
  CHECK(judge({{"other", "2018-01-01"}}).kind == K::kUndated);
  CHECK(judge({{"issued_at", "yesterday"}}).kind == K::kUndated);
  CHECK(judge({{"issued_at", "2018-02-30"}}).kind == K::kUndated);
  // No period: kept with no end. No `from`: counted from the erasure.
  CHECK_FALSE(exec::JudgeRetention({"legal_claims", "", "", ""}, json::object(), now).until.has_value());
  CHECK(FormatRfc3339(*exec::JudgeRetention({"legal_claims", "", "P3Y", ""}, json::object(), now).until) ==
        "2029-06-01T00:00:00Z");
}

TEST_CASE("retention: erasure deletes rows past their period, keeps and masks the rest, ledger holds keys only",
          "[retention]") {
  PinnedClock clock("2026-06-01T12:00:00Z");
  World w;
  AddInvoices(w);
  nlohmann::json raw = {{"backups", {{"retention", "P30D"}}}};
  w.config.raw = raw;
  Request r = w.NewRequest("req-ret", RequestType::kErasure, "ada@example.com");
  // The plan says it first: one of the four invoices goes.
  auto plan = w.MakeExec()->Plan(r);
  REQUIRE(plan.ok());
  for (const auto& c : (*plan)["collections"]) {
    if (c["collection"] != "invoices") continue;
    CHECK(c["rows"] == 4);
    CHECK(c["expired"] == 1);
  }
  auto res = Receipt(w.MakeExec()->Execute(r));
  INFO(res.status().ToString());
  REQUIRE(res.ok());

  // The 2018 invoice is gone; the others are kept, masked.
  CHECK(SqlCount(w.app_db, "SELECT count(*) FROM invoices WHERE id = 502") == 0);
  for (int id : {500, 503, 504}) {
    CHECK(SqlCount(w.app_db, "SELECT count(*) FROM invoices WHERE id = " + std::to_string(id)) == 1);
    CHECK(SqlText(w.app_db, "SELECT name FROM invoices WHERE id = " + std::to_string(id)) == "<null>");
  }
  CHECK(SqlCount(w.app_db, "SELECT count(*) FROM invoices WHERE user_id = 2") == 1);  // bob's untouched

  // The receipt: what was kept, until when, and when backups are gone.
  json inv = Retained(*res, "invoices");
  CHECK(inv["kept"] == 3);
  CHECK(inv["until"] == "2033-03-31");
  CHECK(inv["expired_deleted"] == 1);
  CHECK(inv["undated"] == 0);
  REQUIRE((*res)["kept_items"].size() == 1);
  CHECK((*res)["kept_items"][0] == json({{"connector", "app"},
                                         {"collection", "invoices"},
                                         {"records", 3},
                                         {"basis", "legal_obligation"},
                                         {"note", "EU tax law"},
                                         {"until", "2033-03-31"}}));
  CHECK((*res)["backups"]["retention"] == "P30D");
  CHECK((*res)["backups"]["gone_by"] == "2026-07-01");
  CHECK((*res)["verified"] == true);

  // The ledger: one record per day the period ends, internal keys and the
  // subject's keyed pseudonym; no identity value, no row content.
  auto ledger = Ledger(w);
  REQUIRE(ledger.size() == 3);
  std::map<std::string, std::string> until_of;
  for (const Record& rec : ledger) {
    const std::string dump = rec.value.dump() + rec.key;
    CHECK(dump.find("ada@example.com") == std::string::npos);
    CHECK(dump.find("Ada") == std::string::npos);
    CHECK(dump.find("Main St") == std::string::npos);
    CHECK(rec.value["subject_refs"] == json::array({Pseudonym(w.hash_key, "email", "ada@example.com")}));
    CHECK(rec.value["basis"] == "legal_obligation");
    REQUIRE(rec.value["keys"].size() == 1);
    until_of[rec.value["keys"][0].get<std::string>()] = rec.value["until"].get<std::string>();
    REQUIRE(rec.due_at.has_value());
    CHECK(FormatRfc3339(*rec.due_at) == rec.value["until"]);
  }
  CHECK(until_of == std::map<std::string, std::string>{{"500", "2032-01-01T00:00:00Z"},
                                                       {"503", "2033-03-31T09:00:00Z"},
                                                       {"504", "2031-05-02T10:00:00Z"}});

  // Nothing is due yet: the purge does nothing.
  auto ex = w.MakeExec();
  auto none = ex->PurgeExpiredKept(Now());
  REQUIRE(none.ok());
  CHECK((*none)["rows"] == 0);
  CHECK(SqlCount(w.app_db, "SELECT count(*) FROM invoices WHERE user_id = 1") == 3);

  // 2031-05-03: invoice 504's period has ended. The purge erases it, audits
  // it (counts, never values) and drops its ledger record; running again
  // does nothing more.
  auto purged = ex->PurgeExpiredKept(At("2031-05-03T00:00:00Z"));
  INFO(purged.status().ToString());
  REQUIRE(purged.ok());
  CHECK((*purged)["rows"] == 1);
  CHECK(SqlCount(w.app_db, "SELECT count(*) FROM invoices WHERE id = 504") == 0);
  CHECK(SqlCount(w.app_db, "SELECT count(*) FROM invoices WHERE id IN (500, 503)") == 2);
  CHECK(Ledger(w).size() == 2);
  auto again = ex->PurgeExpiredKept(At("2031-05-03T00:00:00Z"));
  REQUIRE(again.ok());
  CHECK((*again)["rows"] == 0);
  CHECK((*again)["entries"] == 0);
  auto audit = w.store->Audit("req-ret");
  REQUIRE(audit.ok());
  int purge_entries = 0;
  for (const auto& a : *audit) {
    if (a.kind != "kept_purged") continue;
    ++purge_entries;
    CHECK(a.detail["collection"] == "invoices");
    CHECK(a.detail["deleted"] == 1);
    CHECK(a.detail["until"] == "2031-05-02T10:00:00Z");
    CHECK(a.subject_ref == Pseudonym(w.hash_key, "email", "ada@example.com"));
    CHECK(a.detail.dump().find("504") == std::string::npos);  // no keys in the audit log either
  }
  CHECK(purge_entries == 1);

  // Years later everything has ended: the ledger is empty.
  auto rest = ex->PurgeExpiredKept(At("2034-01-01T00:00:00Z"));
  REQUIRE(rest.ok());
  CHECK((*rest)["rows"] == 2);
  CHECK(SqlCount(w.app_db, "SELECT count(*) FROM invoices WHERE user_id = 1") == 0);
  CHECK(Ledger(w).empty());
  CHECK(SqlCount(w.app_db, "SELECT count(*) FROM invoices WHERE user_id = 2") == 1);
}

TEST_CASE("retention: a later access request by the same subject lists what was kept", "[retention]") {
  PinnedClock clock("2026-06-01T12:00:00Z");
  World w;
  AddInvoices(w);
  Request erase = w.NewRequest("req-e", RequestType::kErasure, "ada@example.com");
  REQUIRE(Receipt(w.MakeExec()->Execute(erase)).ok());
  // A second erasure by the same person does not count the kept rows twice.
  Request erase2 = w.NewRequest("req-e2", RequestType::kErasure, "ada@example.com");
  REQUIRE(Receipt(w.MakeExec()->Execute(erase2)).ok());

  // Another subject sees nothing of Ada's ledger.
  Request bob = w.NewRequest("req-bob", RequestType::kAccess, "bob@example.com");
  auto bob_res = Receipt(w.MakeExec()->Execute(bob));
  REQUIRE(bob_res.ok());
  json bob_manifest = json::parse(ZipEntry(w.dir / "exports" / "req-bob.zip", "manifest.json"));
  CHECK(bob_manifest["kept"] == json::array());

  // Ada, identified by the same email (matched by its keyed pseudonym).
  Request access = w.NewRequest("req-a", RequestType::kAccess, "ADA@example.com ");
  auto res = Receipt(w.MakeExec()->Execute(access));
  INFO(res.status().ToString());
  REQUIRE(res.ok());
  const std::string zip = (w.dir / "exports" / "req-a.zip").string();
  json manifest = json::parse(ZipEntry(zip, "manifest.json"));
  REQUIRE(manifest["kept"].size() == 1);
  CHECK(manifest["kept"][0] == json({{"connector", "app"},
                                     {"collection", "invoices"},
                                     {"records", 3},
                                     {"basis", "legal_obligation"},
                                     {"note", "EU tax law"},
                                     {"until", "2033-03-31"}}));
  std::string report = ZipEntry(zip, "report.html");
  CHECK(report.find("3 invoices, kept until 2033-03-31, EU tax law") != std::string::npos);
}

TEST_CASE("retention: rows with no date to count from are kept and reported", "[retention]") {
  PinnedClock clock("2026-06-01T12:00:00Z");
  World w;
  SqlExec(w.app_db,
          "INSERT INTO invoices VALUES (505, 1, 'Ada', 'x', 'ada@example.com', NULL),"
          " (506, 1, 'Ada', 'x', 'ada@example.com', 'soon')");
  Request r = w.NewRequest("req-u", RequestType::kErasure, "ada@example.com");
  auto res = Receipt(w.MakeExec()->Execute(r));
  REQUIRE(res.ok());
  json inv = Retained(*res, "invoices");
  CHECK(inv["kept"] == 3);
  CHECK(inv["undated"] == 2);
  CHECK(inv["until"].is_null());  // some rows have no end
  CHECK(SqlCount(w.app_db, "SELECT count(*) FROM invoices WHERE id IN (505, 506)") == 2);
  // Undated rows are in the ledger with no end: never purged automatically.
  auto purged = w.MakeExec()->PurgeExpiredKept(At("2099-01-01T00:00:00Z"));
  REQUIRE(purged.ok());
  CHECK(SqlCount(w.app_db, "SELECT count(*) FROM invoices WHERE id IN (505, 506)") == 2);
  CHECK(SqlCount(w.app_db, "SELECT count(*) FROM invoices WHERE id = 500") == 0);
}

TEST_CASE("retention: keys that carry an identity value are sealed in the ledger and still purged", "[retention]") {
  PinnedClock clock("2026-06-01T12:00:00Z");
  World w;
  // consents is keyed by the user id, which is an identity (users.id is user_id).
  SqlExec(w.app_db,
          "CREATE TABLE consents (user_id INTEGER PRIMARY KEY, accepted_at TEXT);"
          "INSERT INTO consents VALUES (1, '2025-01-01'), (2, '2025-01-01');");
  w.config.connectors[0]["collections"].push_back(json::parse(R"({
    "name": "consents", "primary_key": "user_id", "references": {"user_id": "users.id"},
    "retain": {"basis": "legal_claims", "period": "P3Y", "from": "accepted_at"}, "erase": "keep"})"));
  Request r = w.NewRequest("req-s", RequestType::kErasure, "ada@example.com");
  auto res = Receipt(w.MakeExec()->Execute(r));
  INFO(res.status().ToString());
  REQUIRE(res.ok());
  CHECK(SqlCount(w.app_db, "SELECT count(*) FROM consents WHERE user_id = 1") == 1);
  auto rec = w.store->GetRecord(exec::kKeptKind,
                                "app.consents/" + Pseudonym(w.hash_key, "email", "ada@example.com") + "/2028-01-01");
  REQUIRE(rec.ok());
  REQUIRE(rec->has_value());
  const json& v = (**rec).value;
  CHECK_FALSE(v.contains("keys"));
  REQUIRE(v["sealed_keys"].size() == 1);
  CHECK(v["sealed_keys"][0].get<std::string>() != "1");
  CHECK(*exec::UnsealKey(w.hash_key, v["sealed_keys"][0]) == "1");
  CHECK_FALSE(exec::UnsealKey("another key", v["sealed_keys"][0]).ok());

  auto purged = w.MakeExec()->PurgeExpiredKept(At("2028-01-02T00:00:00Z"));
  REQUIRE(purged.ok());
  CHECK(SqlCount(w.app_db, "SELECT count(*) FROM consents WHERE user_id = 1") == 0);
  CHECK(SqlCount(w.app_db, "SELECT count(*) FROM consents WHERE user_id = 2") == 1);
}
