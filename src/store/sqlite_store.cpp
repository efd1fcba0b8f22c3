// The SQLite Store. One connection guarded by a mutex: SQLite serializes
// writers anyway, and one connection keeps transactions simple. WAL lets the
// CLI read (and write, after busy waits) while a server runs.
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <sstream>
#include <tuple>

#include <spdlog/spdlog.h>

#include "lethe/store.h"
#include "store/sqlite_db.h"

namespace lethe {
namespace {

using nlohmann::json;
using sqlite::Exec;
using sqlite::Stmt;

// Versioned migrations: entry i brings the schema from version i to i+1.
// Never edit a shipped entry; append a new one.
const char* const kMigrations[] = {
    R"SQL(
CREATE TABLE requests (
  id TEXT PRIMARY KEY,
  type TEXT NOT NULL,
  status TEXT NOT NULL,
  regulation TEXT NOT NULL,
  custom_sla TEXT NOT NULL DEFAULT '',
  channel TEXT NOT NULL,
  subject TEXT NOT NULL,            -- JSON; PII, needed to act on the request
  email TEXT NOT NULL DEFAULT '',   -- copied out of subject for search
  user_id TEXT NOT NULL DEFAULT '',
  owner TEXT NOT NULL DEFAULT '',
  verified INTEGER NOT NULL,
  received_at INTEGER NOT NULL,
  due_at INTEGER NOT NULL,
  due_date TEXT NOT NULL,
  extended INTEGER NOT NULL DEFAULT 0,
  extension_reason TEXT NOT NULL DEFAULT '',
  paused_seconds INTEGER NOT NULL DEFAULT 0,
  hold_since INTEGER,
  status_before_hold TEXT NOT NULL DEFAULT 'pending',
  hold_reason TEXT NOT NULL DEFAULT '',
  assignee TEXT,
  not_before INTEGER,
  completed_at INTEGER,
  note TEXT NOT NULL DEFAULT '',
  params TEXT NOT NULL DEFAULT '{}',
  result TEXT NOT NULL DEFAULT '{}',
  export_path TEXT NOT NULL DEFAULT '',
  external_id TEXT NOT NULL DEFAULT '',
  callbacks TEXT NOT NULL DEFAULT '[]',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  version INTEGER NOT NULL
);
-- The inbox sorts by due date and filters by status and assignee.
CREATE INDEX requests_due ON requests(due_at, id);
CREATE INDEX requests_status_due ON requests(status, due_at, id);
CREATE INDEX requests_assignee_due ON requests(assignee, due_at, id);
CREATE INDEX requests_owner_due ON requests(owner, due_at, id);
CREATE INDEX requests_external ON requests(external_id);

CREATE TABLE events (
  id INTEGER PRIMARY KEY,
  request_id TEXT NOT NULL REFERENCES requests(id),
  at INTEGER NOT NULL,
  kind TEXT NOT NULL,
  actor TEXT NOT NULL,
  reason TEXT NOT NULL DEFAULT '',
  from_status TEXT NOT NULL DEFAULT '',
  to_status TEXT NOT NULL DEFAULT ''
);
CREATE INDEX events_request ON events(request_id, id);

CREATE TABLE tasks (
  id INTEGER PRIMARY KEY,
  request_id TEXT NOT NULL REFERENCES requests(id),
  connector TEXT NOT NULL,
  collection TEXT NOT NULL,
  action TEXT NOT NULL,
  status TEXT NOT NULL,
  rows INTEGER NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0,
  error TEXT NOT NULL DEFAULT '',
  detail TEXT NOT NULL DEFAULT '{}',
  updated_at INTEGER NOT NULL,
  UNIQUE (request_id, connector, collection, action)
);

CREATE TABLE audit (
  seq INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  request_id TEXT NOT NULL DEFAULT '',
  kind TEXT NOT NULL,
  actor TEXT NOT NULL,
  subject_ref TEXT NOT NULL DEFAULT '',
  detail TEXT NOT NULL DEFAULT '{}',
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE INDEX audit_request ON audit(request_id, seq);
-- Append-only: the engine never changes an entry. (Someone with the file can
-- drop these triggers; the hash chain is what detects that.)
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;

CREATE TABLE records (
  kind TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  due_at INTEGER,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (kind, key)
);
CREATE INDEX records_due ON records(kind, due_at);
)SQL",
    // 2: leases (contract §1). Which process runs a request and until when;
    // NULL means nobody. lease_until is unix seconds.
    R"SQL(
ALTER TABLE requests ADD COLUMN lease_owner TEXT;
ALTER TABLE requests ADD COLUMN lease_until INTEGER;
)SQL",
};

constexpr const char* kRequestColumns =
    "id, type, status, regulation, custom_sla, channel, subject, owner, verified, received_at, due_at, due_date, "
    "extended, extension_reason, paused_seconds, hold_since, status_before_hold, hold_reason, assignee, not_before, "
    "completed_at, note, params, result, export_path, external_id, callbacks, created_at, updated_at, version";

// The subject column also holds which identity kinds were proved ("proved"):
// kinds are not PII, and keeping them beside the values they qualify needs no
// schema change.
json SubjectToJson(const Subject& s, const std::set<std::string>& proved) {
  json j = {{"email", s.email}, {"user_id", s.user_id}, {"phone", s.phone}, {"custom", s.custom}, {"proved", proved}};
  return j;
}

// Rows written before identities were proved one by one carry no "proved":
// a verified one was verified for everything it claimed.
std::set<std::string> ProvedFromJson(const json& j, const Subject& s, bool verified) {
  std::set<std::string> out;
  if (j.contains("proved") && j["proved"].is_array()) {
    for (const auto& k : j["proved"])
      if (k.is_string()) out.insert(k.get<std::string>());
  } else if (verified) {
    for (const std::string& k : s.Kinds()) out.insert(k);
  }
  return out;
}

Subject SubjectFromJson(const json& j) {
  Subject s;
  s.email = j.value("email", "");
  s.user_id = j.value("user_id", "");
  s.phone = j.value("phone", "");
  if (j.contains("custom")) s.custom = j["custom"].get<std::map<std::string, std::string>>();
  return s;
}

std::optional<int64_t> OptTime(const std::optional<Time>& t) {
  return t ? std::optional<int64_t>(ToUnix(*t)) : std::nullopt;
}

json ParseJsonOr(const std::string& text, json fallback) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  return j.is_discarded() ? fallback : j;
}

