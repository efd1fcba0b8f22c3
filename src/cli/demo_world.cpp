#include "cli/demo_world.h"

#include <sqlite3.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string_view>
#include <variant>
#include <vector>

namespace lethe::cli {
namespace fs = std::filesystem;

namespace {

// A value bound to a statement parameter. Every piece of data goes in through
// sqlite3_bind_*, never through SQL text.
using Value = std::variant<std::nullptr_t, int64_t, double, std::string, std::vector<float>>;

class Db {
 public:
  ~Db() {
    if (db_) sqlite3_close(db_);
  }
  Status Open(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK) {
      return Status::Io(path + ": " + (db_ ? sqlite3_errmsg(db_) : "cannot open"));
    }
    return Status::Ok();
  }
  Status LoadExtension(const std::string& path) {
    sqlite3_db_config(db_, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 1, nullptr);
    char* err = nullptr;
    if (sqlite3_load_extension(db_, path.c_str(), nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "unknown error";
      sqlite3_free(err);
      return Status::Io(path + ": " + msg);
    }
    return Status::Ok();
  }
  Status Exec(const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "unknown error";
      sqlite3_free(err);
      return Status::Io("app.db: " + msg);
    }
    return Status::Ok();
  }
  // Inserts one row per entry of `rows` with a prepared statement.
  Status Insert(const std::string& sql, const std::vector<std::vector<Value>>& rows) {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &raw, nullptr) != SQLITE_OK) {
      return Status::Io("app.db: " + std::string(sqlite3_errmsg(db_)));
    }
    std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)> st(raw, sqlite3_finalize);
    for (const auto& row : rows) {
      sqlite3_reset(st.get());
      sqlite3_clear_bindings(st.get());
      for (size_t i = 0; i < row.size(); ++i) {
        int idx = static_cast<int>(i) + 1;
        const Value& v = row[i];
        if (std::holds_alternative<int64_t>(v)) {
          sqlite3_bind_int64(st.get(), idx, std::get<int64_t>(v));
        } else if (std::holds_alternative<double>(v)) {
          sqlite3_bind_double(st.get(), idx, std::get<double>(v));
        } else if (std::holds_alternative<std::string>(v)) {
          const auto& s = std::get<std::string>(v);
          sqlite3_bind_text(st.get(), idx, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
        } else if (std::holds_alternative<std::vector<float>>(v)) {
          // sqlite-vec takes float32 vectors as little-endian blobs.
          const auto& f = std::get<std::vector<float>>(v);
          sqlite3_bind_blob(st.get(), idx, f.data(), static_cast<int>(f.size() * sizeof(float)), SQLITE_TRANSIENT);
        } else {
          sqlite3_bind_null(st.get(), idx);
        }
      }
      if (sqlite3_step(st.get()) != SQLITE_DONE) {
        return Status::Io("app.db: " + std::string(sqlite3_errmsg(db_)));
      }
    }
    return Status::Ok();
  }

 private:
  sqlite3* db_ = nullptr;
};

Status WriteFile(const fs::path& p, std::string_view bytes) {
  std::error_code ec;
  fs::create_directories(p.parent_path(), ec);
  if (ec) return Status::Io(p.parent_path().string() + ": " + ec.message());
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) return Status::Io(p.string() + ": write failed");
  return Status::Ok();
}

const char* kSchema = R"sql(
CREATE TABLE users (
  id INTEGER PRIMARY KEY,
  email TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  language TEXT NOT NULL DEFAULT 'en',
  plan TEXT NOT NULL DEFAULT 'free',
  created_at TEXT NOT NULL,
  restricted INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE documents (
  id INTEGER PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id),
  title TEXT NOT NULL,
  body TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE TABLE drafts (
  id INTEGER PRIMARY KEY,
  document_id INTEGER NOT NULL REFERENCES documents(id),
  body TEXT NOT NULL,
  saved_at TEXT NOT NULL
);
CREATE TABLE diary (
  id INTEGER PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id),
  entry_date TEXT NOT NULL,
  mood TEXT,
  text TEXT NOT NULL
);
CREATE TABLE calendar_events (
  id INTEGER PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id),
  title TEXT NOT NULL,
  starts_at TEXT NOT NULL,
  ends_at TEXT NOT NULL,
  location TEXT
);
CREATE TABLE invoices (
  id INTEGER PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id),
  number TEXT NOT NULL UNIQUE,
  name TEXT,
  address TEXT,
  email TEXT,
  amount_cents INTEGER NOT NULL,
  currency TEXT NOT NULL,
  issued_at TEXT NOT NULL
);
)sql";

