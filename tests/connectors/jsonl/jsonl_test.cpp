// The jsonl connector against real log files in a temporary folder.
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <thread>

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

ino_t Inode(const fs::path& p) {
  struct stat st;
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_ino;
}

nlohmann::json Config(nlohmann::json erase = "drop") {
  return {{"name", "logs"},          {"type", "jsonl"},
          {"files", "logs/*.jsonl"}, {"match", {{"user_id", "{app.users.id}"}, {"email", "{identity.email}"}}},
          {"erase", erase},          {"categories", {"usage"}}};
}

lethe::Result<std::unique_ptr<lethe::Connector>> Make(const nlohmann::json& cfg, const std::string& base) {
  return lethe::test::MakeConnector("jsonl", cfg, lethe::test::Context(base), "/connectors/2");
}

const Match kAda = {{"user_id", {"42"}}, {"email", {"ada@example.com"}}};

// Lines of the subject 42 / ada, of others, and lines that are not JSON objects.
const char kApp[] =
    "{\"ts\":1,\"user_id\":42,\"event\":\"login\",\"ip\":\"10.0.0.1\"}\n"   // 1: number match
    "{\"ts\":2,\"user_id\":420,\"event\":\"login\",\"ip\":\"10.0.0.2\"}\n"  // 2: other
    "not json at all, user_id 42\n"                                         // 3: malformed
    "\n"                                                                    // 4: blank
    "{\"ts\":3,\"email\":\"ada@example.com\",\"ip\":\"10.0.0.3\"}\n"        // 5: email match
    "[42, \"ada@example.com\"]\n"                                           // 6: not an object
    "{\"ts\":4,\"user_id\":\"42\",\"event\":\"logout\"}\n"                  // 7: string match
    "{\"ts\":5,\"user_id\":\"\\u0034\\u0032\"}\n"                           // 8: escaped "42"
    "{\"ts\":6,\"user\":{\"user_id\":42}}\n"                                // 9: nested: not matched
    "{\"ts\":7,\"email\":\"bob@example.com\"}";                             // 10: other, no final newline

struct World {
  TempDir dir;
  std::unique_ptr<lethe::Connector> conn;
  explicit World(nlohmann::json erase = "drop") {
    WriteFile(dir.path() / "logs/app.jsonl", kApp);
    WriteFile(dir.path() / "logs/other.jsonl", "{\"user_id\":7}\n{\"user_id\":8}\n");
    WriteFile(dir.path() / "logs/app.txt", "{\"user_id\":42}\n");  // not matched by the glob
    auto c = Make(Config(erase), dir.path().string());
    REQUIRE(c.ok());
    conn = std::move(*c);
    REQUIRE(conn->Connect().ok());
  }
  const lethe::CollectionSpec& lines() const { return conn->collections()[0]; }
  std::vector<std::string> Keys(const Match& m = kAda) {
    std::vector<std::string> keys;
    REQUIRE(conn->Find(lines(), m,
                       [&](const Item& it) {
                         keys.push_back(it.key);
                         return Status::Ok();
                       })
                .ok());
    return keys;
  }
};

std::vector<std::string> TempFiles(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().filename().string().find(".lethe-tmp-") != std::string::npos) {
      out.push_back(e.path().filename().string());
    }
  }
  return out;
}

long MaxRssKb() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

}  // namespace

TEST_CASE("jsonl config becomes the collection \"lines\"", "[jsonl]") {
  TempDir d;
  auto c = Make(Config({{"redact", {"email", "ip"}}}), d.path().string());
  REQUIRE(c.ok());
  const auto& specs = (*c)->collections();
  REQUIRE(specs.size() == 1);
  CHECK(specs[0].name == "lines");
  CHECK(specs[0].connector == "logs");
  CHECK_FALSE(specs[0].objects);
  CHECK(specs[0].categories == std::vector<std::string>{"usage"});
  CHECK(specs[0].erase.kind == EraseAction::Kind::kRedact);
  CHECK(specs[0].erase.redact == std::vector<std::string>{"email", "ip"});
  REQUIRE(specs[0].links.size() == 2);
  // nlohmann::json orders object keys, so "email" comes first.
  CHECK(specs[0].links[0].column == "email");
  CHECK(specs[0].links[0].value_template == "{identity.email}");
  CHECK(specs[0].links[0].pointer == "/connectors/2/match/email");
  CHECK(specs[0].links[1].column == "user_id");

  auto drop = Make(Config(), d.path().string());
  REQUIRE(drop.ok());
  CHECK((*drop)->collections()[0].erase.kind == EraseAction::Kind::kDrop);

  nlohmann::json retained = Config();
  retained["retain"] = {{"basis", "legal_claims"}, {"period", "P3Y"}};
  auto r = Make(retained, d.path().string());
  REQUIRE(r.ok());
  CHECK((*r)->collections()[0].erase.kind == EraseAction::Kind::kKeep);
  REQUIRE((*r)->collections()[0].retain);
  CHECK((*r)->collections()[0].retain->period == "P3Y");
}