void ScrubStrings(json& j, const std::function<std::string(const std::string&)>& scrub) {
  if (j.is_string()) {
    j = scrub(j.get<std::string>());
  } else if (j.is_object() || j.is_array()) {
    for (auto& v : j) ScrubStrings(v, scrub);
  }
}

// JSON text scrubbed value by value (so a short identity never edits a key
// or a number); text that is not JSON is scrubbed as a whole.
std::string ScrubJsonText(const std::string& text, const std::function<std::string(const std::string&)>& scrub) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return scrub(text);
  json before = j;
  ScrubStrings(j, scrub);
  return j == before ? text : j.dump();
}

Request ReadRequest(const Stmt& s) {
  Request r;
  int c = 0;
  r.id = s.Text(c++);
  r.type = ParseRequestType(s.Text(c++)).value_or(RequestType::kAccess);
  r.status = ParseRequestStatus(s.Text(c++)).value_or(RequestStatus::kPending);
  r.regulation = ParseRegulation(s.Text(c++)).value_or(Regulation::kGdpr);
  r.custom_sla = s.Text(c++);
  r.channel = s.Text(c++);
  const json subject = ParseJsonOr(s.Text(c++), json::object());
  r.subject = SubjectFromJson(subject);
  r.owner = s.Text(c++);
  r.verified = s.Int(c++) != 0;
  r.verified_identities = ProvedFromJson(subject, r.subject, r.verified);
  r.received_at = FromUnix(s.Int(c++));
  r.due_at = FromUnix(s.Int(c++));
  r.due_date = s.Text(c++);
  r.extended = s.Int(c++) != 0;
  r.extension_reason = s.Text(c++);
  r.paused_seconds = s.Int(c++);
  if (!s.IsNull(c)) r.hold_since = FromUnix(s.Int(c));
  ++c;
  r.status_before_hold = ParseRequestStatus(s.Text(c++)).value_or(RequestStatus::kPending);
  r.hold_reason = s.Text(c++);
  if (!s.IsNull(c)) r.assignee = s.Text(c);
  ++c;
  if (!s.IsNull(c)) r.not_before = FromUnix(s.Int(c));
  ++c;
  if (!s.IsNull(c)) r.completed_at = FromUnix(s.Int(c));
  ++c;
  r.note = s.Text(c++);
  r.params = ParseJsonOr(s.Text(c++), json::object());
  r.result = ParseJsonOr(s.Text(c++), json::object());
  r.export_path = s.Text(c++);
  r.external_id = s.Text(c++);
  json cb = ParseJsonOr(s.Text(c++), json::array());
  for (const auto& u : cb)
    if (u.is_string()) r.status_callback_urls.push_back(u.get<std::string>());
  r.created_at = FromUnix(s.Int(c++));
  r.updated_at = FromUnix(s.Int(c++));
  r.version = s.Int(c++);
  return r;
}

// Binds every request column except id in kRequestColumns order, starting at `i`.
int BindRequest(Stmt& s, const Request& r, int i) {
  s.Bind(i++, ToString(r.type));
  s.Bind(i++, ToString(r.status));
  s.Bind(i++, ToString(r.regulation));
  s.Bind(i++, r.custom_sla);
  s.Bind(i++, r.channel);
  s.Bind(i++, SubjectToJson(r.subject, r.verified_identities).dump());
  s.Bind(i++, r.subject.email);
  s.Bind(i++, r.subject.user_id);
  s.Bind(i++, r.owner);
  s.Bind(i++, int64_t{r.verified});
  s.Bind(i++, ToUnix(r.received_at));
  s.Bind(i++, ToUnix(r.due_at));
  s.Bind(i++, r.due_date);
  s.Bind(i++, int64_t{r.extended});
  s.Bind(i++, r.extension_reason);
  s.Bind(i++, r.paused_seconds);
  s.Bind(i++, OptTime(r.hold_since));
  s.Bind(i++, ToString(r.status_before_hold));
  s.Bind(i++, r.hold_reason);
  if (r.assignee)
    s.Bind(i++, *r.assignee);
  else
    s.BindNull(i++);
  s.Bind(i++, OptTime(r.not_before));
  s.Bind(i++, OptTime(r.completed_at));
  s.Bind(i++, r.note);
  s.Bind(i++, r.params.dump());
  s.Bind(i++, r.result.dump());
  s.Bind(i++, r.export_path);
  s.Bind(i++, r.external_id);
  s.Bind(i++, json(r.status_callback_urls).dump());
  s.Bind(i++, ToUnix(r.created_at));
  s.Bind(i++, ToUnix(r.updated_at));
  return i;
}

