#include <catch2/catch.hpp>

#include <sqlite3.h>
#include <sys/stat.h>

#include <fstream>
#include <thread>

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

namespace {

const std::string kKey = AuditChainKey("test-chain-secret");

AuditEntry Entry(int i) {
  AuditEntry e;
  e.request_id = "req_" + std::to_string(i);
  e.kind = "received";
  e.actor = "alice";
  e.detail = {{"n", i}};
  return e;
}

void Append(Store& store, int from, int to) {
  for (int i = from; i <= to; ++i) REQUIRE(store.AppendAudit(Entry(i)).ok());
}

// What "a few lines of Python" do: edit, then recompute every hash with plain
// SHA-256 from `from` on (1 = the whole log).
void Rechain(std::vector<AuditEntry>& entries, size_t from) {
  std::string prev = from > 1 ? entries[from - 2].hash : "";
  for (size_t i = from - 1; i < entries.size(); ++i) {
    entries[i].prev_hash = prev;
    entries[i].hash = ChainHash("", prev, entries[i]);
    prev = entries[i].hash;
  }
}

std::vector<std::string> Lines(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

std::string Message(const Result<ChainReport>& r) { return r.ok() ? "ok" : r.status().message(); }

}  // namespace

TEST_CASE("a keyed chain verifies only with its key", "[audit][keyed]") {
  testing::TempDir dir;
  auto store = testing::OpenTestStore(dir);
  store->SetAuditChain({kKey, nullptr});
  Append(*store, 1, 5);
  auto entries = *store->Audit();
  CHECK(VerifyChain(entries, kKey).ok());
  CHECK_THAT(VerifyChain(entries, AuditChainKey("another secret")).message(), Catch::StartsWith("audit entry 1:"));
  CHECK_FALSE(VerifyChain(entries, "").ok());  // not plain SHA-256
  // The key is not in the store file.
  std::ifstream db(dir.path / "lethe.db", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(db)), std::istreambuf_iterator<char>());
  CHECK(bytes.find(kKey) == std::string::npos);
  CHECK(bytes.find("test-chain-secret") == std::string::npos);
}

TEST_CASE("an edited entry re-chained with plain SHA-256 fails at that entry", "[audit][keyed]") {
  testing::TempDir dir;
  auto store = testing::OpenTestStore(dir);
  store->SetAuditChain({kKey, nullptr});
  Append(*store, 1, 6);
  auto entries = *store->Audit();
  entries[3].actor = "mallory";
  Rechain(entries, 4);
  auto r = CheckChain(entries, kKey, nullptr);
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.status().message(), Catch::StartsWith("audit entry 4: hash mismatch"));
}

TEST_CASE("the anchor: truncation, a whole-log re-chain and a rewritten head all fail", "[audit][anchor]") {
  testing::TempDir dir;
  const auto anchor_path = dir.path / "anchor" / "lethe.anchor";
  std::vector<AuditEntry> entries;
  {
    AuditAnchor anchor(anchor_path.string(), kKey);
    auto store = testing::OpenTestStore(dir);
    store->SetAuditChain({kKey, [&](const AuditHead& h) { anchor.Note(h); }});
    Append(*store, 1, 6);
    entries = *store->Audit();
  }  // shutdown writes the last head
  auto heads = ReadAnchor(anchor_path.string(), kKey);
  REQUIRE(heads.ok());
  REQUIRE_FALSE(heads->empty());
  CHECK(heads->back().seq == 6);
  CHECK(heads->back().hash == entries[5].hash);
  CHECK(heads->front().keyed_from == 1);
  struct stat st {};
  REQUIRE(::stat(anchor_path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);

  auto intact = CheckChain(entries, kKey, &*heads);
  REQUIRE(intact.ok());
  CHECK(intact->last_head->seq == 6);
  CHECK(intact->unkeyed_through == 0);

  SECTION("the last entries deleted") {
    auto cut = entries;
    cut.resize(4);
    CHECK(VerifyChain(cut, kKey).ok());  // the chain alone cannot see it
    CHECK_THAT(Message(CheckChain(cut, kKey, &*heads)), Catch::StartsWith("audit entry 5: missing"));
  }
  SECTION("one entry edited and the whole log re-chained with SHA-256") {
    auto forged = entries;
    forged[2].kind = "nothing_happened";
    Rechain(forged, 1);
    CHECK(VerifyChain(forged, "").ok());  // consistent as an unkeyed chain
    CHECK_THAT(Message(CheckChain(forged, kKey, &*heads)), Catch::StartsWith("audit entry 1: hash mismatch"));
  }
  SECTION("the log truncated and appended again (seq reused)") {
    auto forged = entries;
    forged.resize(4);
    AuditEntry e = Entry(99);
    e.seq = 5;
    e.at = forged[3].at;
    e.prev_hash = forged[3].hash;
    e.hash = ChainHash(kKey, e.prev_hash, e);
    forged.push_back(e);
    CHECK(VerifyChain(forged, kKey).ok());
    const std::vector<AuditHead> at5 = {AuditHead{5, entries[4].hash, Now(), 1}};
    CHECK_THAT(Message(CheckChain(forged, kKey, &at5)), Catch::StartsWith("audit entry 5: differs from the head"));
    CHECK_THAT(Message(CheckChain(forged, kKey, &*heads)), Catch::StartsWith("audit entry "));
  }
  SECTION("an anchor line edited") {
    auto lines = Lines(anchor_path);
    auto j = nlohmann::json::parse(lines.back());
    j["seq"] = 4;
    lines.back() = j.dump();
    std::ofstream out(anchor_path, std::ios::trunc);
    for (const auto& l : lines) out << l << "\n";
    out.close();
    auto bad = ReadAnchor(anchor_path.string(), kKey);
    REQUIRE_FALSE(bad.ok());
    CHECK_THAT(bad.status().message(), Catch::Contains("line " + std::to_string(lines.size())));
  }
  SECTION("a torn last line (crash mid-write) is skipped") {
    std::ofstream(anchor_path, std::ios::app) << R"({"seq": 7, "hash": "ab)";
    auto torn = ReadAnchor(anchor_path.string(), kKey);
    REQUIRE(torn.ok());
    CHECK(torn->size() == heads->size());
  }
  SECTION("the anchor emptied") {
    std::vector<AuditHead> none;
    CHECK_THAT(Message(CheckChain(entries, kKey, &none)), Catch::Contains("no signed head"));
  }
}