TEST_CASE("jsonl config errors name the field", "[jsonl]") {
  TempDir d;
  auto field = [&](nlohmann::json cfg) {
    auto c = Make(cfg, d.path().string());
    REQUIRE_FALSE(c.ok());
    CHECK(c.status().code() == lethe::Code::kInvalid);
    return c.status().field();
  };
  nlohmann::json cfg = Config();
  cfg["path"] = "x";
  CHECK(field(cfg) == "/connectors/2/path");
  CHECK(field(Config("delete")) == "/connectors/2/erase");
  CHECK(field(Config({{"redact", nlohmann::json::array()}})) == "/connectors/2/erase/redact");
  CHECK(field(Config({{"mask", {{"email", "null"}}}})) == "/connectors/2/erase");
  cfg = Config();
  cfg["match"]["ip"] = "10.0.0.1";  // a constant would match every subject
  CHECK(field(cfg) == "/connectors/2/match/ip");
  cfg = Config();
  cfg["retain"] = {{"basis", "legal_obligation"}, {"period", "seven years"}};
  CHECK(field(cfg) == "/connectors/2/retain/period");
  cfg = Config();
  cfg.erase("match");
  CHECK(field(cfg) == "/connectors/2");
}

TEST_CASE("jsonl finds the subject's lines, streaming, and skips what is not JSON", "[jsonl]") {
  World w;
  CHECK(w.Keys() ==
        std::vector<std::string>{"logs/app.jsonl:1", "logs/app.jsonl:5", "logs/app.jsonl:7", "logs/app.jsonl:8"});
  // The item is the parsed line.
  std::vector<Item> items;
  REQUIRE(w.conn
              ->Find(w.lines(), {{"email", {"ada@example.com"}}},
                     [&](const Item& it) {
                       items.push_back(it);
                       return Status::Ok();
                     })
              .ok());
  REQUIRE(items.size() == 1);
  CHECK(items[0].fields["ip"] == "10.0.0.3");

  CHECK(w.Keys({{"user_id", {"7", "8"}}}) == std::vector<std::string>{"logs/other.jsonl:1", "logs/other.jsonl:2"});
  CHECK(w.Keys({{"user_id", {"999"}}}).empty());
  CHECK(w.Keys({}).empty());

  // A sink error stops the scan.
  CHECK(w.conn->Find(w.lines(), kAda, [](const Item&) { return Status::Conflict("stop"); }).code() ==
        lethe::Code::kConflict);
}

TEST_CASE("jsonl drop rewrites only affected files, atomically, leaving other lines byte for byte", "[jsonl]") {
  World w;
  fs::path app = w.dir.path() / "logs/app.jsonl", other = w.dir.path() / "logs/other.jsonl";
  ino_t app_before = Inode(app), other_before = Inode(other);
  // A temp file left by a crashed rewrite is cleaned up.
  WriteFile(w.dir.path() / "logs/.app.jsonl.lethe-tmp-Ab12Cd", "half");

  auto r = w.conn->Erase(w.lines(), kAda, {}, w.lines().erase);
  REQUIRE(r.ok());
  CHECK(*r == 4);
  CHECK(ReadFile(app) ==
        "{\"ts\":2,\"user_id\":420,\"event\":\"login\",\"ip\":\"10.0.0.2\"}\n"
        "not json at all, user_id 42\n"
        "\n"
        "[42, \"ada@example.com\"]\n"
        "{\"ts\":6,\"user\":{\"user_id\":42}}\n"
        "{\"ts\":7,\"email\":\"bob@example.com\"}");
  CHECK(Inode(app) != app_before);      // replaced by rename
  CHECK(Inode(other) == other_before);  // untouched: nothing of the subject in it
  CHECK(ReadFile(w.dir.path() / "logs/app.txt") == "{\"user_id\":42}\n");
  CHECK(TempFiles(w.dir.path() / "logs").empty());
  CHECK(w.Keys().empty());

  // Idempotent: a second run changes and rewrites nothing.
  ino_t app_after = Inode(app);
  auto again = w.conn->Erase(w.lines(), kAda, {}, w.lines().erase);
  REQUIRE(again.ok());
  CHECK(*again == 0);
  CHECK(Inode(app) == app_after);
}

