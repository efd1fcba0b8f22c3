// The connector contract (include/lethe/connector.h), checked the same way
// for every connector type, like Envoy's shared extension tests.
//
// Each type's test binary defines a World: the same logical data (below) in
// that type's real system, and how its config, matches and bodies look. Then
//
//   LETHE_CONNECTOR_CONTRACT(SqliteWorld, "[sqlite]")
//
// instantiates every case of the suite for it. A case runs against a fresh
// world, so cases never see each other's changes.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "exec/retention.h"
#include "lethe/connector.h"
#include "support/support.h"

namespace lethe::contract {

// The logical data every world holds: one item per row, tied to its owner
// (the subject's user id). "42" has two items; "420" and "4" share its
// digits; kQuoted is full of delimiters; "43" is another subject.
struct Row {
  std::string id;  // a name for the item, unique in the world
  std::string owner;
  std::string body;     // what the export shows (a column, a document, an object's content)
  std::string created;  // the date retention counts from
};

inline constexpr char kQuoted[] = "q\"u'o,t{e}d";

inline const std::vector<Row>& Rows() {
  static const std::vector<Row> rows = {
      {"a", "42", "ada one", "2025-01-01"},      {"b", "42", "ada two", "2025-01-02"},
      {"c", "420", "four-twenty", "2025-01-03"}, {"d", "4", "four", "2025-01-04"},
      {"e", kQuoted, "quoted", "2025-01-05"},    {"f", "43", "bob", "2025-01-06"},
  };
  return rows;
}

// How a type masks: table columns ({"mask": {...}}), log fields
// ({"redact": [...]}), or not at all.
enum class Masking { kColumns, kRedactFields, kNone };

class World {
 public:
  virtual ~World() = default;

