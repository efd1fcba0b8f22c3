#include <catch2/catch.hpp>

#include <sqlite3.h>

#include "lethe/audit.h"
#include "test_util.h"

using namespace lethe;

namespace {
std::vector<AuditEntry> Chain(int n) {
  testing::TempDir dir;
  auto store = testing::OpenTestStore(dir);
  for (int i = 0; i < n; ++i) {
    AuditEntry e;
    e.request_id = "req_" + std::to_string(i);
    e.kind = "received";
    e.actor = "alice";
    e.subject_ref = Pseudonym("k", "email", "ada@example.com");
    e.detail = {{"n", i}};
    REQUIRE(store->AppendAudit(e).ok());
  }
  return *store->Audit();
}
}  // namespace

TEST_CASE("pseudonyms are keyed and normalized, never the clear value", "[audit]") {
  std::string a = Pseudonym("key1", "email", "Ada@Example.com ");
  CHECK(a == Pseudonym("key1", "email", "ada@example.com"));
  CHECK(a != Pseudonym("key2", "email", "ada@example.com"));
  CHECK(a.find("ada") == std::string::npos);
  CHECK(a.size() == 64);
}

TEST_CASE("an intact chain verifies", "[audit]") {
  auto entries = Chain(5);
  REQUIRE(entries.size() == 5);
  CHECK(entries[0].prev_hash.empty());
  CHECK(entries[1].prev_hash == entries[0].hash);
  CHECK(VerifyChain(entries).ok());
}

TEST_CASE("an edited entry breaks the chain at that entry", "[audit]") {
  auto entries = Chain(5);
  entries[2].detail["n"] = 99;
  Status st = VerifyChain(entries);
  REQUIRE_FALSE(st.ok());
  CHECK_THAT(st.message(), Catch::StartsWith("audit entry 3:"));
}

TEST_CASE("a deleted entry is detected", "[audit]") {
  auto entries = Chain(5);
  entries.erase(entries.begin() + 1);
  Status st = VerifyChain(entries);
  REQUIRE_FALSE(st.ok());
  CHECK_THAT(st.message(), Catch::StartsWith("audit entry 3:"));
}

TEST_CASE("reordered entries are detected", "[audit]") {
  auto entries = Chain(5);
  std::swap(entries[3], entries[4]);
  Status st = VerifyChain(entries);
  REQUIRE_FALSE(st.ok());
  CHECK_THAT(st.message(), Catch::StartsWith("audit entry 5:"));
}

TEST_CASE("the store refuses to update or delete audit entries", "[audit]") {
  testing::TempDir dir;
  auto store = testing::OpenTestStore(dir);
  AuditEntry e;
  e.kind = "x";
  e.actor = "y";
  REQUIRE(store->AppendAudit(e).ok());
  // The triggers make the log append-only for the engine itself.
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open((dir.path / "lethe.db").c_str(), &db) == SQLITE_OK);
  CHECK(sqlite3_exec(db, "UPDATE audit SET kind='z'", nullptr, nullptr, nullptr) != SQLITE_OK);
  CHECK(sqlite3_exec(db, "DELETE FROM audit", nullptr, nullptr, nullptr) != SQLITE_OK);
  sqlite3_close(db);
}
