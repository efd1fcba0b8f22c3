// The outcomes include/lethe/store.h promises, per method, on the SQLite store.
#include <catch2/catch.hpp>

#include "core/test_util.h"
#include "lethe/store.h"

using lethe::Code;

namespace {

lethe::Request NewRequest(const std::string& id) {
  lethe::Request r;
  r.id = id;
  r.subject.email = "ada@example.com";
  r.version = 1;
  return r;
}

lethe::Event Received() {
  lethe::Event e;
  e.kind = "received";
  e.actor = "system";
  return e;
}

lethe::AuditEntry Audit(const std::string& id) {
  lethe::AuditEntry a;
  a.request_id = id;
  a.kind = "received";
  a.actor = "system";
  return a;
}

}  // namespace

TEST_CASE("store: requests report NotFound and Conflict as store.h says", "[store][contract]") {
  lethe::testing::TempDir dir;
  auto store = lethe::testing::OpenTestStore(dir);
  CHECK(store->Get("nope").status().code() == Code::kNotFound);

  lethe::Request r = NewRequest("r1");
  REQUIRE(store->Insert(r, Received(), Audit("r1")).ok());
  CHECK(store->Insert(r, Received(), Audit("r1")).code() == Code::kConflict);  // id exists

  auto stored = store->Get("r1");
  REQUIRE(stored.ok());
  lethe::Request stale = *stored;
  stale.version += 5;
  CHECK(store->Update(stale, Received(), Audit("r1")).code() == Code::kConflict);                   // version moved on
  CHECK(store->Update(NewRequest("ghost"), Received(), Audit("ghost")).code() == Code::kConflict);  // no such id
  REQUIRE(store->Update(*stored, Received(), Audit("r1")).ok());
  CHECK(store->Update(*stored, Received(), Audit("r1")).code() == Code::kConflict);  // same version twice

  auto events = store->Events("nope");
  REQUIRE(events.ok());
  CHECK(events->empty());
  auto tasks = store->Tasks("nope");
  REQUIRE(tasks.ok());
  CHECK(tasks->empty());
  lethe::Time now = lethe::Time{} + std::chrono::hours(24 * 365 * 56);
  CHECK(store->ClaimRequest("nope", "host:1:x#1", now, now + std::chrono::minutes(5)).status().code() ==
        Code::kNotFound);
}

TEST_CASE("store: List clamps the limit and refuses foreign cursors at /cursor", "[store][contract]") {
  lethe::testing::TempDir dir;
  auto store = lethe::testing::OpenTestStore(dir);
  REQUIRE(store->Insert(NewRequest("r1"), Received(), Audit("r1")).ok());
  lethe::RequestFilter f;
  f.limit = 0;
  auto page = store->List(f);
  REQUIRE(page.ok());
  CHECK(page->items.size() == 1);
  f.cursor = "not-a-cursor";
  auto bad = store->List(f);
  CHECK(bad.status().code() == Code::kInvalid);
  CHECK(bad.status().field() == "/cursor");
}

TEST_CASE("store: records are absent, not NotFound; deleting twice is fine", "[store][contract]") {
  lethe::testing::TempDir dir;
  auto store = lethe::testing::OpenTestStore(dir);
  auto missing = store->GetRecord("token", "k");
  REQUIRE(missing.ok());
  CHECK_FALSE(missing->has_value());
  CHECK(store->DeleteRecord("token", "k").ok());
  lethe::Record rec;
  rec.kind = "token";
  rec.key = "k";
  CHECK(*store->PutRecordIfAbsent(rec) == true);
  CHECK(*store->PutRecordIfAbsent(rec) == false);  // the first writer wins
  CHECK(store->DeleteRecord("token", "k").ok());
  CHECK(store->DeleteRecord("token", "k").ok());
}
