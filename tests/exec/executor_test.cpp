// The executor end to end over a real SQLite app database, real files and
// the real SQLite store.
#include <openssl/sha.h>
#include <zip.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>

#include "exec/util.h"
#include "lethe/audit.h"
#include "lethe/exec.h"
#include "world.h"

using namespace lethe;
using namespace lethe::testing;
using nlohmann::json;

namespace {

// Reads one entry of a zip into memory (test data is small).
std::string ReadEntry(zip_t* za, const std::string& name) {
  zip_stat_t st;
  zip_stat_init(&st);
  REQUIRE(zip_stat(za, name.c_str(), 0, &st) == 0);
  zip_file_t* f = zip_fopen(za, name.c_str(), 0);
  REQUIRE(f != nullptr);
  std::string out(st.size, '\0');
  REQUIRE(zip_fread(f, out.data(), st.size) == static_cast<zip_int64_t>(st.size));
  zip_fclose(f);
  return out;
}

std::set<std::string> EntryNames(zip_t* za) {
  std::set<std::string> names;
  for (zip_int64_t i = 0; i < zip_get_num_entries(za, 0); ++i) names.insert(zip_get_name(za, i, 0));
  return names;
}

json Entry(const json& list, const std::string& key, const std::string& value) {
  for (const auto& e : list) {
    if (e.value(key, std::string()) == value) return e;
  }
  FAIL("no entry with " << key << " = " << value << " in " << list.dump());
  return {};
}

json CollectionResult(const json& result, const std::string& collection) {
  for (const auto& e : result["collections"]) {
    if (e["collection"] == collection) return e;
  }
  FAIL("no collection " << collection << " in " << result.dump());
  return {};
}

// A connector type that wraps sqlite and fails one chosen Erase call:
// the stand-in for a worker dying mid-erasure.
struct Failure {
  std::string collection;
  int fail_on_call = 0;  // 1-based; 0: never
  int calls = 0;
  int fail_on_item = 0;  // Find: fail at this item of `collection` (1-based; 0: never)
  int items = 0;
};
Failure g_failure;

class FlakyConnector : public Connector {
 public:
  explicit FlakyConnector(std::unique_ptr<Connector> inner) : inner_(std::move(inner)) {}
  const std::string& name() const override { return inner_->name(); }
  const std::vector<CollectionSpec>& collections() const override { return inner_->collections(); }
  Status Connect() override { return inner_->Connect(); }
  Status Find(const CollectionSpec& c, const Match& m, const std::function<Status(const Item&)>& sink) override {
    return inner_->Find(c, m, [&](const Item& item) -> Status {
      if (c.name == g_failure.collection && ++g_failure.items == g_failure.fail_on_item) {
        return Status::Unavailable("injected failure");
      }
      return sink(item);
    });
  }
  Result<int64_t> Erase(const CollectionSpec& c, const Match& m, const std::vector<std::string>& keys,
                        const EraseAction& a) override {
    if (c.name == g_failure.collection && ++g_failure.calls == g_failure.fail_on_call) {
      return Status::Unavailable("injected failure");
    }
    return inner_->Erase(c, m, keys, a);
  }
  Result<int64_t> Update(const CollectionSpec& c, const std::vector<std::string>& keys, const json& set) override {
    return inner_->Update(c, keys, set);
  }