TEST_CASE("jsonl redact replaces fields and keeps the line's shape", "[jsonl]") {
  World w(nlohmann::json{{"redact", {"email", "ip", "user_id"}}});
  fs::path app = w.dir.path() / "logs/app.jsonl";
  auto r = w.conn->Erase(w.lines(), kAda, {}, w.lines().erase);
  REQUIRE(r.ok());
  CHECK(*r == 4);
  CHECK(ReadFile(app) ==
        "{\"ts\":1,\"user_id\":\"[redacted]\",\"event\":\"login\",\"ip\":\"[redacted]\"}\n"
        "{\"ts\":2,\"user_id\":420,\"event\":\"login\",\"ip\":\"10.0.0.2\"}\n"
        "not json at all, user_id 42\n"
        "\n"
        "{\"ts\":3,\"email\":\"[redacted]\",\"ip\":\"[redacted]\"}\n"
        "[42, \"ada@example.com\"]\n"
        "{\"ts\":4,\"user_id\":\"[redacted]\",\"event\":\"logout\"}\n"
        "{\"ts\":5,\"user_id\":\"[redacted]\"}\n"
        "{\"ts\":6,\"user\":{\"user_id\":42}}\n"
        "{\"ts\":7,\"email\":\"bob@example.com\"}");
  CHECK(w.Keys().empty());
  CHECK(TempFiles(w.dir.path() / "logs").empty());
}

TEST_CASE("jsonl redact that keeps the match field stays idempotent", "[jsonl]") {
  World w(nlohmann::json{{"redact", {"ip"}}});
  fs::path app = w.dir.path() / "logs/app.jsonl";
  auto r = w.conn->Erase(w.lines(), kAda, {}, w.lines().erase);
  REQUIRE(r.ok());
  CHECK(*r == 2);  // only lines 1 and 5 have an ip
  std::string after = ReadFile(app);
  CHECK(after.find("10.0.0.1") == std::string::npos);
  CHECK(after.find("10.0.0.3") == std::string::npos);
  CHECK(after.find("10.0.0.2") != std::string::npos);
  // The lines still match (user_id was not redacted), but nothing changes again.
  CHECK(w.Keys().size() == 4);
  ino_t ino = Inode(app);
  auto again = w.conn->Erase(w.lines(), kAda, {}, w.lines().erase);
  REQUIRE(again.ok());
  CHECK(*again == 0);
  CHECK(Inode(app) == ino);
  CHECK(ReadFile(app) == after);
}

TEST_CASE("jsonl keep changes nothing and mask is refused", "[jsonl]") {
  World w;
  fs::path app = w.dir.path() / "logs/app.jsonl";
  EraseAction keep;
  keep.kind = EraseAction::Kind::kKeep;
  auto r = w.conn->Erase(w.lines(), kAda, {}, keep);
  REQUIRE(r.ok());
  CHECK(*r == 0);
  CHECK(ReadFile(app) == kApp);
  EraseAction mask;
  mask.kind = EraseAction::Kind::kMask;
  CHECK_FALSE(w.conn->Erase(w.lines(), kAda, {}, mask).ok());
  CHECK(ReadFile(app) == kApp);
}

TEST_CASE("jsonl concurrent erasures of one file lose nothing", "[jsonl]") {
  TempDir d;
  std::string content;
  for (int i = 0; i < 20000; ++i)
    content += "{\"user_id\":" + std::to_string(i % 4) + ",\"n\":" + std::to_string(i) + "}\n";
  WriteFile(d.path() / "logs/big.jsonl", content);
  auto c = Make(Config(), d.path().string());
  REQUIRE(c.ok());
  auto& conn = **c;
  const auto& spec = conn.collections()[0];
  lethe::Result<int64_t> r1 = int64_t{0}, r2 = int64_t{0};
  std::thread t1([&] { r1 = conn.Erase(spec, {{"user_id", {"1"}}}, {}, spec.erase); });
  std::thread t2([&] { r2 = conn.Erase(spec, {{"user_id", {"2"}}}, {}, spec.erase); });
  t1.join();
  t2.join();
  REQUIRE(r1.ok());
  REQUIRE(r2.ok());
  CHECK(*r1 == 5000);
  CHECK(*r2 == 5000);
  std::ifstream in(d.path() / "logs/big.jsonl");
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    ++lines;
    auto j = nlohmann::json::parse(line);
    CHECK((j["user_id"] == 0 || j["user_id"] == 3));
  }
  CHECK(lines == 10000);
}