struct DemoUser {
  int64_t id;
  const char* email;
  const char* name;
  const char* language;
  const char* plan;
  const char* address;
};

// Ada (42) is the demo subject; the others are there so that every test can
// check that only the subject's data is touched.
const DemoUser kUsers[] = {
    {42, "ada@example.com", "Ada Lovelace", "en", "pro", "12 St James's Square, London"},
    {43, "grace@example.com", "Grace Hopper", "en", "team", "1 Navy Way, Arlington VA"},
    {44, "alan@example.com", "Alan Turing", "en", "free", "Hollymeade, Wilmslow"},
    {45, "katherine@example.com", "Katherine Johnson", "en", "pro", "Langley Blvd 3, Hampton VA"},
    {46, "emmy@example.com", "Emmy Noether", "de", "free", "Weender Str. 7, Göttingen"},
};

std::vector<float> Embedding(int64_t seed) {
  // Deterministic, unit-ish vectors: enough for a real vec0 table.
  std::vector<float> v(8);
  for (int i = 0; i < 8; ++i) v[i] = static_cast<float>(((seed * 31 + i * 17) % 100) / 100.0);
  return v;
}

Status BuildDatabase(const fs::path& db_path, const std::string& vec0_path) {
  Db db;
  if (Status st = db.Open(db_path.string()); !st.ok()) return st;
  if (Status st = db.Exec("PRAGMA foreign_keys=ON; BEGIN;"); !st.ok()) return st;
  if (Status st = db.Exec(kSchema); !st.ok()) return st;

  std::vector<std::vector<Value>> users;
  for (const auto& u : kUsers) {
    users.push_back({u.id, std::string(u.email), std::string(u.name), std::string(u.language), std::string(u.plan),
                     std::string("2023-0") + std::to_string(u.id - 40) + "-15T09:30:00Z"});
  }
  if (Status st =
          db.Insert("INSERT INTO users(id, email, name, language, plan, created_at) VALUES (?,?,?,?,?,?)", users);
      !st.ok()) {
    return st;
  }

  std::vector<std::vector<Value>> documents = {
      {int64_t{101}, int64_t{42}, std::string("Notes on the Analytical Engine"),
       std::string("The engine might compose elaborate pieces of music."), std::string("2025-02-01T10:00:00Z")},
      {int64_t{102}, int64_t{42}, std::string("Bernoulli numbers, note G"),
       std::string("A table of operations for computing B7."), std::string("2025-03-12T16:20:00Z")},
      {int64_t{103}, int64_t{42}, std::string("Letter to Mr Babbage"),
       std::string("I have a plan for the translation of Menabrea's memoir."), std::string("2025-06-30T08:05:00Z")},
      {int64_t{104}, int64_t{43}, std::string("COBOL design notes"),
       std::string("Data division first; procedure division after."), std::string("2025-01-20T11:00:00Z")},
      {int64_t{105}, int64_t{44}, std::string("On computable numbers"),
       std::string("A machine with a finite number of conditions."), std::string("2025-04-02T13:45:00Z")},
      {int64_t{106}, int64_t{45}, std::string("Trajectory tables"), std::string("Re-entry window for Friendship 7."),
       std::string("2025-05-05T07:15:00Z")},
  };
  if (Status st =
          db.Insert("INSERT INTO documents(id, user_id, title, body, created_at) VALUES (?,?,?,?,?)", documents);
      !st.ok()) {
    return st;
  }

  std::vector<std::vector<Value>> drafts = {
      {int64_t{201}, int64_t{101}, std::string("Draft: the engine weaves algebraic patterns"),
       std::string("2025-02-02T09:00:00Z")},
      {int64_t{202}, int64_t{101}, std::string("Draft: second attempt at note A"), std::string("2025-02-03T21:40:00Z")},
      {int64_t{203}, int64_t{103}, std::string("Draft: Dear Mr Babbage, ..."), std::string("2025-06-29T22:10:00Z")},
      {int64_t{204}, int64_t{104}, std::string("Draft: English-like syntax"), std::string("2025-01-19T18:00:00Z")},
  };
  if (Status st = db.Insert("INSERT INTO drafts(id, document_id, body, saved_at) VALUES (?,?,?,?)", drafts); !st.ok()) {
    return st;
  }

  std::vector<std::vector<Value>> diary = {
      {int64_t{301}, int64_t{42}, std::string("2025-09-01"), std::string("hopeful"),
       std::string("Finished the table for the Bernoulli numbers.")},
      {int64_t{302}, int64_t{42}, std::string("2025-09-02"), std::string("tired"),
       std::string("Long letter exchange about the notes; headache.")},
      {int64_t{303}, int64_t{42}, std::string("2025-09-05"), nullptr,
       std::string("Walked by the river; ideas about a calculus of the nervous system.")},
      {int64_t{304}, int64_t{43}, std::string("2025-09-03"), std::string("busy"),
       std::string("Found a moth in relay 70.")},
  };
  if (Status st = db.Insert("INSERT INTO diary(id, user_id, entry_date, mood, text) VALUES (?,?,?,?,?)", diary);
      !st.ok()) {
    return st;
  }

  std::vector<std::vector<Value>> events = {
      {int64_t{401}, int64_t{42}, std::string("Dinner with the Somervilles"), std::string("2026-12-03T18:30:00Z"),
       std::string("2026-12-03T21:00:00Z"), std::string("Chelsea")},
      {int64_t{402}, int64_t{42}, std::string("Royal Society lecture"), std::string("2026-12-10T15:00:00Z"),
       std::string("2026-12-10T17:00:00Z"), std::string("Burlington House")},
      {int64_t{403}, int64_t{43}, std::string("Compiler review"), std::string("2026-12-04T14:00:00Z"),
       std::string("2026-12-04T15:00:00Z"), nullptr},
      {int64_t{404}, int64_t{44}, std::string("Run, Ely and back"), std::string("2026-12-06T07:00:00Z"),
       std::string("2026-12-06T10:00:00Z"), std::string("Cambridge")},
  };
  if (Status st = db.Insert(
          "INSERT INTO calendar_events(id, user_id, title, starts_at, ends_at, location) VALUES (?,?,?,?,?,?)", events);
      !st.ok()) {
    return st;
  }

  // Invoices are kept for seven years from issue (tax law): an erasure masks
  // the personal fields instead of deleting them. The 2018 one is older.
  std::vector<std::vector<Value>> invoices;
  int64_t inv_id = 501;
  for (const auto& u : kUsers) {
    if (std::string_view(u.plan) == "free") continue;
    for (const char* issued : {"2025-01-31T12:00:00Z", "2025-02-28T12:00:00Z"}) {
      invoices.push_back({inv_id, u.id, "INV-" + std::to_string(inv_id), std::string(u.name), std::string(u.address),
                          std::string(u.email), int64_t{1900}, std::string("EUR"), std::string(issued)});
      ++inv_id;
    }
  }
  invoices.push_back({inv_id, int64_t{42}, "INV-" + std::to_string(inv_id), std::string("Ada Lovelace"),
                      std::string("12 St James's Square, London"), std::string("ada@example.com"), int64_t{900},
                      std::string("EUR"), std::string("2018-03-31T12:00:00Z")});
  if (Status st = db.Insert(
          "INSERT INTO invoices(id, user_id, number, name, address, email, amount_cents, currency, issued_at) "
          "VALUES (?,?,?,?,?,?,?,?,?)",
          invoices);
      !st.ok()) {
    return st;
  }

  if (!vec0_path.empty()) {
    if (Status st = db.LoadExtension(vec0_path); !st.ok()) return st;
    // A vec0 table of document embeddings, with user_id as a metadata column
    // so the data graph can tie its rows to the subject.
    if (Status st = db.Exec("CREATE VIRTUAL TABLE doc_embeddings USING vec0("
                            "document_id INTEGER PRIMARY KEY, user_id INTEGER, embedding float[8])");
        !st.ok()) {
      return st;
    }
    std::vector<std::vector<Value>> vecs;
    for (const auto& d : documents) {
      vecs.push_back({d[0], d[1], Embedding(std::get<int64_t>(d[0]))});
    }
    if (Status st = db.Insert("INSERT INTO doc_embeddings(document_id, user_id, embedding) VALUES (?,?,?)", vecs);
        !st.ok()) {
      return st;
    }
  }
  return db.Exec("COMMIT;");
}