 private:
  std::unique_ptr<Connector> inner_;
};

void RegisterFlaky() {
  RegisterConnectorType("flaky_sqlite",
                        [](const json& config, const std::string& pointer,
                           const ConnectorContext& ctx) -> Result<std::unique_ptr<Connector>> {
                          json c = config;
                          c["type"] = "sqlite";
                          auto inner = (*FindConnectorType("sqlite"))(c, pointer, ctx);
                          if (!inner.ok()) return inner.status();
                          return std::unique_ptr<Connector>(new FlakyConnector(std::move(*inner)));
                        });
}

void CheckBobUntouched(World& w) {
  CHECK(SqlCount(w.app_db, "SELECT count(*) FROM users WHERE id = 2") == 1);
  CHECK(SqlCount(w.app_db, "SELECT count(*) FROM orders WHERE user_id = 2") == 1);
  CHECK(SqlCount(w.app_db, "SELECT count(*) FROM order_items WHERE order_id = 12") == 1);
  CHECK(SqlCount(w.app_db, "SELECT count(*) FROM events WHERE user_id = 2") == 2);
  CHECK(SqlText(w.app_db, "SELECT email FROM invoices WHERE id = 501") == "bob@example.com");
  CHECK(SqlText(w.app_db, "SELECT name FROM invoices WHERE id = 501") == "Bob");
  CHECK(fs::exists(w.dir / "files/2/other.txt"));
}

void CheckAdaErased(World& w, const json& result) {
  CHECK(SqlCount(w.app_db, "SELECT count(*) FROM users WHERE id = 1") == 0);
  CHECK(SqlCount(w.app_db, "SELECT count(*) FROM orders WHERE user_id = 1") == 0);
  CHECK(SqlCount(w.app_db, "SELECT count(*) FROM order_items WHERE order_id IN (10, 11)") == 0);
  CHECK(SqlCount(w.app_db, "SELECT count(*) FROM events WHERE user_id = 1") == 0);
  CHECK_FALSE(fs::exists(w.dir / "files/1/cv.pdf"));
  CHECK_FALSE(fs::exists(w.dir / "files/1/notes.txt"));
  // Retained invoice: kept, masked.
  CHECK(SqlCount(w.app_db, "SELECT count(*) FROM invoices WHERE id = 500") == 1);
  CHECK(SqlText(w.app_db, "SELECT name FROM invoices WHERE id = 500") == "<null>");
  CHECK(SqlText(w.app_db, "SELECT address FROM invoices WHERE id = 500") == "[redacted]");
  CHECK(SqlText(w.app_db, "SELECT email FROM invoices WHERE id = 500") ==
        exec::MaskHash(w.hash_key, "ada@example.com"));
  CHECK(SqlText(w.app_db, "SELECT issued_at FROM invoices WHERE id = 500") == "2025-01-01");
  // Suppression list: kept as configured.
  CHECK(SqlCount(w.app_db, "SELECT count(*) FROM newsletter WHERE id = 7") == 1);

  // Exact counts, whatever crashes happened in between.
  CHECK(CollectionResult(result, "users")["rows"] == 1);
  CHECK(CollectionResult(result, "orders")["rows"] == 2);
  CHECK(CollectionResult(result, "order_items")["rows"] == 3);
  CHECK(CollectionResult(result, "events")["rows"] == 1200);
  CHECK(CollectionResult(result, "uploads")["rows"] == 2);
  CHECK(CollectionResult(result, "invoices")["rows"] == 1);
  CHECK(CollectionResult(result, "invoices")["action"] == "mask");
  CHECK(CollectionResult(result, "newsletter")["action"] == "keep");
  CHECK(CollectionResult(result, "newsletter")["rows"] == 0);
  CHECK(result["deleted"] == 1 + 2 + 3 + 1200 + 2);
  CHECK(result["masked"] == 1);
  CHECK(result["verified"] == true);
  CHECK(result["counts"]["deleted"] == result["deleted"]);
  CHECK(result["remaining"]["app.events"] == 0);
  CHECK(result["remaining"]["app.invoices"] == 1);
  for (const auto& c : result["collections"]) {
    if (c["action"] == "delete") CHECK(c["remaining"] == 0);
  }
  json inv = Entry(result["retained"], "collection", "invoices");
  CHECK(inv["basis"] == "legal_obligation");
  CHECK(inv["note"] == "EU tax law");
  CHECK(inv["period"] == "P7Y");
  CHECK(inv["rows"] == 1);
}

}  // namespace

TEST_CASE("plan is a dry run: counts per collection, nothing changes") {
  World w;
  Request r = w.NewRequest("req-plan", RequestType::kErasure, "ada@example.com");
  auto ex = w.MakeExec();
  auto plan = ex->Plan(r);
  INFO(plan.status().ToString());
  REQUIRE(plan.ok());
  json p = *plan;
  CHECK(CollectionResult(p, "users")["action"] == "delete");
  CHECK(CollectionResult(p, "users")["rows"] == 1);
  CHECK(CollectionResult(p, "orders")["rows"] == 2);
  CHECK(CollectionResult(p, "order_items")["rows"] == 3);
  CHECK(CollectionResult(p, "events")["rows"] == 1200);
  CHECK(CollectionResult(p, "uploads")["objects"] == 2);
  CHECK(CollectionResult(p, "invoices")["action"] == "mask");
  CHECK(CollectionResult(p, "invoices")["retention"]["basis"] == "legal_obligation");
  CHECK(CollectionResult(p, "newsletter")["action"] == "keep");
  CHECK(p["totals"]["delete"] == 1 + 2 + 3 + 1200 + 2);
  CHECK(p["totals"]["mask"] == 1);
  CHECK(p["totals"]["keep"] == 1);
  CHECK(SqlCount(w.app_db, "SELECT count(*) FROM events") == 1202);
  CHECK(fs::exists(w.dir / "files/1/cv.pdf"));
  CHECK(w.TasksOf("req-plan").empty());
}

