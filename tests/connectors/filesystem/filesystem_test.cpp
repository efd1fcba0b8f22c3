// The filesystem connector against real directories in a temporary folder.
#include <stdlib.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <set>

#include "lethe/connector.h"
#include "support/support.h"

namespace fs = std::filesystem;
using lethe::EraseAction;
using lethe::Item;
using lethe::Match;
using lethe::Status;

namespace {

// Temp dirs and files: tests/support/support.h.
using lethe::test::ReadFile;
using lethe::test::TempDir;
using lethe::test::WriteFile;

lethe::Result<std::unique_ptr<lethe::Connector>> Make(const nlohmann::json& cfg, const std::string& base) {
  return lethe::test::MakeConnector("filesystem", cfg, lethe::test::Context(base), "/connectors/1");
}

nlohmann::json Config(const std::string& prefix = "{app.users.id}/") {
  return {{"name", "files"},
          {"type", "filesystem"},
          {"root", "root"},
          {"objects", {{{"prefix", prefix}, {"categories", {"uploads"}}, {"portable", true}}}}};
}

Match Prefix(std::vector<std::string> values) { return {{"prefix", std::move(values)}}; }

// Keys found for `m`, or the error.
lethe::Result<std::set<std::string>> Keys(lethe::Connector& c, const Match& m) {
  std::set<std::string> keys;
  Status st = c.Find(c.collections()[0], m, [&](const Item& it) {
    keys.insert(it.key);
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return keys;
}

// A root with the subject "42" and neighbours whose ids share its digits.
struct World {
  TempDir dir;
  fs::path root;
  std::unique_ptr<lethe::Connector> conn;
  explicit World(const std::string& prefix = "{app.users.id}/") {
    root = dir.path() / "root";
    WriteFile(root / "42/cv.pdf", "cv of 42");
    WriteFile(root / "42/photos/a.jpg", std::string(1000, 'a'));
    WriteFile(root / "420/cv.pdf", "cv of 420");
    WriteFile(root / "4/cv.pdf", "cv of 4");
    WriteFile(root / "42.txt", "not in the directory 42");
    WriteFile(root / "uploads/42_a.pdf", "a");
    WriteFile(root / "uploads/42_more/b.pdf", "b");
    WriteFile(root / "uploads/420_c.pdf", "c");
    WriteFile(dir.path() / "outside/secret.txt", "secret");
    auto c = Make(Config(prefix), dir.path().string());
    REQUIRE(c.ok());
    conn = std::move(*c);
    REQUIRE(conn->Connect().ok());
  }
};

}  // namespace

TEST_CASE("filesystem config becomes one object collection per entry", "[filesystem]") {
  TempDir d;
  nlohmann::json cfg = Config();
  cfg["objects"].push_back({{"name", "avatars"}, {"prefix", "avatars/{app.users.id}."}, {"erase", "keep"}});
  cfg["objects"].push_back({{"prefix", "tax/{app.users.id}/"},
                            {"retain", {{"basis", "legal_obligation"}, {"period", "P10Y"}, {"from", "modified"}}}});
  auto c = Make(cfg, d.path().string());
  REQUIRE(c.ok());
  const auto& specs = (*c)->collections();
  REQUIRE(specs.size() == 3);
  CHECK((*c)->name() == "files");
  CHECK(specs[0].name == "objects");
  CHECK(specs[0].objects);
  CHECK(specs[0].portable);
  CHECK(specs[0].connector == "files");
  CHECK(specs[0].pointer == "/connectors/1/objects/0");
  REQUIRE(specs[0].links.size() == 1);
  CHECK(specs[0].links[0].column == "prefix");
  CHECK(specs[0].links[0].value_template == "{app.users.id}/");
  CHECK(specs[0].links[0].pointer == "/connectors/1/objects/0/prefix");
  CHECK(specs[0].erase.kind == EraseAction::Kind::kDelete);
  CHECK(specs[1].name == "avatars");
  CHECK(specs[1].erase.kind == EraseAction::Kind::kKeep);
  CHECK(specs[2].name == "objects_2");
  REQUIRE(specs[2].retain);
  CHECK(specs[2].retain->basis == "legal_obligation");
  // Retained files are never deleted.
  CHECK(specs[2].erase.kind == EraseAction::Kind::kKeep);
}

TEST_CASE("filesystem config errors name the field", "[filesystem]") {
  TempDir d;
  auto field = [&](nlohmann::json cfg) {
    auto c = Make(cfg, d.path().string());
    REQUIRE_FALSE(c.ok());
    CHECK(c.status().code() == lethe::Code::kInvalid);
    return c.status().field();
  };
  nlohmann::json cfg = Config();
  cfg["bucket"] = "x";
  CHECK(field(cfg) == "/connectors/1/bucket");

  cfg = Config();
  cfg["objects"][0]["mask"] = true;
  CHECK(field(cfg) == "/connectors/1/objects/0/mask");

  CHECK(field(Config("uploads/")) == "/connectors/1/objects/0/prefix");        // no placeholder
  CHECK(field(Config("{app.users.id}")) == "/connectors/1/objects/0/prefix");  // would match "420"
  CHECK(field(Config("../{app.users.id}/")) == "/connectors/1/objects/0/prefix");
  CHECK(field(Config("/abs/{app.users.id}/")) == "/connectors/1/objects/0/prefix");
  CHECK(field(Config("a\\{app.users.id}/")) == "/connectors/1/objects/0/prefix");

  cfg = Config();
  cfg["objects"][0]["erase"] = {{"mask", {{"name", "null"}}}};
  CHECK(field(cfg) == "/connectors/1/objects/0/erase");

  cfg = Config();
  cfg["objects"][0]["retain"] = {{"basis", "because"}};
  CHECK(field(cfg) == "/connectors/1/objects/0/retain/basis");

  cfg = Config();
  cfg["objects"].push_back(cfg["objects"][0]);
  cfg["objects"][0]["name"] = "objects_1";
  CHECK(field(cfg) == "/connectors/1/objects/1");  // duplicate name

  cfg = Config();
  cfg.erase("root");
  CHECK(field(cfg) == "/connectors/1");
}

TEST_CASE("filesystem prefix is a string prefix that respects the placeholder's boundary", "[filesystem]") {
  World w;
  auto keys = Keys(*w.conn, Prefix({"42/"}));
  REQUIRE(keys.ok());
  CHECK(*keys == std::set<std::string>{"42/cv.pdf", "42/photos/a.jpg"});

  auto none = Keys(*w.conn, Prefix({"7/"}));  // no such directory: nothing, not an error
  REQUIRE(none.ok());
  CHECK(none->empty());

  World u("uploads/{app.users.id}_");
  auto up = Keys(*u.conn, Prefix({"uploads/42_"}));
  REQUIRE(up.ok());
  CHECK(*up == std::set<std::string>{"uploads/42_a.pdf", "uploads/42_more/b.pdf"});

  // Two values and a duplicate: each file once.
  auto both = Keys(*w.conn, Prefix({"4/", "42/", "42/"}));
  REQUIRE(both.ok());
  CHECK(*both == std::set<std::string>{"4/cv.pdf", "42/cv.pdf", "42/photos/a.jpg"});
}

TEST_CASE("filesystem items carry key, size and modification time", "[filesystem]") {
  World w;
  std::vector<Item> items;
  REQUIRE(w.conn
              ->Find(w.conn->collections()[0], Prefix({"42/photos/"}),
                     [&](const Item& it) {
                       items.push_back(it);
                       return Status::Ok();
                     })
              .ok());
  REQUIRE(items.size() == 1);
  CHECK(items[0].key == "42/photos/a.jpg");
  CHECK(items[0].size == 1000);
  CHECK(items[0].fields["key"] == "42/photos/a.jpg");
  CHECK(items[0].fields["size"] == 1000);
  CHECK(items[0].fields["modified"].get<std::string>().size() == 20);  // 2026-01-31T10:00:00Z

  // A sink error stops the scan and is returned.
  Status st =
      w.conn->Find(w.conn->collections()[0], Prefix({"42/"}), [](const Item&) { return Status::Io("disk full"); });
  CHECK(st.code() == lethe::Code::kIo);
}

TEST_CASE("filesystem refuses prefixes and keys that leave the root", "[filesystem]") {
  World w;
  const auto& c = w.conn->collections()[0];
  for (std::string bad : std::vector<std::string>{"../", "../outside/", "/etc/", "42/../../outside/", "./", ".", "42//",
                                                  "a\\b/", "", std::string("42\0/", 3)}) {
    INFO("prefix " << bad);
    auto keys = Keys(*w.conn, Prefix({bad}));
    CHECK_FALSE(keys.ok());
    auto erased = w.conn->Erase(c, Prefix({bad}), {bad + "secret.txt"}, c.erase);
    CHECK_FALSE(erased.ok());
  }
  for (std::string bad : {"../outside/secret.txt", "/etc/passwd", "42/../../outside/secret.txt"}) {
    INFO("key " << bad);
    Item it;
    it.key = bad;
    CHECK_FALSE(w.conn->ReadObject(c, it, [](std::string_view) { return Status::Ok(); }).ok());
    CHECK_FALSE(w.conn->Erase(c, {}, {bad}, c.erase).ok());
  }
  // A key outside the subject's prefix is refused even though it is in the root.
  CHECK_FALSE(w.conn->Erase(c, Prefix({"42/"}), {"420/cv.pdf"}, c.erase).ok());
  CHECK(fs::exists(w.root / "420/cv.pdf"));
  CHECK(fs::exists(w.dir.path() / "outside/secret.txt"));
}

TEST_CASE("filesystem never follows symlinks out of the root", "[filesystem]") {
  World w;
  const auto& c = w.conn->collections()[0];
  fs::create_directory_symlink(w.dir.path() / "outside", w.root / "666");
  fs::create_symlink(w.dir.path() / "outside/secret.txt", w.root / "42/stolen.txt");
  fs::create_symlink(w.root / "42/cv.pdf", w.root / "42/alias.pdf");  // inside: fine

  // A prefix directory that is a symlink out of the root is refused.
  CHECK_FALSE(Keys(*w.conn, Prefix({"666/"})).ok());
  auto erased = w.conn->Erase(c, Prefix({"666/"}), {"666/secret.txt"}, c.erase);
  CHECK_FALSE(erased.ok());
  CHECK(fs::exists(w.dir.path() / "outside/secret.txt"));

  // A file symlink leaving the root is not listed and cannot be read.
  auto keys = Keys(*w.conn, Prefix({"42/"}));
  REQUIRE(keys.ok());
  CHECK(*keys == std::set<std::string>{"42/alias.pdf", "42/cv.pdf", "42/photos/a.jpg"});
  Item it;
  it.key = "42/stolen.txt";
  std::string got;
  CHECK_FALSE(w.conn
                  ->ReadObject(c, it,
                               [&](std::string_view s) {
                                 got += s;
                                 return Status::Ok();
                               })
                  .ok());
  CHECK(got.empty());

  // Deleting it removes the link, never the target.
  auto r = w.conn->Erase(c, Prefix({"42/"}), {"42/stolen.txt"}, c.erase);
  REQUIRE(r.ok());
  CHECK(*r == 1);
  CHECK_FALSE(fs::exists(fs::symlink_status(w.root / "42/stolen.txt")));
  CHECK(ReadFile(w.dir.path() / "outside/secret.txt") == "secret");
}

TEST_CASE("filesystem streams object content in bounded chunks", "[filesystem]") {
  World w;
  std::string big;
  for (int i = 0; i < 300000; ++i) big += static_cast<char>('a' + i % 26);
  WriteFile(w.root / "42/big.bin", big);
  Item it;
  it.key = "42/big.bin";
  std::string got;
  size_t chunks = 0, largest = 0;
  REQUIRE(w.conn
              ->ReadObject(w.conn->collections()[0], it,
                           [&](std::string_view s) {
                             ++chunks;
                             largest = std::max(largest, s.size());
                             got.append(s);
                             return Status::Ok();
                           })
              .ok());
  CHECK(got == big);
  CHECK(chunks >= 5);
  CHECK(largest <= 64 * 1024);

  it.key = "42/missing.bin";
  CHECK(w.conn->ReadObject(w.conn->collections()[0], it, [](std::string_view) { return Status::Ok(); }).code() ==
        lethe::Code::kNotFound);
}

TEST_CASE("filesystem erase deletes the subject's files and the directories they leave empty", "[filesystem]") {
  World w;
  const auto& c = w.conn->collections()[0];
  std::vector<std::string> keys;
  REQUIRE(w.conn
              ->Find(c, Prefix({"42/"}),
                     [&](const Item& it) {
                       keys.push_back(it.key);
                       return Status::Ok();
                     })
              .ok());
  REQUIRE(keys.size() == 2);

  auto r = w.conn->Erase(c, Prefix({"42/"}), keys, c.erase);
  REQUIRE(r.ok());
  CHECK(*r == 2);
  CHECK_FALSE(fs::exists(w.root / "42"));  // the directory named by the id goes too
  CHECK(fs::exists(w.root / "420/cv.pdf"));
  CHECK(fs::exists(w.root / "4/cv.pdf"));
  CHECK(fs::exists(w.root / "42.txt"));

  // Again: nothing left to do, not an error.
  auto again = w.conn->Erase(c, Prefix({"42/"}), keys, c.erase);
  REQUIRE(again.ok());
  CHECK(*again == 0);
  auto left = Keys(*w.conn, Prefix({"42/"}));
  REQUIRE(left.ok());
  CHECK(left->empty());
}

TEST_CASE("filesystem erase keeps directories outside the prefix and honours keep", "[filesystem]") {
  World w("uploads/{app.users.id}_");
  const auto& c = w.conn->collections()[0];
  EraseAction keep;
  keep.kind = EraseAction::Kind::kKeep;
  auto k = w.conn->Erase(c, Prefix({"uploads/42_"}), {"uploads/42_a.pdf"}, keep);
  REQUIRE(k.ok());
  CHECK(*k == 0);
  CHECK(fs::exists(w.root / "uploads/42_a.pdf"));

  EraseAction mask;
  mask.kind = EraseAction::Kind::kMask;
  CHECK_FALSE(w.conn->Erase(c, Prefix({"uploads/42_"}), {"uploads/42_a.pdf"}, mask).ok());

  auto r = w.conn->Erase(c, Prefix({"uploads/42_"}), {"uploads/42_a.pdf", "uploads/42_more/b.pdf"}, c.erase);
  REQUIRE(r.ok());
  CHECK(*r == 2);
  CHECK_FALSE(fs::exists(w.root / "uploads/42_more"));
  CHECK(fs::exists(w.root / "uploads/420_c.pdf"));
  CHECK(fs::is_directory(w.root / "uploads"));
}

TEST_CASE("filesystem connect fails on a missing root", "[filesystem]") {
  TempDir d;
  auto c = Make(Config(), d.path().string());
  REQUIRE(c.ok());
  CHECK((*c)->Connect().code() == lethe::Code::kUnavailable);
}

TEST_CASE("filesystem erase by keys alone prunes only the subject's directories", "[filesystem]") {
  // The executor erases keyed collections with keys and an empty match.
  World w;
  const auto& c = w.conn->collections()[0];
  auto r = w.conn->Erase(c, {}, {"42/cv.pdf", "42/photos/a.jpg"}, c.erase);
  REQUIRE(r.ok());
  CHECK(*r == 2);
  CHECK_FALSE(fs::exists(w.root / "42"));
  CHECK(fs::exists(w.root / "420/cv.pdf"));

  World u("uploads/{app.users.id}_");
  const auto& cu = u.conn->collections()[0];
  fs::remove(u.root / "uploads/420_c.pdf");  // so that "uploads" would be empty afterwards
  r = u.conn->Erase(cu, {}, {"uploads/42_a.pdf", "uploads/42_more/b.pdf"}, cu.erase);
  REQUIRE(r.ok());
  CHECK(*r == 2);
  CHECK_FALSE(fs::exists(u.root / "uploads/42_more"));
  CHECK(fs::is_directory(u.root / "uploads"));  // shared by all subjects: kept even when empty
}

TEST_CASE("filesystem erase again prunes directories a killed run left empty", "[filesystem]") {
  World w;
  const auto& c = w.conn->collections()[0];
  // As if a run deleted the files and was killed before pruning.
  fs::remove(w.root / "42/cv.pdf");
  fs::remove(w.root / "42/photos/a.jpg");
  auto r = w.conn->Erase(c, {}, {"42/cv.pdf", "42/photos/a.jpg"}, c.erase);
  REQUIRE(r.ok());
  CHECK(*r == 0);
  CHECK_FALSE(fs::exists(w.root / "42"));
  CHECK(fs::exists(w.root / "420/cv.pdf"));
}