// A 1x1 PNG: uploads should look like real files to a reader of the export.
const unsigned char kPng[] = {0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48,
                              0x44, 0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00,
                              0x00, 0x1F, 0x15, 0xC4, 0x89, 0x00, 0x00, 0x00, 0x0A, 0x49, 0x44, 0x41, 0x54, 0x78,
                              0x9C, 0x63, 0x00, 0x01, 0x00, 0x00, 0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00,
                              0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82};

Status BuildFiles(const fs::path& root) {
  std::string png(reinterpret_cast<const char*>(kPng), sizeof(kPng));
  struct F {
    const char* path;
    std::string bytes;
  };
  const F files[] = {
      {"42/avatar.png", png},
      {"42/uploads/notes-on-the-engine.txt", "Notes by the translator, A to G.\n"},
      {"42/uploads/portrait-request.txt", "Please send the portrait by Chalon to the printer.\n"},
      {"43/avatar.png", png},
      {"43/uploads/bug-report.txt", "First actual case of bug being found.\n"},
      {"44/uploads/morphogenesis.txt", "Reaction-diffusion notes.\n"},
      {"420/uploads/not-ada.txt", "User 420: a prefix match on 42 would wrongly find this.\n"},
  };
  for (const auto& f : files) {
    if (Status st = WriteFile(root / f.path, f.bytes); !st.ok()) return st;
  }
  return Status::Ok();
}