TEST_CASE("access export: zip with manifest, report, data and files, checksums match") {
  World w;
  Request r = w.NewRequest("req-access", RequestType::kAccess, "ada@example.com");
  auto ex = w.MakeExec();
  auto res = Receipt(ex->Execute(r));
  INFO(res.status().ToString());
  REQUIRE(res.ok());
  const std::string path = (*res)["export_path"];
  CHECK(path == (w.dir / "exports/req-access.zip").lexically_normal().string());
  CHECK((*res)["records"] == 1 + 2 + 3 + 1200 + 1 + 1 + 2);
  // Nothing but the published zip is left in the exports directory.
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(w.dir / "exports")) left.push_back(e.path().filename().string());
  CHECK(left == std::vector<std::string>{"req-access.zip"});

  int err = 0;
  zip_t* za = zip_open(path.c_str(), ZIP_RDONLY, &err);
  REQUIRE(za != nullptr);
  auto names = EntryNames(za);
  CHECK(names.count("manifest.json"));
  CHECK(names.count("report.html"));
  CHECK(names.count("data/app/users.json"));
  CHECK(names.count("data/app/events.json"));
  CHECK(names.count("data/files/uploads.json"));
  CHECK(names.count("files/files/1/cv.pdf"));
  CHECK(names.count("files/files/1/notes.txt"));
  CHECK_FALSE(names.count("files/files/2/other.txt"));

  json manifest = json::parse(ReadEntry(za, "manifest.json"));
  CHECK(manifest["request"]["id"] == "req-access");
  CHECK(manifest["request"]["type"] == "access");
  CHECK(manifest["subject"]["email"] == "ada@example.com");
  CHECK(manifest["generated_at"].is_string());
  json users_src = Entry(manifest["sources"], "collection", "users");
  CHECK(users_src["records"] == 1);
  CHECK(users_src["purpose"] == "account");
  CHECK(users_src["categories"] == json::array({"identity", "contact"}));
  CHECK(Entry(manifest["sources"], "collection", "invoices")["retention"]["period"] == "P7Y");
  // Every file in the zip except the manifest is listed with its size and sha256.
  CHECK(manifest["files"].size() == names.size() - 1);
  for (const auto& f : manifest["files"]) {
    std::string content = ReadEntry(za, f["path"]);
    CHECK(static_cast<int64_t>(content.size()) == f["size"].get<int64_t>());
    CHECK(exec::Sha256Hex(content) == f["sha256"]);
  }

  json users = json::parse(ReadEntry(za, "data/app/users.json"));
  REQUIRE(users.size() == 1);
  CHECK(users[0]["email"] == "ada@example.com");
  CHECK(users[0]["name"] == "Ada");
  CHECK_FALSE(users[0].contains("address"));  // omitted by config
  json events = json::parse(ReadEntry(za, "data/app/events.json"));
  CHECK(events.size() == 1200);
  json items = json::parse(ReadEntry(za, "data/app/order_items.json"));
  CHECK(items.size() == 3);
  json uploads = json::parse(ReadEntry(za, "data/files/uploads.json"));
  REQUIRE(uploads.size() == 2);
  CHECK(ReadEntry(za, "files/files/1/cv.pdf") == "%PDF-1.4 ada's cv");

  // PDFs are stored, text is deflated.
  zip_stat_t st;
  REQUIRE(zip_stat(za, "files/files/1/cv.pdf", 0, &st) == 0);
  CHECK(st.comp_method == ZIP_CM_STORE);
  REQUIRE(zip_stat(za, "data/app/events.json", 0, &st) == 0);
  CHECK(st.comp_method == ZIP_CM_DEFLATE);

  std::string report = ReadEntry(za, "report.html");
  CHECK(report.find("supervisory authority") != std::string::npos);
  CHECK(report.find("crm") != std::string::npos);          // recipients
  CHECK(report.find("bookkeeping") != std::string::npos);  // purposes
  CHECK(report.find("legal_obligation") != std::string::npos);
  zip_close(za);

  auto tasks = w.TasksOf("req-access");
  CHECK(tasks["app.events:export"].rows == 1200);
  CHECK(tasks["app.events:export"].status == "done");
  // Nothing was changed by an export.
  CHECK(SqlCount(w.app_db, "SELECT count(*) FROM events") == 1202);
}