constexpr const char* kSetColumns =
    "type=?2, status=?3, regulation=?4, custom_sla=?5, channel=?6, subject=?7, email=?8, user_id=?9, owner=?10, "
    "verified=?11, received_at=?12, due_at=?13, due_date=?14, extended=?15, extension_reason=?16, "
    "paused_seconds=?17, hold_since=?18, status_before_hold=?19, hold_reason=?20, assignee=?21, not_before=?22, "
    "completed_at=?23, note=?24, params=?25, result=?26, export_path=?27, external_id=?28, callbacks=?29, "
    "created_at=?30, updated_at=?31";

// A request a worker may claim at time ?1: queued past its grace, or running
// (a worker's crash leaves it so), and with no live lease.
constexpr const char* kClaimable =
    "(status = 'in_progress' OR (status = 'approved' AND (not_before IS NULL OR not_before <= ?1))) "
    "AND (lease_until IS NULL OR lease_until < ?1)";

Task ReadTask(const Stmt& s) {
  Task t;
  t.id = s.Int(0);
  t.request_id = s.Text(1);
  t.connector = s.Text(2);
  t.collection = s.Text(3);
  t.action = s.Text(4);
  t.status = s.Text(5);
  t.rows = s.Int(6);
  t.attempts = static_cast<int>(s.Int(7));
  t.error = s.Text(8);
  t.detail = ParseJsonOr(s.Text(9), json::object());
  t.updated_at = FromUnix(s.Int(10));
  return t;
}

AuditEntry ReadAudit(const Stmt& s) {
  AuditEntry e;
  e.seq = s.Int(0);
  e.at = FromUnix(s.Int(1));
  e.request_id = s.Text(2);
  e.kind = s.Text(3);
  e.actor = s.Text(4);
  e.subject_ref = s.Text(5);
  e.detail = ParseJsonOr(s.Text(6), json::object());
  e.prev_hash = s.Text(7);
  e.hash = s.Text(8);
  return e;
}

Record ReadRecord(const Stmt& s) {
  Record r;
  r.kind = s.Text(0);
  r.key = s.Text(1);
  r.value = ParseJsonOr(s.Text(2), json::object());
  if (!s.IsNull(3)) r.due_at = FromUnix(s.Int(3));
  r.created_at = FromUnix(s.Int(4));
  return r;
}

class SqliteStore : public Store {
 public:
  explicit SqliteStore(sqlite3* db) : db_(db) {}
  ~SqliteStore() override { sqlite3_close_v2(db_); }