TEST_CASE("jsonl streams a 50 MB log with bounded memory", "[jsonl][large]") {
  TempDir d;
  fs::path big = d.path() / "logs/big.jsonl";
  fs::create_directories(big.parent_path());
  int64_t subject_lines = 0, total = 0;
  {
    std::ofstream out(big, std::ios::binary);
    std::string pad(60, 'x');
    for (int64_t i = 0; out.tellp() < 50 * 1024 * 1024; ++i) {
      bool ada = i % 1000 == 0;
      subject_lines += ada;
      ++total;
      out << "{\"ts\":" << i << ",\"user_id\":" << (ada ? 42 : 1000 + i % 5000) << ",\"pad\":\"" << pad << "\"}\n";
    }
  }
  auto c = Make(Config(), d.path().string());
  REQUIRE(c.ok());
  auto& conn = **c;
  const auto& spec = conn.collections()[0];
  long before = MaxRssKb();
  int64_t found = 0;
  REQUIRE(conn.Find(spec, kAda,
                    [&](const Item&) {
                      ++found;
                      return Status::Ok();
                    })
              .ok());
  CHECK(found == subject_lines);
  auto r = conn.Erase(spec, kAda, {}, spec.erase);
  REQUIRE(r.ok());
  CHECK(*r == subject_lines);
  long grown_mb = (MaxRssKb() - before) / 1024;
  INFO("peak RSS grew by " << grown_mb << " MB");
#ifndef LETHE_SANITIZE   // ASan's shadow memory and quarantine make peak RSS meaningless
  CHECK(grown_mb < 20);  // the file is 50 MB: it was never held in memory
#endif

  int64_t left = 0;
  std::ifstream in(big);
  std::string line;
  while (std::getline(in, line)) ++left;
  CHECK(left == total - subject_lines);
  CHECK(TempFiles(big.parent_path()).empty());
}

TEST_CASE("jsonl globs are taken relative to a literal base directory", "[jsonl]") {
  TempDir d;
  fs::path base = d.path() / "we[ir]d*dir";  // glob metacharacters in the base must not act as a pattern
  WriteFile(base / "logs/a.jsonl", "{\"user_id\":42}\n");
  WriteFile(base / "logs/b.jsonl", "{\"user_id\":42}\n{\"user_id\":1}\n");
  WriteFile(base / "traces/t.jsonl", "{\"email\":\"ada@example.com\"}\n");
  WriteFile(base / "logs/.hidden.jsonl", "{\"user_id\":42}\n");  // dot files: not matched by *
  nlohmann::json cfg = Config();
  cfg["files"] = {"logs/*.jsonl", "traces/*.jsonl", (base / "logs/a.jsonl").string()};
  auto c = Make(cfg, base.string());
  REQUIRE(c.ok());
  std::vector<std::string> keys;
  REQUIRE((*c)->Find((*c)->collections()[0], kAda,
                     [&](const Item& it) {
                       keys.push_back(it.key);
                       return Status::Ok();
                     })
              .ok());
  // a.jsonl is named twice (relative and absolute) but read once.
  CHECK(keys == std::vector<std::string>{"logs/a.jsonl:1", "logs/b.jsonl:1", "traces/t.jsonl:1"});

  // No file matching yet is not an error: logs may not have been written.
  nlohmann::json none = Config();
  none["files"] = "nothing/*.jsonl";
  auto n = Make(none, base.string());
  REQUIRE(n.ok());
  CHECK((*n)->Connect().ok());
  auto erased = (*n)->Erase((*n)->collections()[0], kAda, {}, (*n)->collections()[0].erase);
  REQUIRE(erased.ok());
  CHECK(*erased == 0);
}

TEST_CASE("jsonl keeps CRLF endings and compares numbers as text", "[jsonl]") {
  TempDir d;
  fs::path log = d.path() / "logs/crlf.jsonl";
  WriteFile(log,
            "{\"user_id\":42,\"ip\":\"1.1.1.1\"}\r\n"
            "{\"user_id\":42.5,\"ip\":\"2.2.2.2\"}\r\n"
            "{\"user_id\":18446744073709551615,\"ip\":\"3.3.3.3\"}\r\n"
            "{\"user_id\":true,\"ip\":\"4.4.4.4\"}\r\n");
  auto c = Make(Config({{"redact", {"ip"}}}), d.path().string());
  REQUIRE(c.ok());
  const auto& spec = (*c)->collections()[0];
  Match m = {{"user_id", {"42", "18446744073709551615", "true"}}};
  auto r = (*c)->Erase(spec, m, {}, spec.erase);
  REQUIRE(r.ok());
  CHECK(*r == 2);  // 42 and the unsigned; 42.5 is not 42 and a boolean never matches
  CHECK(ReadFile(log) ==
        "{\"user_id\":42,\"ip\":\"[redacted]\"}\r\n"
        "{\"user_id\":42.5,\"ip\":\"2.2.2.2\"}\r\n"
        "{\"user_id\":18446744073709551615,\"ip\":\"[redacted]\"}\r\n"
        "{\"user_id\":true,\"ip\":\"4.4.4.4\"}\r\n");
}

TEST_CASE("jsonl keeps the log file's permissions across a rewrite", "[jsonl]") {
  World w;
  fs::path app = w.dir.path() / "logs/app.jsonl";
  fs::permissions(app, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
  auto r = w.conn->Erase(w.lines(), kAda, {}, w.lines().erase);
  REQUIRE(r.ok());
  CHECK(*r == 4);
  CHECK(fs::status(app).permissions() == (fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read));
}