Status BuildLogs(const fs::path& logs) {
  std::string traces;
  struct T {
    int64_t user_id;
    const char* email;
    const char* prompt;
    const char* completion;
    const char* ip;
    const char* ts;
  };
  const T rows[] = {
      {42, "ada@example.com", "Summarise my note G", "Note G computes Bernoulli numbers.", "203.0.113.42",
       "2025-09-01T10:00:00Z"},
      {43, "grace@example.com", "Explain COBOL PICTURE clauses", "PICTURE describes a field's format.", "198.51.100.43",
       "2025-09-01T10:05:00Z"},
      {42, "ada@example.com", "Draft a letter to Mr Babbage", "Dear Mr Babbage, ...", "203.0.113.42",
       "2025-09-02T08:30:00Z"},
      {44, "alan@example.com", "Is this number computable?", "That depends on the machine.", "192.0.2.44",
       "2025-09-03T12:00:00Z"},
  };
  int n = 0;
  for (const auto& r : rows) {
    nlohmann::json line = {{"ts", r.ts},
                           {"trace_id", "tr-" + std::to_string(++n)},
                           {"user_id", r.user_id},
                           {"email", r.email},
                           {"model", "demo-llm-1"},
                           {"prompt", r.prompt},
                           {"completion", r.completion},
                           {"ip", r.ip}};
    traces += line.dump() + "\n";
  }
  if (Status st = WriteFile(logs / "llm-traces.jsonl", traces); !st.ok()) return st;

  std::string audit;
  const char* kinds[] = {"login", "document.create", "export.download", "login", "password.change"};
  int i = 0;
  for (const auto& u : kUsers) {
    for (int k = 0; k < 2; ++k) {
      nlohmann::json line = {{"ts", "2025-10-0" + std::to_string(k + 1) + "T09:0" + std::to_string(i % 10) + ":00Z"},
                             {"event", kinds[(i + k) % 5]},
                             {"user_id", u.id},
                             {"email", u.email},
                             {"ip", "198.51.100." + std::to_string(u.id)}};
      audit += line.dump() + "\n";
    }
    ++i;
  }
  return WriteFile(logs / "app-audit.jsonl", audit);
}

}  // namespace

Status BuildDemoWorld(const DemoWorldOptions& opts) {
  fs::path dir(opts.dir);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::Io(opts.dir + ": " + ec.message());
  fs::path db = dir / "app.db";
  if (fs::exists(db)) return Status::Invalid(db.string() + ": already exists");
  if (Status st = BuildDatabase(db, opts.vec0_path); !st.ok()) {
    fs::remove(db, ec);  // no half-built world left to be "reused" next time
    return st;
  }
  if (Status st = BuildFiles(dir / "files"); !st.ok()) return st;
  return BuildLogs(dir / "logs");
}