  Status Migrate() {
    // secure_delete: freed and overwritten content is zeroed, so an erased
    // subject's identities do not linger in free pages (contract §4, end).
    LETHE_RETURN_IF_ERROR(Exec(db_,
                               "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL; "
                               "PRAGMA secure_delete=ON;"));
    sqlite3_busy_timeout(db_, 10000);
    LETHE_RETURN_IF_ERROR(Exec(db_, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"));
    int64_t version = 0;
    {
      Stmt s(db_, "SELECT COALESCE(MAX(version), 0) FROM schema_version");
      if (s.Step()) version = s.Int(0);
      LETHE_RETURN_IF_ERROR(s.status());
    }
    const int64_t latest = static_cast<int64_t>(std::size(kMigrations));
    if (version > latest)
      return Status::Invalid("store schema version " + std::to_string(version) + " is newer than this lethe (" +
                             std::to_string(latest) + ")");
    for (int64_t v = version; v < latest; ++v) {
      LETHE_RETURN_IF_ERROR(Exec(db_, "BEGIN IMMEDIATE"));
      Status st = Exec(db_, kMigrations[v]);
      if (st.ok()) st = Stmt(db_, "INSERT INTO schema_version (version) VALUES (?1)").Bind(1, v + 1).Run();
      if (!st.ok()) {
        (void)Exec(db_, "ROLLBACK");  // best effort: the migration's own error is the one to report
        return st;
      }
      LETHE_RETURN_IF_ERROR(Exec(db_, "COMMIT"));
    }
    return Status::Ok();
  }

  Status Insert(const Request& r, const Event& e, AuditEntry audit) override {
    std::lock_guard lock(mu_);
    return InTransaction([&]() -> Status {
      // email and user_id (?8, ?9) are copies of subject fields kept as
      // columns for the inbox search; SELECTs read the subject JSON instead.
      Stmt s(db_, std::string("INSERT INTO requests (") + kRequestColumns +
                      ", email, user_id) VALUES (?1,?2,?3,?4,?5,?6,?7,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,"
                      "?21,?22,?23,?24,?25,?26,?27,?28,?29,?30,?31,1,?8,?9)");
      s.Bind(1, r.id);
      BindRequest(s, r, 2);
      LETHE_RETURN_IF_ERROR(s.Run());
      LETHE_RETURN_IF_ERROR(InsertEvent(r.id, e));
      return AppendAuditLocked(std::move(audit));
    });
  }

  Status Update(const Request& r, const Event& e, AuditEntry audit) override {
    std::lock_guard lock(mu_);
    return InTransaction([&]() -> Status {
      Stmt s(db_,
             std::string("UPDATE requests SET ") + kSetColumns + ", version=version+1 WHERE id=?1 AND version=?32");
      s.Bind(1, r.id);
      BindRequest(s, r, 2);
      s.Bind(32, r.version);
      LETHE_RETURN_IF_ERROR(s.Run());
      if (sqlite3_changes(db_) != 1)
        return Status::Conflict("request " + r.id + " was changed by someone else; reload and try again");
      LETHE_RETURN_IF_ERROR(InsertEvent(r.id, e));
      return AppendAuditLocked(std::move(audit));
    });
  }

  Result<std::vector<Request>> Claimable(Time now, int limit) override {
    std::lock_guard lock(mu_);
    Stmt s(db_, std::string("SELECT ") + kRequestColumns + " FROM requests WHERE " + kClaimable +
                    " ORDER BY received_at, id LIMIT " + std::to_string(std::max(limit, 1)));
    s.Bind(1, ToUnix(now));
    std::vector<Request> out;
    while (s.Step()) out.push_back(ReadRequest(s));
    LETHE_RETURN_IF_ERROR(s.status());
    return out;
  }

  Result<bool> ClaimRequest(const std::string& id, const std::string& owner, Time now, Time until) override {
    if (owner.empty()) return Status::Invalid("a lease needs an owner");
    std::lock_guard lock(mu_);
    // One statement: SQLite takes the write lock for it, so of two processes
    // claiming the same request exactly one sees its WHERE still true.
    Stmt s(db_, std::string("UPDATE requests SET lease_owner=?2, lease_until=?3, version=version+1 "
                            "WHERE id=?4 AND ") +
                    kClaimable);
    s.Bind(1, ToUnix(now)).Bind(2, owner).Bind(3, ToUnix(until)).Bind(4, id);
    LETHE_RETURN_IF_ERROR(s.Run());
    if (sqlite3_changes(db_) == 1) return true;
    return ExistsLocked(id);
  }

  Result<bool> RenewLease(const std::string& id, const std::string& owner, Time until) override {
    std::lock_guard lock(mu_);
    Stmt s(db_, "UPDATE requests SET lease_until=?3 WHERE id=?1 AND lease_owner=?2");
    s.Bind(1, id).Bind(2, owner).Bind(3, ToUnix(until));
    LETHE_RETURN_IF_ERROR(s.Run());
    return sqlite3_changes(db_) == 1;
  }

  Status ReleaseLease(const std::string& id, const std::string& owner) override {
    std::lock_guard lock(mu_);
    Stmt s(db_, "UPDATE requests SET lease_owner=NULL, lease_until=NULL WHERE id=?1 AND lease_owner=?2");
    return s.Bind(1, id).Bind(2, owner).Run();
  }

  Status UpdateLeased(const Request& r, const std::string& owner, const Event& e, AuditEntry audit) override {
    std::lock_guard lock(mu_);
    return InTransaction([&]() -> Status {
      Stmt s(db_, std::string("UPDATE requests SET ") + kSetColumns +
                      ", version=version+1 WHERE id=?1 AND version=?32 AND lease_owner=?33");
      s.Bind(1, r.id);
      BindRequest(s, r, 2);
      s.Bind(32, r.version).Bind(33, owner);
      LETHE_RETURN_IF_ERROR(s.Run());
      if (sqlite3_changes(db_) != 1)
        return Status::Conflict("request " + r.id +
                                " is no longer leased by this worker (lease lost or request changed)");
      LETHE_RETURN_IF_ERROR(InsertEvent(r.id, e));
      return AppendAuditLocked(std::move(audit));
    });
  }

  Result<Request> Get(const std::string& id) override {
    std::lock_guard lock(mu_);
    Stmt s(db_, std::string("SELECT ") + kRequestColumns + " FROM requests WHERE id=?1");
    s.Bind(1, id);
    if (s.Step()) return ReadRequest(s);
    LETHE_RETURN_IF_ERROR(s.status());
    return Status::NotFound("no request " + id);
  }

  Result<RequestPage> List(const RequestFilter& f) override {
    std::string where = "1=1";
    std::vector<std::pair<bool, std::string>> args;  // (is_int, value)
    auto add = [&](const std::string& cond, std::string v, bool is_int = false) {
      args.emplace_back(is_int, std::move(v));
      where += " AND " + cond;
      size_t pos = where.rfind('?');
      where.insert(pos + 1, std::to_string(args.size()));
    };
    if (f.status) add("status = ?", std::string(ToString(*f.status)));
    if (f.type) add("type = ?", std::string(ToString(*f.type)));
    if (f.regulation) add("regulation = ?", std::string(ToString(*f.regulation)));
    if (f.assignee) add("assignee = ?", *f.assignee);
    if (f.owner) {  // the owner, or their pseudonym once an erasure replaced it
      args.emplace_back(false, *f.owner);
      args.emplace_back(false, f.owner_ref.value_or(*f.owner));
      where += " AND owner IN (?" + std::to_string(args.size() - 1) + ", ?" + std::to_string(args.size()) + ")";
    }
    if (f.overdue_only) {
      add("due_at < ?", std::to_string(ToUnix(f.now)), true);
      where += " AND status NOT IN ('completed','denied','cancelled','failed')";
    }
    if (f.due_before) add("due_at < ?", std::to_string(ToUnix(*f.due_before)), true);
    if (!f.q.empty()) {
      // One bound pattern matched against several columns.
      args.emplace_back(false, "%" + EscapeLike(f.q) + "%");
      std::string n = "?" + std::to_string(args.size());
      where += " AND (id LIKE " + n + " ESCAPE '\\' OR email LIKE " + n + " ESCAPE '\\' OR user_id LIKE " + n +
               " ESCAPE '\\' OR note LIKE " + n + " ESCAPE '\\')";
    }
    if (!f.cursor.empty()) {
      auto dot = f.cursor.find('.');
      if (dot == std::string::npos || dot == 0) return Status::Invalid("malformed cursor", "/cursor");
      std::string due = f.cursor.substr(0, dot), id = f.cursor.substr(dot + 1);
      if (due.size() > 18) return Status::Invalid("malformed cursor", "/cursor");  // stoll below must not throw
      for (char ch : due)
        if (ch < '0' || ch > '9') return Status::Invalid("malformed cursor", "/cursor");
      args.emplace_back(true, due);
      std::string d = "?" + std::to_string(args.size());
      args.emplace_back(false, id);
      std::string i = "?" + std::to_string(args.size());
      where += " AND (due_at > " + d + " OR (due_at = " + d + " AND id > " + i + "))";
    }
    int limit = std::clamp(f.limit, 1, 500);
    std::string sql = std::string("SELECT ") + kRequestColumns + " FROM requests WHERE " + where +
                      " ORDER BY due_at, id LIMIT " + std::to_string(limit + 1);
    std::lock_guard lock(mu_);
    Stmt s(db_, sql);
    for (size_t k = 0; k < args.size(); ++k) {
      if (args[k].first)
        s.Bind(static_cast<int>(k + 1), static_cast<int64_t>(std::stoll(args[k].second)));
      else
        s.Bind(static_cast<int>(k + 1), args[k].second);
    }
    RequestPage page;
    while (s.Step()) page.items.push_back(ReadRequest(s));
    LETHE_RETURN_IF_ERROR(s.status());
    if (static_cast<int>(page.items.size()) > limit) {
      page.items.pop_back();
      const Request& last = page.items.back();
      page.next_cursor = std::to_string(ToUnix(last.due_at)) + "." + last.id;
    }
    return page;
  }

  Result<std::vector<Event>> Events(const std::string& request_id) override {
    std::lock_guard lock(mu_);
    Stmt s(db_,
           "SELECT id, at, kind, actor, reason, from_status, to_status FROM events WHERE request_id=?1 ORDER BY id");
    s.Bind(1, request_id);
    std::vector<Event> out;
    while (s.Step()) {
      Event e;
      e.id = s.Int(0);
      e.at = FromUnix(s.Int(1));
      e.kind = s.Text(2);
      e.actor = s.Text(3);
      e.reason = s.Text(4);
      e.from_status = s.Text(5);
      e.to_status = s.Text(6);
      out.push_back(std::move(e));
    }
    LETHE_RETURN_IF_ERROR(s.status());
    return out;
  }

  Result<std::vector<Request>> WithStatus(const std::vector<RequestStatus>& statuses, int limit) override {
    std::string in;
    for (size_t i = 0; i < statuses.size(); ++i) in += (i ? ",?" : "?") + std::to_string(i + 1);
    if (in.empty()) return std::vector<Request>{};
    std::lock_guard lock(mu_);
    Stmt s(db_, std::string("SELECT ") + kRequestColumns + " FROM requests WHERE status IN (" + in +
                    ") ORDER BY received_at, id LIMIT " + std::to_string(std::max(limit, 1)));
    for (size_t i = 0; i < statuses.size(); ++i) s.Bind(static_cast<int>(i + 1), ToString(statuses[i]));
    std::vector<Request> out;
    while (s.Step()) out.push_back(ReadRequest(s));
    LETHE_RETURN_IF_ERROR(s.status());
    return out;
  }

  Result<json> Stats(Time now) override {
    std::lock_guard lock(mu_);
    json by_status = json::object(), by_type = json::object();
    {
      Stmt s(db_, "SELECT status, COUNT(*) FROM requests GROUP BY status");
      while (s.Step()) by_status[s.Text(0)] = s.Int(1);
      LETHE_RETURN_IF_ERROR(s.status());
    }
    {
      Stmt s(db_, "SELECT type, COUNT(*) FROM requests GROUP BY type");
      while (s.Step()) by_type[s.Text(0)] = s.Int(1);
      LETHE_RETURN_IF_ERROR(s.status());
    }
    int64_t overdue = 0, total = 0;
    {
      Stmt s(db_,
             "SELECT COUNT(*) FROM requests WHERE due_at < ?1 AND status NOT IN "
             "('completed','denied','cancelled','failed')");
      s.Bind(1, ToUnix(now));
      if (s.Step()) overdue = s.Int(0);
      LETHE_RETURN_IF_ERROR(s.status());
    }
    for (auto& [k, v] : by_status.items()) total += v.get<int64_t>();
    // How long execution took, from each "started" event to the "completed"
    // or "failed" that ended it (a retried request counts once per run).
    json execution = json::object();
    {
      Stmt s(db_,
             "SELECT r.type, COUNT(*), COALESCE(SUM(f.at - st.at), 0) FROM events f "
             "JOIN requests r ON r.id = f.request_id "
             "JOIN events st ON st.id = (SELECT MAX(id) FROM events WHERE request_id = f.request_id "
             "AND kind = 'started' AND id < f.id) "
             "WHERE f.kind IN ('completed', 'failed') GROUP BY r.type");
      while (s.Step()) execution[s.Text(0)] = {{"count", s.Int(1)}, {"seconds", s.Int(2)}};
      LETHE_RETURN_IF_ERROR(s.status());
    }
    return json{{"total", total},
                {"by_status", by_status},
                {"by_type", by_type},
                {"overdue", overdue},
                {"execution", execution}};
  }

  Result<std::vector<Task>> Tasks(const std::string& request_id) override {
    std::lock_guard lock(mu_);
    Stmt s(db_,
           "SELECT id, request_id, connector, collection, action, status, rows, attempts, error, detail, "
           "updated_at FROM tasks WHERE request_id=?1 ORDER BY id");
    s.Bind(1, request_id);
    std::vector<Task> out;
    while (s.Step()) out.push_back(ReadTask(s));
    LETHE_RETURN_IF_ERROR(s.status());
    return out;
  }

  Status SaveTask(Task& t) override {
    std::lock_guard lock(mu_);
    if (t.updated_at == Time{}) t.updated_at = Now();
    Stmt s(db_,
           "INSERT INTO tasks (request_id, connector, collection, action, status, rows, attempts, error, detail, "
           "updated_at) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10) "
           "ON CONFLICT (request_id, connector, collection, action) DO UPDATE SET status=excluded.status, "
           "rows=excluded.rows, attempts=excluded.attempts, error=excluded.error, detail=excluded.detail, "
           "updated_at=excluded.updated_at RETURNING id");
    s.Bind(1, t.request_id).Bind(2, t.connector).Bind(3, t.collection).Bind(4, t.action).Bind(5, t.status);
    s.Bind(6, t.rows)
        .Bind(7, int64_t{t.attempts})
        .Bind(8, t.error)
        .Bind(9, t.detail.dump())
        .Bind(10, ToUnix(t.updated_at));
    if (s.Step()) t.id = s.Int(0);
    while (s.Step()) {
    }
    return s.status();
  }

  void SetAuditChain(AuditChainOptions chain) override {
    std::lock_guard lock(mu_);
    chain_ = std::move(chain);
    keyed_from_ = -1;
  }

  Status AppendAudit(AuditEntry e) override {
    std::lock_guard lock(mu_);
    return InTransaction([&] { return AppendAuditLocked(std::move(e)); });
  }

  Result<std::vector<AuditEntry>> Audit(const std::string& request_id) override {
    std::lock_guard lock(mu_);
    std::string sql = "SELECT seq, at, request_id, kind, actor, subject_ref, detail, prev_hash, hash FROM audit";
    if (!request_id.empty()) sql += " WHERE request_id=?1";
    Stmt s(db_, sql + " ORDER BY seq");
    if (!request_id.empty()) s.Bind(1, request_id);
    std::vector<AuditEntry> out;
    while (s.Step()) out.push_back(ReadAudit(s));
    LETHE_RETURN_IF_ERROR(s.status());
    return out;
  }

  Result<std::vector<Request>> BySubject(const Subject& subj, const std::string& owner) override {
    std::lock_guard lock(mu_);
    // email and user_id are columns; phone lives only in the subject JSON.
    Stmt s(db_, std::string("SELECT ") + kRequestColumns +
                    " FROM requests WHERE (?1 <> '' AND email = ?1) OR (?2 <> '' AND user_id = ?2) OR "
                    "(?3 <> '' AND json_extract(subject, '$.phone') = ?3) OR (?4 <> '' AND owner = ?4) ORDER BY id");
    s.Bind(1, subj.email).Bind(2, subj.user_id).Bind(3, subj.phone).Bind(4, owner);
    std::vector<Request> out;
    while (s.Step()) out.push_back(ReadRequest(s));
    LETHE_RETURN_IF_ERROR(s.status());
    return out;
  }

  Status ScrubRequests(const std::vector<std::string>& ids, const std::function<std::string(const std::string&)>& scrub,
                       const std::function<bool(const Record&)>& leave) override {
    std::lock_guard lock(mu_);
    Status st = InTransaction([&]() -> Status {
      for (const std::string& id : ids) {
        {
          std::vector<std::pair<int64_t, std::string>> events;
          Stmt s(db_, "SELECT id, reason FROM events WHERE request_id=?1");
          s.Bind(1, id);
          while (s.Step()) events.emplace_back(s.Int(0), s.Text(1));
          LETHE_RETURN_IF_ERROR(s.status());
          for (const auto& [eid, reason] : events) {
            std::string clean = scrub(reason);
            if (clean != reason)
              LETHE_RETURN_IF_ERROR(
                  Stmt(db_, "UPDATE events SET reason=?2 WHERE id=?1").Bind(1, eid).Bind(2, clean).Run());
          }
        }
        {
          std::vector<std::tuple<int64_t, std::string, std::string>> tasks;
          Stmt s(db_, "SELECT id, error, detail FROM tasks WHERE request_id=?1");
          s.Bind(1, id);
          while (s.Step()) tasks.emplace_back(s.Int(0), s.Text(1), s.Text(2));
          LETHE_RETURN_IF_ERROR(s.status());
          for (const auto& [tid, error, detail] : tasks) {
            std::string e2 = scrub(error);
            std::string d2 = ScrubJsonText(detail, scrub);
            if (e2 != error || d2 != detail)
              LETHE_RETURN_IF_ERROR(Stmt(db_, "UPDATE tasks SET error=?2, detail=?3 WHERE id=?1")
                                        .Bind(1, tid)
                                        .Bind(2, e2)
                                        .Bind(3, d2)
                                        .Run());
          }
        }
        {
          std::vector<std::pair<Record, std::string>> recs;
          Stmt s(db_,
                 "SELECT kind, key, value, due_at, created_at FROM records "
                 "WHERE instr(key, ?1) > 0 OR instr(value, ?1) > 0");
          s.Bind(1, id);
          while (s.Step()) recs.emplace_back(ReadRecord(s), s.Text(2));
          LETHE_RETURN_IF_ERROR(s.status());
          for (const auto& [rec, value] : recs) {
            if (leave && leave(rec)) continue;
            std::string v2 = ScrubJsonText(value, scrub);
            if (v2 != value)
              LETHE_RETURN_IF_ERROR(Stmt(db_, "UPDATE records SET value=?3 WHERE kind=?1 AND key=?2")
                                        .Bind(1, rec.kind)
                                        .Bind(2, rec.key)
                                        .Bind(3, v2)
                                        .Run());
          }
        }
      }
      return Status::Ok();
    });
    LETHE_RETURN_IF_ERROR(st);
    // Old page images live on in the WAL until a checkpoint copies the
    // (zeroed: secure_delete) pages back and the log is truncated.
    return Exec(db_, "PRAGMA wal_checkpoint(TRUNCATE)");
  }

  Result<bool> PutRecordIfAbsent(const Record& r) override {
    std::lock_guard lock(mu_);
    Stmt s(db_,
           "INSERT INTO records (kind, key, value, due_at, created_at) VALUES (?1,?2,?3,?4,?5) "
           "ON CONFLICT (kind, key) DO NOTHING");
    BindRecord(s, r);
    LETHE_RETURN_IF_ERROR(s.Run());
    return sqlite3_changes(db_) == 1;
  }

  Status PutRecord(const Record& r) override {
    std::lock_guard lock(mu_);
    Stmt s(db_,
           "INSERT INTO records (kind, key, value, due_at, created_at) VALUES (?1,?2,?3,?4,?5) "
           "ON CONFLICT (kind, key) DO UPDATE SET value=excluded.value, due_at=excluded.due_at");
    BindRecord(s, r);
    return s.Run();
  }

  Result<std::optional<Record>> GetRecord(const std::string& kind, const std::string& key) override {
    std::lock_guard lock(mu_);
    Stmt s(db_, "SELECT kind, key, value, due_at, created_at FROM records WHERE kind=?1 AND key=?2");
    s.Bind(1, kind).Bind(2, key);
    if (s.Step()) return std::optional<Record>(ReadRecord(s));
    LETHE_RETURN_IF_ERROR(s.status());
    return std::optional<Record>();
  }

  Status DeleteRecord(const std::string& kind, const std::string& key) override {
    std::lock_guard lock(mu_);
    return Stmt(db_, "DELETE FROM records WHERE kind=?1 AND key=?2").Bind(1, kind).Bind(2, key).Run();
  }

  Result<std::vector<Record>> Records(const std::string& kind, std::optional<Time> due, int limit) override {
    std::lock_guard lock(mu_);
    std::string sql = "SELECT kind, key, value, due_at, created_at FROM records WHERE kind=?1";
    if (due) sql += " AND due_at IS NOT NULL AND due_at <= ?2";
    sql += " ORDER BY due_at, key LIMIT " + std::to_string(std::max(limit, 1));
    Stmt s(db_, sql);
    s.Bind(1, kind);
    if (due) s.Bind(2, ToUnix(*due));
    std::vector<Record> out;
    while (s.Step()) out.push_back(ReadRecord(s));
    LETHE_RETURN_IF_ERROR(s.status());
    return out;
  }

 private:
  static std::string EscapeLike(const std::string& q) {
    std::string out;
    for (char c : q) {
      if (c == '%' || c == '_' || c == '\\') out += '\\';
      out += c;
    }
    return out;
  }

  // Whether request `id` exists (a claim that changed nothing: false, or kNotFound). Caller holds mu_.
  Result<bool> ExistsLocked(const std::string& id) {
    Stmt s(db_, "SELECT 1 FROM requests WHERE id=?1");
    s.Bind(1, id);
    if (s.Step()) return false;
    LETHE_RETURN_IF_ERROR(s.status());
    return Status::NotFound("no request " + id);
  }

  static void BindRecord(Stmt& s, const Record& r) {
    s.Bind(1, r.kind).Bind(2, r.key).Bind(3, r.value.dump());
    s.Bind(4, OptTime(r.due_at));
    s.Bind(5, ToUnix(r.created_at == Time{} ? Now() : r.created_at));
  }

  template <class F>
  Status InTransaction(F&& body) {
    // IMMEDIATE takes the write lock up front, so two processes never both
    // read the audit chain's head and append conflicting entries.
    LETHE_RETURN_IF_ERROR(Exec(db_, "BEGIN IMMEDIATE"));
    Status st = body();
    if (st.ok()) st = Exec(db_, "COMMIT");
    if (!st.ok()) {
      (void)Exec(db_, "ROLLBACK");  // best effort: the body's (or COMMIT's) error is the one to report
      committed_head_.reset();
      return st;
    }
    // Only a committed entry may be signed into the anchor.
    if (committed_head_ && chain_.on_commit) chain_.on_commit(*committed_head_);
    committed_head_.reset();
    return st;
  }

  Status InsertEvent(const std::string& request_id, const Event& e) {
    Stmt s(db_,
           "INSERT INTO events (request_id, at, kind, actor, reason, from_status, to_status) "
           "VALUES (?1,?2,?3,?4,?5,?6,?7)");
    s.Bind(1, request_id).Bind(2, ToUnix(e.at == Time{} ? Now() : e.at)).Bind(3, e.kind).Bind(4, e.actor);
    s.Bind(5, e.reason).Bind(6, e.from_status).Bind(7, e.to_status);
    return s.Run();
  }

  // Caller holds mu_ and an open transaction.
  Status AppendAuditLocked(AuditEntry e) {
    std::string prev;
    int64_t seq = 1;
    {
      Stmt s(db_, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1");
      if (s.Step()) {
        seq = s.Int(0) + 1;
        prev = s.Text(1);
      }
      LETHE_RETURN_IF_ERROR(s.status());
    }
    e.seq = seq;
    if (e.at == Time{}) e.at = Now();
    e.prev_hash = prev;
    e.hash = ChainHash(chain_.key, prev, e);
    if (keyed_from_ < 0) LETHE_RETURN_IF_ERROR(LearnKeyedFrom(seq));
    Stmt s(db_,
           "INSERT INTO audit (seq, at, request_id, kind, actor, subject_ref, detail, prev_hash, hash) "
           "VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)");
    s.Bind(1, e.seq).Bind(2, ToUnix(e.at)).Bind(3, e.request_id).Bind(4, e.kind).Bind(5, e.actor);
    s.Bind(6, e.subject_ref).Bind(7, e.detail.dump()).Bind(8, e.prev_hash).Bind(9, e.hash);
    LETHE_RETURN_IF_ERROR(s.Run());
    committed_head_ = AuditHead{e.seq, e.hash, e.at, keyed_from_};
    return Status::Ok();
  }

  // Once per process, at the first append: if the entry before `seq` is not
  // keyed (a store written before keying) or there is none, keying begins at
  // `seq`; the anchor records that. If it is keyed, this process cannot tell
  // where keying began (0) and the anchor keeps what an earlier writer said.
  Status LearnKeyedFrom(int64_t seq) {
    keyed_from_ = 0;
    if (chain_.key.empty()) return Status::Ok();
    Stmt s(db_,
           "SELECT seq, at, request_id, kind, actor, subject_ref, detail, prev_hash, hash FROM audit "
           "WHERE seq=?1");
    s.Bind(1, seq - 1);
    if (s.Step()) {
      AuditEntry prev = ReadAudit(s);
      if (ChainHash(chain_.key, prev.prev_hash, prev) != prev.hash) keyed_from_ = seq;
    } else {
      keyed_from_ = seq;
    }
    return s.status();
  }

  sqlite3* db_;
  std::mutex mu_;
  AuditChainOptions chain_;
  int64_t keyed_from_ = -1;                  // -1: not learnt yet (LearnKeyedFrom)
  std::optional<AuditHead> committed_head_;  // the entry this transaction appended
};

// Creates `p` empty with mode 0600 if it does not exist; leaves an existing file alone.
Status CreatePrivateFile(const std::filesystem::path& p) {
  int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    // open() applies the umask; 0600 is already the tightest mode it can give,
    // but fchmod makes the mode exact whatever the umask.
    ::fchmod(fd, 0600);
    ::close(fd);
    return Status::Ok();
  }
  if (errno == EEXIST) return Status::Ok();
  return Status::Io("cannot create store " + p.string() + ": " + std::strerror(errno));
}

}  // namespace

Result<std::unique_ptr<Store>> Store::Open(const json& store_config, const std::string& base_dir) {
  if (!store_config.is_object() || store_config.size() != 1)
    return Status::Invalid("store must name exactly one of \"sqlite\" or \"postgres\"", "/store");
  if (store_config.contains("postgres"))
    return Status::Invalid("the postgres store is not implemented yet; use {\"sqlite\": \"lethe.db\"}",
                           "/store/postgres");
  if (!store_config.contains("sqlite") || !store_config["sqlite"].is_string())
    return Status::Invalid("expected {\"sqlite\": \"<path>\"}", "/store");
  std::filesystem::path p = store_config["sqlite"].get<std::string>();
  if (p.is_relative() && !base_dir.empty()) p = std::filesystem::path(base_dir) / p;
  if (p.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(p.parent_path(), ec);
  }
  // The store holds identities, verification state and the audit log: it is
  // created readable by its owner only. SQLite gives the -wal and -shm files
  // the main file's mode, so creating the empty main file 0600 first (before
  // any data is written) covers all three.
  if (Status st = CreatePrivateFile(p); !st.ok()) return st;
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(p.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close_v2(db);
    return Status::Io("cannot open store " + p.string() + ": " + msg);
  }
  auto store = std::make_unique<SqliteStore>(db);
  LETHE_RETURN_IF_ERROR(store->Migrate());
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace lethe