TEST_CASE("a store written before keying: the unkeyed prefix is named and anchored", "[audit][anchor]") {
  testing::TempDir dir;
  const auto anchor_path = dir.path / "lethe.anchor";
  {
    auto old = testing::OpenTestStore(dir);  // an older lethe: no chain key
    Append(*old, 1, 3);
  }
  std::vector<AuditEntry> entries;
  {
    AuditAnchor anchor(anchor_path.string(), kKey);
    auto store = testing::OpenTestStore(dir);
    store->SetAuditChain({kKey, [&](const AuditHead& h) { anchor.Note(h); }});
    Append(*store, 4, 5);
    entries = *store->Audit();
  }
  auto heads = ReadAnchor(anchor_path.string(), kKey);
  REQUIRE(heads.ok());
  REQUIRE_FALSE(heads->empty());
  CHECK(heads->front().keyed_from == 4);
  auto r = CheckChain(entries, kKey, &*heads);
  REQUIRE(r.ok());
  CHECK(r->unkeyed_through == 3);

  // An unkeyed entry after a keyed one is a forgery, anchor or not.
  auto forged = entries;
  forged[4].actor = "mallory";
  Rechain(forged, 5);
  CHECK_THAT(VerifyChain(forged, kKey).message(), Catch::StartsWith("audit entry 5:"));
  // The whole log re-chained into the old format: the anchor knows keying began at 4.
  forged = entries;
  forged[1].actor = "mallory";
  Rechain(forged, 1);
  CHECK_THAT(Message(CheckChain(forged, kKey, &*heads)), Catch::StartsWith("audit entry 4: hash mismatch"));
  // An edit inside the unkeyed prefix, re-chained there only, breaks the link to entry 4.
  forged = entries;
  forged[1].actor = "mallory";
  Rechain(forged, 2);
  forged[3] = entries[3];  // the keyed entries cannot be re-chained without the key
  forged[4] = entries[4];
  CHECK_THAT(Message(CheckChain(forged, kKey, &*heads)), Catch::StartsWith("audit entry 4:"));
}

TEST_CASE("the anchor gets a head at least once a second while entries are added", "[audit][anchor]") {
  testing::TempDir dir;
  const auto anchor_path = dir.path / "lethe.anchor";
  AuditAnchor anchor(anchor_path.string(), kKey);
  auto store = testing::OpenTestStore(dir);
  store->SetAuditChain({kKey, [&](const AuditHead& h) { anchor.Note(h); }});
  const auto start = std::chrono::steady_clock::now();
  int n = 0;
  while (std::chrono::steady_clock::now() - start < std::chrono::milliseconds(2500)) {
    Append(*store, n + 1, n + 1);
    ++n;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const auto stopped = std::chrono::steady_clock::now();
  // Within about a second of the last entry, its head is in the file (no shutdown needed).
  int64_t last = 0;
  while (std::chrono::steady_clock::now() - stopped < std::chrono::seconds(3)) {
    auto heads = ReadAnchor(anchor_path.string(), kKey);
    REQUIRE(heads.ok());
    last = heads->empty() ? 0 : heads->back().seq;
    if (last == n) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - stopped).count();
  INFO("entries " << n << ", waited " << waited << " s");
  CHECK(last == n);
  CHECK(waited < 2.0);
  const size_t lines = Lines(anchor_path).size();
  CHECK(lines >= 3);  // a head every second over 2.5 s, the first at once
  CHECK(lines <= 6);  // not one per entry
  CHECK(static_cast<size_t>(n) > 2 * lines);
}

TEST_CASE("a new store file and its WAL are readable by the owner only", "[store][mode]") {
  testing::TempDir dir;
  const mode_t old = ::umask(022);  // the usual umask, which gave 0644 before
  auto store = testing::OpenTestStore(dir);
  ::umask(old);
  REQUIRE(store->AppendAudit(Entry(1)).ok());
  for (const char* name : {"lethe.db", "lethe.db-wal", "lethe.db-shm"}) {
    struct stat st {};
    INFO(name);
    REQUIRE(::stat((dir.path / name).c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
  }
}