nlohmann::json DemoConfig(const DemoWorldOptions& opts, const std::string& listen,
                          const std::string& operator_key_sha256) {
  using nlohmann::json;
  json app_collections = json::array({
      {{"name", "users"},
       {"primary_key", "id"},
       {"identity", {{"email", "email"}, {"user_id", "id"}}},
       {"categories", {"identity", "contact"}},
       {"purpose", "account"},
       {"portable", true},
       {"erase", "delete"},
       {"rectify", {"name", "email", "language"}},
       {"restrict", {{"set", {{"restricted", 1}}}}}},
      {{"name", "documents"},
       {"primary_key", "id"},
       {"references", {{"user_id", "users.id"}}},
       {"categories", {"content"}},
       {"purpose", "service"},
       {"portable", true},
       {"erase", "delete"}},
      {{"name", "drafts"},
       {"primary_key", "id"},
       {"references", {{"document_id", "documents.id"}}},
       {"categories", {"content"}},
       {"purpose", "service"},
       {"portable", true},
       {"erase", "delete"}},
      {{"name", "diary"},
       {"primary_key", "id"},
       {"references", {{"user_id", "users.id"}}},
       {"categories", {"content", "health"}},
       {"purpose", "service"},
       {"portable", true},
       {"erase", "delete"}},
      {{"name", "calendar_events"},
       {"primary_key", "id"},
       {"references", {{"user_id", "users.id"}}},
       {"categories", {"content", "location"}},
       {"purpose", "service"},
       {"portable", true},
       {"erase", "delete"}},
      {{"name", "invoices"},
       {"primary_key", "id"},
       {"references", {{"user_id", "users.id"}}},
       {"categories", {"billing"}},
       {"purpose", "billing"},
       {"retain", {{"basis", "legal_obligation"}, {"note", "EU tax law"}, {"period", "P7Y"}, {"from", "issued_at"}}},
       {"erase", {{"mask", {{"name", "null"}, {"address", "redact"}, {"email", "hash"}}}}}},
  });
  json app = {{"name", "app"}, {"type", "sqlite"}, {"path", "app.db"}, {"collections", app_collections}};
  if (!opts.vec0_path.empty()) {
    app["extensions"] = json::array({opts.vec0_path});
    app["collections"].push_back({{"name", "doc_embeddings"},
                                  {"primary_key", "document_id"},
                                  {"references", {{"user_id", "users.id"}}},
                                  {"categories", {"derived"}},
                                  {"purpose", "search"},
                                  {"erase", "delete"}});
  }
  json connectors = json::array({
      app,
      {{"name", "uploads"},
       {"type", "filesystem"},
       {"root", "files"},
       {"objects", json::array({{{"prefix", "{app.users.id}/"}, {"categories", {"uploads"}}, {"portable", true}}})}},
      {{"name", "llm_traces"},
       {"type", "jsonl"},
       {"files", "logs/llm-*.jsonl"},
       {"match", {{"user_id", "{app.users.id}"}, {"email", "{identity.email}"}}},
       {"erase", "drop"}},
      {{"name", "app_audit_log"},
       {"type", "jsonl"},
       {"files", "logs/app-audit*.jsonl"},
       {"match", {{"user_id", "{app.users.id}"}, {"email", "{identity.email}"}}},
       {"erase", {{"redact", {"email", "ip"}}}}},
  });
  return json{
      {"listen", listen},
      {"public_url", DemoPublicUrl(listen)},
      {"store", {{"sqlite", "lethe.db"}}},
      {"timezone", "Europe/Berlin"},
      {"holidays", {"2026-12-24", "2026-12-25", "2026-12-26", "2026-12-31", "2027-01-01"}},
      {"default_regulation", "gdpr"},
      {"operators", json::array({{{"name", "demo"}, {"role", "admin"}, {"key_sha256", operator_key_sha256}}})},
      {"self_service",
       {{"jwt", {{"hs256_secret_env", kDemoJwtSecretEnv}, {"issuer", kDemoIssuer}, {"audience", kDemoAudience}}},
        {"auto_approve", {"access", "portability", "erasure"}},
        {"erasure_grace", "PT2M"}}},
      {"exports", {{"dir", "exports"}, {"link_ttl", "P7D"}, {"keep", "P30D"}}},
      {"audit", {{"pseudonym_key_env", kDemoAuditKeyEnv}}},
      {"connectors", connectors},
  };
}

std::string DemoPublicUrl(const std::string& listen) {
  // Listening on every interface still means a browser here uses loopback.
  std::string shown = listen;
  if (shown.starts_with("0.0.0.0:")) shown = "127.0.0.1:" + shown.substr(8);
  if (shown.starts_with(":")) shown = "127.0.0.1" + shown;
  return "http://" + shown;
}

std::string FindSqliteVec() {
  if (const char* env = std::getenv("LETHE_SQLITE_VEC"); env && *env) {
    return fs::exists(env) ? fs::absolute(env).string() : "";
  }
  const fs::path rel = "tests/services/node_modules/sqlite-vec-linux-x64/vec0.so";
  std::vector<fs::path> roots;
  if (const char* src = std::getenv("LETHE_SOURCE_DIR"); src && *src) roots.emplace_back(src);
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    roots.push_back(exe.parent_path().parent_path());  // build/lethe -> source dir
    roots.push_back(exe.parent_path());
  }
  roots.push_back(fs::current_path(ec));
  for (const auto& r : roots) {
    fs::path p = r / rel;
    if (fs::exists(p, ec)) return fs::weakly_canonical(p, ec).string();
  }
  return "";
}

}  // namespace lethe::cli