  virtual std::string type() const = 0;
  // The connector config over this world. `erase` is the subject
  // collection's "erase" value (null: the type's own deleting action),
  // `retain` its "retain" value (null: none).
  virtual nlohmann::json Config(const nlohmann::json& erase, const nlohmann::json& retain) const = 0;
  virtual ConnectorContext Context() const { return test::Context(); }
  // The match the executor resolves from the collection's link for owner `id`.
  virtual Match MatchOwner(const std::string& id) const = 0;
  // An item's body as an export shows it.
  virtual std::string Body(Connector& c, const CollectionSpec& spec, const Item& item) const = 0;
  virtual Masking masking() const = 0;
  // The field retention counts from ("created", or "modified" for objects).
  virtual std::string retain_from() const = 0;
};

// `collection` with "erase" and "retain" set when given (not null).
inline nlohmann::json WithErase(nlohmann::json collection, const nlohmann::json& erase, const nlohmann::json& retain) {
  if (!erase.is_null()) collection["erase"] = erase;
  if (!retain.is_null()) collection["retain"] = retain;
  return collection;
}

// What the table worlds (sqlite, postgres) share: a table "items" (id
// primary key, owner, body, created), linked to the subject by "owner".
class TableWorld : public World {
 public:
  static nlohmann::json Items(const nlohmann::json& erase, const nlohmann::json& retain) {
    return WithErase(
        {{"name", "items"}, {"primary_key", "id"}, {"identity", {{"user_id", "owner"}}}, {"portable", true}}, erase,
        retain);
  }
  Match MatchOwner(const std::string& id) const override { return {{"owner", {id}}}; }
  std::string Body(Connector&, const CollectionSpec&, const Item& item) const override {
    return item.fields.value("body", "<none>");
  }
  Masking masking() const override { return Masking::kColumns; }
  std::string retain_from() const override { return "created"; }
};

// A connected connector over a world, and its subject collection.
struct Built {
  std::unique_ptr<Connector> conn;
  const CollectionSpec* spec = nullptr;
};

inline Built Make(World& w, const nlohmann::json& erase = nullptr, const nlohmann::json& retain = nullptr) {
  Built b;
  b.conn = test::MakeConnected(w.type(), w.Config(erase, retain), w.Context());
  REQUIRE(b.conn->collections().size() == 1);
  b.spec = &b.conn->collections()[0];
  return b;
}

inline std::multiset<std::string> Bodies(World& w, Connector& c, const CollectionSpec& spec, const std::string& owner) {
  std::multiset<std::string> out;
  for (const Item& item : test::FindAll(c, spec, w.MatchOwner(owner))) out.insert(w.Body(c, spec, item));
  return out;
}

inline std::vector<std::string> Keys(Connector& c, const CollectionSpec& spec, const Match& m) {
  std::vector<std::string> keys;
  for (const Item& item : test::FindAll(c, spec, m)) keys.push_back(item.key);
  return keys;
}

// Every owner but `except` still has all its items, seen by a new connector.
inline void OthersIntact(World& w, const std::string& except) {
  Built fresh = Make(w);
  for (const Row& r : Rows()) {
    if (r.owner == except) continue;
    INFO("owner " << r.owner);
    CHECK(Bodies(w, *fresh.conn, *fresh.spec, r.owner).count(r.body) == 1);
  }
}

// Ends the process when a case does not finish in time: a deadlocked
// connector must fail the run, not hang it.
class Watchdog {
 public:
  explicit Watchdog(const char* what, int seconds = 20) {
    thread_ = std::thread([this, what, seconds] {
      std::unique_lock<std::mutex> lock(mu_);
      if (!cv_.wait_for(lock, std::chrono::seconds(seconds), [this] { return done_; })) {
        std::fprintf(stderr, "contract: \"%s\" did not finish in %d s (deadlock?)\n", what, seconds);
        std::fflush(stderr);
        std::_Exit(3);
      }
    });
  }
  ~Watchdog() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

// --- the cases.

// Find reports exactly the owner's items, each once with a key; nothing for
// an unknown owner or an empty match.
inline void FindsTheSubjectsItems(World& w) {
  Built b = Make(w);
  CHECK(Bodies(w, *b.conn, *b.spec, "42") == std::multiset<std::string>{"ada one", "ada two"});
  CHECK(Bodies(w, *b.conn, *b.spec, "420") == std::multiset<std::string>{"four-twenty"});
  CHECK(Bodies(w, *b.conn, *b.spec, "4") == std::multiset<std::string>{"four"});
  CHECK(Bodies(w, *b.conn, *b.spec, kQuoted) == std::multiset<std::string>{"quoted"});
  CHECK(Bodies(w, *b.conn, *b.spec, "99").empty());
  CHECK(test::FindAll(*b.conn, *b.spec, {}).empty());
  Match no_values = w.MatchOwner("42");
  for (auto& t : no_values) t.values.clear();
  CHECK(test::FindAll(*b.conn, *b.spec, no_values).empty());
  // The same value twice, or two terms reaching the same item: reported once.
  Match twice = w.MatchOwner("42");
  twice[0].values.push_back(twice[0].values[0]);
  twice.push_back(twice[0]);
  auto keys = Keys(*b.conn, *b.spec, twice);
  CHECK(keys.size() == 2);
  CHECK(std::set<std::string>(keys.begin(), keys.end()).size() == 2);
  for (const auto& k : keys) CHECK_FALSE(k.empty());
}

// What an export reads: fields as a JSON object, object content through
// ReadObject, the keys FindColumns reports equal to Find's.
inline void ExportsWhatItFinds(World& w) {
  Built b = Make(w);
  for (const Item& item : test::FindAll(*b.conn, *b.spec, w.MatchOwner("42"))) {
    CHECK(item.fields.is_object());
    if (b.spec->objects) {
      std::string content;
      Status st = b.conn->ReadObject(*b.spec, item, [&](std::string_view chunk) {
        content.append(chunk);
        return Status::Ok();
      });
      REQUIRE(st.ok());
      CHECK(static_cast<int64_t>(content.size()) == item.size);
    }
  }
  std::vector<std::string> by_columns;
  Status st = b.conn->FindColumns(*b.spec, w.MatchOwner("42"), {}, [&](const Item& item) {
    by_columns.push_back(item.key);
    return Status::Ok();
  });
  REQUIRE(st.ok());
  auto keys = Keys(*b.conn, *b.spec, w.MatchOwner("42"));
  CHECK(std::multiset<std::string>(by_columns.begin(), by_columns.end()) ==
        std::multiset<std::string>(keys.begin(), keys.end()));
}

// Erase removes the subject's items and nothing else; run again it
// changes nothing and reports 0.
inline void ErasesOnceAndOnlyTheSubject(World& w) {
  Built b = Make(w);
  Match m = w.MatchOwner("42");
  auto keys = Keys(*b.conn, *b.spec, m);
  REQUIRE(keys.size() == 2);
  auto n = b.conn->Erase(*b.spec, m, keys, b.spec->erase);
  INFO(n.status().ToString());
  REQUIRE(n.ok());
  CHECK(*n == 2);
  CHECK(test::FindAll(*b.conn, *b.spec, m).empty());
  OthersIntact(w, "42");
  auto again = b.conn->Erase(*b.spec, m, keys, b.spec->erase);
  REQUIRE(again.ok());
  CHECK(*again == 0);
  OthersIntact(w, "42");
}

// Types that mask change the body in place, once; types that cannot refuse
// a mask in config, naming the field, and refuse a mask action.
inline void MasksOrRefusesMasks(World& w) {
  nlohmann::json mask = {{"mask", {{"body", "redact"}}}};
  if (w.masking() != Masking::kColumns) {
    auto r = test::MakeConnector(w.type(), w.Config(mask, nullptr), w.Context());
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kInvalid);
    CHECK_THAT(r.status().field(), Catch::EndsWith("/erase"));
    CHECK_THAT(r.status().message(), Catch::Contains("mask"));
    Built b = Make(w);
    EraseAction a;
    a.kind = EraseAction::Kind::kMask;
    a.mask = {{"body", "redact"}};
    auto keys = Keys(*b.conn, *b.spec, w.MatchOwner("42"));
    auto n = b.conn->Erase(*b.spec, w.MatchOwner("42"), keys, a);
    CHECK(n.status().code() == Code::kInvalid);
    CHECK(Bodies(w, *b.conn, *b.spec, "42") == std::multiset<std::string>{"ada one", "ada two"});
    if (w.masking() == Masking::kNone) return;
    mask = {{"redact", {"body"}}};
  }
  Built b = Make(w, mask);
  Match m = w.MatchOwner("42");
  auto keys = Keys(*b.conn, *b.spec, m);
  auto n = b.conn->Erase(*b.spec, m, keys, b.spec->erase);
  INFO(n.status().ToString());
  REQUIRE(n.ok());
  CHECK(*n == 2);
  CHECK(Bodies(w, *b.conn, *b.spec, "42") == std::multiset<std::string>{"[redacted]", "[redacted]"});
  OthersIntact(w, "42");
  auto again = b.conn->Erase(*b.spec, m, Keys(*b.conn, *b.spec, m), b.spec->erase);
  REQUIRE(again.ok());
  CHECK(*again == 0);
}

// "keep" and retention keep the items; the items carry the date retention
// counts from where retention reads it.
inline void KeepsWhatIsRetained(World& w) {
  {
    Built b = Make(w, "keep");
    CHECK(b.spec->erase.kind == EraseAction::Kind::kKeep);
    auto keys = Keys(*b.conn, *b.spec, w.MatchOwner("42"));
    auto n = b.conn->Erase(*b.spec, w.MatchOwner("42"), keys, b.spec->erase);
    REQUIRE(n.ok());
    CHECK(*n == 0);
    CHECK(Bodies(w, *b.conn, *b.spec, "42").size() == 2);
  }
  nlohmann::json retain = {{"basis", "legal_obligation"}, {"period", "P7Y"}, {"from", w.retain_from()}};
  Built b = Make(w, nullptr, retain);
  REQUIRE(b.spec->retain.has_value());
  CHECK(b.spec->erase.kind == EraseAction::Kind::kKeep);
  Time now = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  auto items = test::FindAll(*b.conn, *b.spec, w.MatchOwner("42"));
  REQUIRE(items.size() == 2);
  for (const Item& item : items) {
    INFO(item.fields.dump());
    auto verdict = exec::JudgeRetention(*b.spec->retain, item.fields, now);
    CHECK(verdict.kind == exec::RetentionVerdict::Kind::kKeep);
    CHECK(verdict.until.has_value());
  }
  auto n = b.conn->Erase(*b.spec, w.MatchOwner("42"), Keys(*b.conn, *b.spec, w.MatchOwner("42")), b.spec->erase);
  REQUIRE(n.ok());
  CHECK(*n == 0);
  if (w.masking() == Masking::kColumns) {
    // A retained collection that masks still masks.
    Built masked = Make(w, {{"mask", {{"body", "redact"}}}}, retain);
    CHECK(masked.spec->erase.kind == EraseAction::Kind::kMask);
  }
}

// A sink may call the connector again on its own thread: Find, Erase of
// another subject, ReadObject of the item in hand.
inline void SinkMayReenterOnItsThread(World& w) {
  Watchdog dog("re-entry on the sink's thread");
  Built b = Make(w);
  int outer = 0;
  Status inner_find, inner_read;
  size_t inner_found = 0;
  Result<int64_t> inner_erase = int64_t{-1};
  std::string content;
  Status st = b.conn->Find(*b.spec, w.MatchOwner("42"), [&](const Item& item) {
    if (outer++ > 0) return Status::Ok();
    std::vector<std::string> keys;
    inner_find = b.conn->Find(*b.spec, w.MatchOwner("43"), [&](const Item& other) {
      keys.push_back(other.key);
      return Status::Ok();
    });
    inner_found = keys.size();
    inner_erase = b.conn->Erase(*b.spec, w.MatchOwner("43"), keys, b.spec->erase);
    if (b.spec->objects) {
      inner_read = b.conn->ReadObject(*b.spec, item, [&](std::string_view chunk) {
        content.append(chunk);
        return Status::Ok();
      });
    }
    return Status::Ok();
  });
  INFO(st.ToString() << " / " << inner_find.ToString() << " / " << inner_erase.status().ToString() << " / "
                     << inner_read.ToString());
  REQUIRE(st.ok());
  CHECK(outer == 2);
  CHECK(inner_find.ok());
  CHECK(inner_found == 1);
  REQUIRE(inner_erase.ok());
  CHECK(*inner_erase == 1);
  CHECK(inner_read.ok());
  if (b.spec->objects) CHECK((content == "ada one" || content == "ada two"));
  CHECK(Bodies(w, *b.conn, *b.spec, "43").empty());
  CHECK(Bodies(w, *b.conn, *b.spec, "42").size() == 2);
}

// A sink may wait for another thread that calls the connector: the
// connector holds no lock of its own while the sink runs.
inline void SinkMayWaitForAnotherThread(World& w) {
  Watchdog dog("a sink waiting for another thread's call");
  Built b = Make(w);
  int outer = 0;
  Status inner;
  size_t found = 0;
  Status st = b.conn->Find(*b.spec, w.MatchOwner("42"), [&](const Item&) {
    if (outer++ > 0) return Status::Ok();
    std::thread t([&] {
      inner = b.conn->Find(*b.spec, w.MatchOwner("420"), [&](const Item&) {
        ++found;
        return Status::Ok();
      });
    });
    t.join();
    return Status::Ok();
  });
  REQUIRE(st.ok());
  CHECK(outer == 2);
  INFO(inner.ToString());
  CHECK(inner.ok());
  CHECK(found == 1);
}

// Many threads may call at once.
inline void ServesThreadsAtOnce(World& w) {
  Watchdog dog("concurrent finds");
  Built b = Make(w);
  constexpr int kThreads = 4, kRounds = 5;
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int r = 0; r < kRounds; ++r) {
        int n = 0;
        Status st = b.conn->Find(*b.spec, w.MatchOwner("42"), [&](const Item&) {
          ++n;
          return Status::Ok();
        });
        if (st.ok() && n == 2) ++good;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(good == kThreads * kRounds);
}

// A sink's error stops the call, is returned as it is, and leaves the
// connector usable.
inline void StopsWhenTheSinkSaysSo(World& w) {
  Watchdog dog("cancellation");
  Built b = Make(w);
  int calls = 0;
  Status st = b.conn->Find(*b.spec, w.MatchOwner("42"), [&](const Item&) {
    ++calls;
    return Status::Conflict("enough");
  });
  CHECK(calls == 1);
  CHECK(st.code() == Code::kConflict);
  CHECK(st.message() == "enough");
  calls = 0;
  st = b.conn->FindColumns(*b.spec, w.MatchOwner("42"), {}, [&](const Item&) {
    ++calls;
    return Status::Unavailable("deadline");
  });
  CHECK(calls == 1);
  CHECK(st.code() == Code::kUnavailable);
  CHECK(Bodies(w, *b.conn, *b.spec, "42").size() == 2);
  if (b.spec->objects) {
    auto items = test::FindAll(*b.conn, *b.spec, w.MatchOwner("42"));
    calls = 0;
    st = b.conn->ReadObject(*b.spec, items[0], [&](std::string_view) {
      ++calls;
      return Status::Conflict("enough");
    });
    CHECK(calls == 1);
    CHECK(st.code() == Code::kConflict);
    CHECK(st.message() == "enough");
  }
}

// Values full of quotes, delimiters, wildcards and operators match only
// themselves: here, nothing. Refusing one (kInvalid) is fine; widening is not.
inline void ValuesNeverWidenAMatch(World& w) {
  Built b = Make(w);
  const std::vector<std::string> values = {"%",
                                           "4%",
                                           "_",
                                           "4_",
                                           "*",
                                           "4*",
                                           "4?",
                                           "4[0-9]",
                                           ".*",
                                           "42' OR '1'='1",
                                           "42\" OR \"1\"=\"1",
                                           "4,2",
                                           "{42}",
                                           "{\"42\"}",
                                           "42)",
                                           "42;--",
                                           "q\"u'o",
                                           "q\"u'o,t{e}d\"",
                                           "42\\",
                                           "4\\2",
                                           "{\"$ne\": \"\"}",
                                           "$ne",
                                           "[\"42\"]",
                                           "42 ",
                                           " 42",
                                           "042",
                                           "42.0",
                                           "420,42",
                                           "ada one"};
  for (const std::string& v : values) {
    INFO("value " << v);
    std::vector<std::string> keys;
    Status st = b.conn->Find(*b.spec, w.MatchOwner(v), [&](const Item& item) {
      keys.push_back(item.key);
      return Status::Ok();
    });
    INFO(st.ToString());
    CHECK((st.ok() || st.code() == Code::kInvalid));
    CHECK(keys.empty());
    auto n = b.conn->Erase(*b.spec, w.MatchOwner(v), {}, b.spec->erase);
    CHECK((n.ok() ? *n == 0 : n.status().code() == Code::kInvalid));
  }
  OthersIntact(w, "");
}

}  // namespace lethe::contract