TEST_CASE("portability export holds only portable collections") {
  World w;
  Request r = w.NewRequest("req-port", RequestType::kPortability, "ada@example.com");
  auto res = Receipt(w.MakeExec()->Execute(r));
  REQUIRE(res.ok());
  int err = 0;
  zip_t* za = zip_open((*res)["export_path"].get<std::string>().c_str(), ZIP_RDONLY, &err);
  REQUIRE(za != nullptr);
  auto names = EntryNames(za);
  CHECK(names.count("data/app/users.json"));
  CHECK(names.count("data/app/orders.json"));
  CHECK(names.count("data/app/order_items.json"));
  CHECK(names.count("files/files/1/cv.pdf"));
  CHECK_FALSE(names.count("data/app/events.json"));
  CHECK_FALSE(names.count("data/app/invoices.json"));
  json manifest = json::parse(ReadEntry(za, "manifest.json"));
  for (const auto& s : manifest["sources"]) CHECK(s["portable"] == true);
  zip_close(za);
}

TEST_CASE("export with a password is AES-256 encrypted") {
  World w;
  Request r = w.NewRequest("req-enc", RequestType::kAccess, "ada@example.com");
  setenv("LETHE_TEST_EXPORT_PW", "correct horse", 1);
  w.config.export_password_env = "LETHE_TEST_EXPORT_PW";
  auto res = Receipt(w.MakeExec()->Execute(r));
  REQUIRE(res.ok());
  CHECK((*res)["encrypted"] == true);
  int err = 0;
  zip_t* za = zip_open((*res)["export_path"].get<std::string>().c_str(), ZIP_RDONLY, &err);
  REQUIRE(za != nullptr);
  zip_stat_t st;
  REQUIRE(zip_stat(za, "manifest.json", 0, &st) == 0);
  CHECK(st.encryption_method == ZIP_EM_AES_256);
  CHECK(zip_fopen(za, "manifest.json", 0) == nullptr);  // no password, no data
  REQUIRE(zip_set_default_password(za, "correct horse") == 0);
  json manifest = json::parse(ReadEntry(za, "manifest.json"));
  CHECK(manifest["request"]["id"] == "req-enc");
  // AE-2 stores CRC-32 = 0, so the headers say nothing about the plaintext:
  // every central entry ...
  const zip_int64_t n = zip_get_num_entries(za, 0);
  REQUIRE(n >= 2);
  for (zip_int64_t i = 0; i < n; ++i) {
    REQUIRE(zip_stat_index(za, i, 0, &st) == 0);
    INFO(st.name);
    CHECK(st.encryption_method == ZIP_EM_AES_256);
    CHECK(st.crc == 0);
  }
  zip_close(za);
  // ... and every local header, walked in order from the start of the file.
  std::ifstream in((*res)["export_path"].get<std::string>(), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  auto le = [&](size_t at, int width) {
    uint64_t v = 0;
    for (int k = width - 1; k >= 0; --k) v = v << 8 | static_cast<unsigned char>(bytes.at(at + k));
    return v;
  };
  size_t at = 0;
  zip_int64_t locals = 0;
  while (le(at, 4) == 0x04034b50) {
    CHECK(le(at + 8, 2) == 99);  // WinZip AES
    CHECK(le(at + 14, 4) == 0);  // CRC-32
    at += 30 + le(at + 26, 2) + le(at + 28, 2) + le(at + 18, 4);
    ++locals;
  }
  CHECK(locals == n);

  // A configured password variable that is unset stops the executor.
  w.config.export_password_env = "LETHE_TEST_EXPORT_PW_UNSET";
  auto bad = MakeExecutor(w.config, *w.store, w.hash_key);
  CHECK_FALSE(bad.ok());
}

TEST_CASE("erasure: delete in reverse order, retain with mask, keep, verify; other subjects untouched") {
  World w;
  Request r = w.NewRequest("req-erase", RequestType::kErasure, "ada@example.com");
  auto res = Receipt(w.MakeExec()->Execute(r));
  INFO(res.status().ToString());
  REQUIRE(res.ok());
  CheckAdaErased(w, *res);
  CheckBobUntouched(w);
  auto tasks = w.TasksOf("req-erase");
  REQUIRE(tasks.size() == 7);
  for (const auto& [id, t] : tasks) {
    CHECK(t.status == "done");
    CHECK(t.attempts == 1);
    CHECK_FALSE(t.detail.contains("keys"));  // the receipt holds no keys once done
    auto keys = w.store->GetRecord("erase_keys", "req-erase/" + t.connector + "." + t.collection);
    REQUIRE(keys.ok());
    CHECK_FALSE(keys->has_value());
  }
  CHECK(tasks["app.events:erase"].detail["key_count"] == 1200);
  CHECK(tasks["app.events:erase"].rows == 1200);
  CHECK(tasks["app.invoices:erase"].detail["retention"]["basis"] == "legal_obligation");

  // The result is a receipt: no identity values anywhere in it.
  CHECK(res->dump().find("ada@example.com") == std::string::npos);

  // Running it again (a retry after completion) changes nothing more.
  auto again = Receipt(w.MakeExec()->Execute(r));
  REQUIRE(again.ok());
  CHECK((*again)["deleted"] == (*res)["deleted"]);
  CheckBobUntouched(w);
}

TEST_CASE("erasure resumes after a crash mid-way with exact counts") {
  World w;
  RegisterFlaky();
  w.config.connectors[0] = AppConnector("flaky_sqlite");
  Request r = w.NewRequest("req-crash", RequestType::kErasure, "ada@example.com");

  SECTION("failure in the middle of a batched collection") {
    // events has 1200 rows: batches of 500, 500, 200. The second one dies.
    g_failure = {"events", 2, 0};
    auto first = Receipt(w.MakeExec()->Execute(r));
    REQUIRE_FALSE(first.ok());
    auto tasks = w.TasksOf("req-crash");
    CHECK(tasks["app.events:erase"].status == "failed");
    CHECK(tasks["app.events:erase"].rows == 500);
    // Every collection's keys were persisted before the first delete.
    auto keys = w.store->GetRecord("erase_keys", "req-crash/app.events");
    REQUIRE(keys.ok());
    REQUIRE(keys->has_value());
    CHECK((**keys).value["keys"].size() == 1200);
    keys = w.store->GetRecord("erase_keys", "req-crash/app.users");
    REQUIRE(keys.ok());
    REQUIRE(keys->has_value());
    CHECK((**keys).value["keys"] == json::array({"1"}));
    CHECK(tasks["app.users:erase"].status == "pending");  // rows leading to others go last
    CHECK(SqlCount(w.app_db, "SELECT count(*) FROM events WHERE user_id = 1") == 700);
    CHECK(SqlCount(w.app_db, "SELECT count(*) FROM users WHERE id = 1") == 1);

    g_failure = {};
    auto second = Receipt(w.MakeExec()->Execute(r));
    INFO(second.status().ToString());
    REQUIRE(second.ok());
    CheckAdaErased(w, *second);
    CheckBobUntouched(w);
    CHECK(w.TasksOf("req-crash")["app.events:erase"].attempts == 2);
  }

  SECTION("failure on the last step, after the references are gone") {
    // users is erased last; when it fails, everything reachable through it is
    // already deleted, so only the persisted keys can finish the job.
    g_failure = {"users", 1, 0};
    auto first = Receipt(w.MakeExec()->Execute(r));
    REQUIRE_FALSE(first.ok());
    CHECK(SqlCount(w.app_db, "SELECT count(*) FROM events WHERE user_id = 1") == 0);
    CHECK(SqlCount(w.app_db, "SELECT count(*) FROM users WHERE id = 1") == 1);
    g_failure = {};
    auto second = Receipt(w.MakeExec()->Execute(r));
    INFO(second.status().ToString());
    REQUIRE(second.ok());
    CheckAdaErased(w, *second);
    CheckBobUntouched(w);
  }

  SECTION("a task left running by a dead worker is redone") {
    g_failure = {};
    auto first = Receipt(w.MakeExec()->Execute(r));
    REQUIRE(first.ok());
    // Pretend the worker died after deleting orders but before recording it.
    auto tasks = w.TasksOf("req-crash");
    Task t = tasks["app.orders:erase"];
    t.status = "running";
    t.rows = 0;
    t.detail["next"] = 0;
    REQUIRE(w.store->SaveTask(t).ok());
    Record keys;
    keys.kind = "erase_keys";
    keys.key = "req-crash/app.orders";
    keys.value = {{"keys", {"10", "11"}}};
    keys.created_at = Now();
    REQUIRE(w.store->PutRecord(keys).ok());
    auto second = Receipt(w.MakeExec()->Execute(r));
    REQUIRE(second.ok());
    CHECK(w.TasksOf("req-crash")["app.orders:erase"].status == "done");
    CHECK(w.TasksOf("req-crash")["app.events:erase"].attempts == 1);  // done tasks are not redone
    CheckBobUntouched(w);
  }
}

TEST_CASE("erasure: an injection attempt as the identity deletes nothing") {
  World w;
  Request r = w.NewRequest("req-evil", RequestType::kErasure, "x' OR '1'='1");
  auto res = Receipt(w.MakeExec()->Execute(r));
  REQUIRE(res.ok());
  CHECK((*res)["deleted"] == 0);
  CHECK(SqlCount(w.app_db, "SELECT count(*) FROM users") == 2);
  CHECK(SqlCount(w.app_db, "SELECT count(*) FROM events") == 1202);
}

TEST_CASE("rectification changes whitelisted fields and records names, not values") {
  World w;
  SECTION("allowed field") {
    Request r = w.NewRequest("req-rect", RequestType::kRectification, "ada@example.com",
                             {{"name", "Ada Lovelace"}, {"language", "fr"}});
    auto res = Receipt(w.MakeExec()->Execute(r));
    INFO(res.status().ToString());
    REQUIRE(res.ok());
    CHECK(SqlText(w.app_db, "SELECT name FROM users WHERE id = 1") == "Ada Lovelace");
    CHECK(SqlText(w.app_db, "SELECT language FROM users WHERE id = 1") == "fr");
    CHECK(SqlText(w.app_db, "SELECT name FROM users WHERE id = 2") == "Bob");
    CHECK((*res)["fields"] == json::array({"language", "name"}));
    CHECK((*res)["fields_changed"] == json::array({"language", "name"}));
    CHECK(CollectionResult(*res, "users")["rows"] == 1);
    CHECK(res->dump().find("Lovelace") == std::string::npos);
    CHECK((*res)["recipients_to_notify"] == json::array({"crm"}));
  }
  SECTION("a field not listed in rectify is refused, nothing changes") {
    Request r = w.NewRequest("req-rect2", RequestType::kRectification, "ada@example.com",
                             {{"name", "Eve"}, {"address", "elsewhere"}});
    auto res = Receipt(w.MakeExec()->Execute(r));
    REQUIRE_FALSE(res.ok());
    CHECK(res.status().field() == "/params/address");
    CHECK(res.status().message().find("address") != std::string::npos);
    CHECK(SqlText(w.app_db, "SELECT name FROM users WHERE id = 1") == "Ada");
  }
  SECTION("the {fields, collection} form") {
    Request r = w.NewRequest("req-rect3", RequestType::kRectification, "ada@example.com",
                             {{"collection", "app.users"}, {"fields", {{"email", "ada@new.example"}}}});
    auto res = Receipt(w.MakeExec()->Execute(r));
    REQUIRE(res.ok());
    CHECK(SqlText(w.app_db, "SELECT email FROM users WHERE id = 1") == "ada@new.example");
  }
}

TEST_CASE("restriction and objection flag rows and register the subject pseudonym") {
  World w;
  Request r = w.NewRequest("req-restrict", RequestType::kRestriction, "ada@example.com");
  auto res = Receipt(w.MakeExec()->Execute(r));
  INFO(res.status().ToString());
  REQUIRE(res.ok());
  CHECK(SqlCount(w.app_db, "SELECT restricted FROM users WHERE id = 1") == 1);
  CHECK(SqlCount(w.app_db, "SELECT restricted FROM users WHERE id = 2") == 0);
  std::string ref = Pseudonym(w.hash_key, "email", "ada@example.com");
  auto rec = w.store->GetRecord("restriction", ref);
  REQUIRE(rec.ok());
  REQUIRE(rec->has_value());
  CHECK((**rec).value["request_id"] == "req-restrict");
  CHECK((**rec).value.dump().find("ada@example.com") == std::string::npos);
  CHECK(w.TasksOf("req-restrict")["app.users:restrict"].rows == 1);

  Request o = w.NewRequest("req-object", RequestType::kObjection, "ada@example.com");
  auto ores = Receipt(w.MakeExec()->Execute(o));
  REQUIRE(ores.ok());
  auto orec = w.store->GetRecord("objection", ref);
  REQUIRE(orec.ok());
  REQUIRE(orec->has_value());
  CHECK((**orec).value["type"] == "objection");
}

TEST_CASE("erasure reaches log lines through the jsonl connector (by match, not by key)") {
  World w;
  fs::create_directories(w.dir / "logs");
  {
    std::ofstream log(w.dir / "logs/app.jsonl");
    log << R"({"user_id": 1, "email": "ada@example.com", "msg": "login"})"
        << "\n";
    log << R"({"user_id": 2, "email": "bob@example.com", "msg": "login"})"
        << "\n";
    log << R"({"user_id": 1, "msg": "click"})"
        << "\n";
    log << R"({"email": "ada@example.com", "msg": "reset"})"
        << "\n";
  }
  w.config.connectors.push_back(json::parse(R"({"name": "logs", "type": "jsonl", "files": "logs/*.jsonl",
      "match": {"user_id": "{app.users.id}", "email": "{identity.email}"}, "erase": "drop"})"));
  // A stale staging directory of a dead export must not survive the next one.
  fs::create_directories(w.dir / "exports/.staging-req-logs-access-99999");
  // Nor the temp files of a zip that was being written when the worker died
  // (ours, and libzip's own beside it), while another request's stay.
  std::ofstream(w.dir / "exports/req-logs-access.zip.tmp-99999") << "partial";
  std::ofstream(w.dir / "exports/req-logs-access.zip.tmp-99999.aB3xYz") << "partial";
  std::ofstream(w.dir / "exports/req-logs-access-2.zip.tmp-99999.aB3xYz") << "other request";

  Request a = w.NewRequest("req-logs-access", RequestType::kAccess, "ada@example.com");
  auto exported = Receipt(w.MakeExec()->Execute(a));
  INFO(exported.status().ToString());
  REQUIRE(exported.ok());
  CHECK_FALSE(fs::exists(w.dir / "exports/.staging-req-logs-access-99999"));
  CHECK_FALSE(fs::exists(w.dir / "exports/req-logs-access.zip.tmp-99999"));
  CHECK_FALSE(fs::exists(w.dir / "exports/req-logs-access.zip.tmp-99999.aB3xYz"));
  CHECK(fs::exists(w.dir / "exports/req-logs-access-2.zip.tmp-99999.aB3xYz"));

  Request r = w.NewRequest("req-logs", RequestType::kErasure, "ada@example.com");
  auto res = Receipt(w.MakeExec()->Execute(r));
  INFO(res.status().ToString());
  REQUIRE(res.ok());
  json lines = CollectionResult(*res, "lines");
  CHECK(lines["action"] == "drop");
  CHECK(lines["rows"] == 3);
  CHECK(lines["remaining"] == 0);
  std::ifstream in(w.dir / "logs/app.jsonl");
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(content.find("ada@example.com") == std::string::npos);
  CHECK(content.find("bob@example.com") != std::string::npos);
  CheckBobUntouched(w);
}

TEST_CASE("sqlite-vec vec0 tables: exported as float arrays (or omitted), erased by rowid") {
  // scripts/services.sh (run by `make test`) installs sqlite-vec and names
  // it in LETHE_SQLITE_VEC. A missing extension is a failure, never a skip:
  // a skipped vector-store test would hide a broken vector connector.
  const char* env_vec = std::getenv("LETHE_SQLITE_VEC");
  const char* src = std::getenv("LETHE_SOURCE_DIR");
  fs::path vec = env_vec
                     ? fs::path(env_vec)
                     : fs::path(src ? src : "/work/main") / "tests/services/node_modules/sqlite-vec-linux-x64/vec0.so";
  REQUIRE(fs::exists(vec));
  World w;
  {
    sqlite3* h = nullptr;
    REQUIRE(sqlite3_open(w.app_db.c_str(), &h) == SQLITE_OK);
    sqlite3_enable_load_extension(h, 1);
    char* err = nullptr;
    REQUIRE(sqlite3_load_extension(h, vec.c_str(), nullptr, &err) == SQLITE_OK);
    REQUIRE(sqlite3_exec(h,
                         "CREATE VIRTUAL TABLE cv_chunks USING vec0(user_id integer, chunk text, embedding float[2]);"
                         "INSERT INTO cv_chunks(rowid, user_id, chunk, embedding) VALUES "
                         "(1, 1, 'ada chunk 1', '[0.25, -1.5]'), (2, 1, 'ada chunk 2', '[1, 2]'), "
                         "(3, 2, 'bob chunk', '[3, 4]');",
                         nullptr, nullptr, &err) == SQLITE_OK);
    sqlite3_close(h);
  }
  w.config.connectors[0]["extensions"] = {vec.string()};
  w.config.connectors[0]["collections"].push_back(
      {{"name", "cv_chunks"}, {"references", {{"user_id", "users.id"}}}, {"portable", true}, {"erase", "delete"}});

  Request a = w.NewRequest("req-vec", RequestType::kPortability, "ada@example.com");
  auto res = Receipt(w.MakeExec()->Execute(a));
  INFO(res.status().ToString());
  REQUIRE(res.ok());
  int err = 0;
  zip_t* za = zip_open((*res)["export_path"].get<std::string>().c_str(), ZIP_RDONLY, &err);
  REQUIRE(za != nullptr);
  json chunks = json::parse(ReadEntry(za, "data/app/cv_chunks.json"));
  zip_close(za);
  REQUIRE(chunks.size() == 2);
  for (const auto& c : chunks) {
    REQUIRE(c["embedding"].is_array());
    if (c["chunk"] == "ada chunk 1") CHECK(c["embedding"] == json::parse("[0.25, -1.5]"));
  }

  w.config.connectors[0]["collections"].back()["omit"] = {"embedding"};
  Request b = w.NewRequest("req-vec2", RequestType::kAccess, "ada@example.com");
  res = Receipt(w.MakeExec()->Execute(b));
  REQUIRE(res.ok());
  za = zip_open((*res)["export_path"].get<std::string>().c_str(), ZIP_RDONLY, &err);
  REQUIRE(za != nullptr);
  chunks = json::parse(ReadEntry(za, "data/app/cv_chunks.json"));
  zip_close(za);
  REQUIRE(chunks.size() == 2);
  CHECK_FALSE(chunks[0].contains("embedding"));
  CHECK(chunks[0].contains("chunk"));

  Request e = w.NewRequest("req-vec3", RequestType::kErasure, "ada@example.com");
  res = Receipt(w.MakeExec()->Execute(e));
  INFO(res.status().ToString());
  REQUIRE(res.ok());
  CHECK(CollectionResult(*res, "cv_chunks")["rows"] == 2);
  CHECK(CollectionResult(*res, "cv_chunks")["remaining"] == 0);
  // vec0 keeps its rowids in a plain shadow table: bob's chunk (rowid 3) stays.
  CHECK(SqlCount(w.app_db, "SELECT count(*) FROM cv_chunks_rowids") == 1);
  CHECK(SqlCount(w.app_db, "SELECT rowid FROM cv_chunks_rowids") == 3);
  CheckBobUntouched(w);
}

#include <sys/resource.h>

// Big worlds run in a process of their own (ctest's exec_tests_big; the
// main run leaves them out with ~[big]), so the peak-memory check measures
// this export alone: memory stays flat while a large collection streams.
TEST_CASE("export of a large collection keeps memory flat", "[big]") {
  World w;
  SqlExec(w.app_db,
          "WITH RECURSIVE n(i) AS (SELECT 100000 UNION ALL SELECT i+1 FROM n WHERE i < 499999) "
          "INSERT INTO events SELECT i, 1, printf('%0100d', i) FROM n;");
  Request r = w.NewRequest("req-big", RequestType::kAccess, "ada@example.com");
  auto ex = w.MakeExec();
  rusage before{};
  getrusage(RUSAGE_SELF, &before);
  auto res = Receipt(ex->Execute(r));
  REQUIRE(res.ok());
  rusage after{};
  getrusage(RUSAGE_SELF, &after);
  CHECK((*res)["records"].get<int64_t>() > 400000);
  long grown_kb = after.ru_maxrss - before.ru_maxrss;
  INFO("max RSS grew by " << grown_kb << " KiB for " << (*res)["records"] << " records, zip "
                          << fs::file_size((*res)["export_path"].get<std::string>()) << " bytes");
#ifndef LETHE_SANITIZE  // ASan's shadow memory and quarantine make peak RSS meaningless
  CHECK(grown_kb < 64 * 1024);
#endif
}

// A large erasure runs in bounded batches.
TEST_CASE("erasure of a large collection", "[big]") {
  World w;
  SqlExec(w.app_db,
          "WITH RECURSIVE n(i) AS (SELECT 100000 UNION ALL SELECT i+1 FROM n WHERE i < 299999) "
          "INSERT INTO events SELECT i, 1, 'x' FROM n;");
  Request r = w.NewRequest("req-big-erase", RequestType::kErasure, "ada@example.com");
  auto res = Receipt(w.MakeExec()->Execute(r));
  INFO(res.status().ToString());
  REQUIRE(res.ok());
  CHECK(CollectionResult(*res, "events")["rows"] == 200000 + 1200);
  CheckBobUntouched(w);
}

TEST_CASE("a failed export leaves nothing at the final path and no staging files") {
  World w;
  RegisterFlaky();
  w.config.connectors[0] = AppConnector("flaky_sqlite");
  Request r = w.NewRequest("req-fail-export", RequestType::kAccess, "ada@example.com");
  g_failure = {};
  g_failure.collection = "events";
  g_failure.fail_on_item = 700;  // half-way through a collection being streamed
  auto res = Receipt(w.MakeExec()->Execute(r));
  g_failure = {};
  REQUIRE_FALSE(res.ok());
  CHECK(res.status().code() == Code::kUnavailable);
  CHECK_FALSE(fs::exists(w.dir / "exports/req-fail-export.zip"));
  size_t entries = 0;
  for (const auto& e : fs::directory_iterator(w.dir / "exports")) {
    ++entries;
    FAIL("left behind: " << e.path());
  }
  CHECK(entries == 0);
  // The retry publishes a complete export.
  auto again = Receipt(w.MakeExec()->Execute(r));
  REQUIRE(again.ok());
  CHECK((*again)["records"] == 1 + 2 + 3 + 1200 + 1 + 1 + 2);
}