#define LETHE_CONTRACT_CASE(World, tags, name, fn)                              \
  TEST_CASE(#World " keeps the connector contract: " name, "[contract]" tags) { \
    World w;                                                                    \
    ::lethe::contract::fn(w);                                                   \
  }

// Every case of the suite, for one World type.
#define LETHE_CONNECTOR_CONTRACT(World, tags)                                                   \
  LETHE_CONTRACT_CASE(World, tags, "find", FindsTheSubjectsItems)                               \
  LETHE_CONTRACT_CASE(World, tags, "export", ExportsWhatItFinds)                                \
  LETHE_CONTRACT_CASE(World, tags, "erase, idempotently", ErasesOnceAndOnlyTheSubject)          \
  LETHE_CONTRACT_CASE(World, tags, "masks", MasksOrRefusesMasks)                                \
  LETHE_CONTRACT_CASE(World, tags, "keep and retention", KeepsWhatIsRetained)                   \
  LETHE_CONTRACT_CASE(World, tags, "re-entry on the sink's thread", SinkMayReenterOnItsThread)  \
  LETHE_CONTRACT_CASE(World, tags, "re-entry from another thread", SinkMayWaitForAnotherThread) \
  LETHE_CONTRACT_CASE(World, tags, "threads", ServesThreadsAtOnce)                              \
  LETHE_CONTRACT_CASE(World, tags, "cancellation", StopsWhenTheSinkSaysSo)                      \
  LETHE_CONTRACT_CASE(World, tags, "values never widen a match", ValuesNeverWidenAMatch)
