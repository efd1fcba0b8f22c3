// The postgres connector: tables in a PostgreSQL database, through libpq.
//
//   {"name": "app", "type": "postgres", "dsn_env": "APP_DSN", "schema": "public",
//    "collections": [ ...the same collection keys as sqlite (ParseTableCollection)... ]}
//
// Identity values only ever travel as bound parameters (`col = ANY($1)` with a
// text array literal the server parses); table, schema and column names from
// config pass QuoteIdentifier before they reach SQL text. Rows are streamed in
// libpq's single-row mode, so a large table never sits in memory.
//
// Vector columns: pgvector's `vector` type arrives as text "[1,2,3]" and
// float4[]/float8[] arrays as "{1,2,3}"; both are exported as JSON arrays of
// numbers.
#include <libpq-fe.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cmath>
#include <optional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include <spdlog/spdlog.h>

#include "lethe/hex.h"
#include "lethe/json_pointer.h"
#include "lethe/mask.h"
#include "lethe/connector.h"
#include "lethe/connector_config.h"

namespace lethe {
namespace {

constexpr size_t kBatch = 1000;  // keys per statement / transaction

struct PGresultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, PGresultDeleter>;

// A column name read from the catalog (not from config) may hold any
// character; it is quoted the SQL way, doubling embedded quotes.
std::string QuoteCatalogName(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"')
      out += "\"\"";
    else
      out += c;
  }
  out += '"';
  return out;
}

// A one-dimensional PostgreSQL array literal of text elements, every element
// quoted and escaped, so the server parses the values back exactly and
// never as SQL. Values with a NUL byte cannot be sent to PostgreSQL at all.
Result<std::string> TextArrayLiteral(const std::vector<std::string>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    const std::string& v = values[i];
    if (v.find('\0') != std::string::npos) return Status::Invalid("value contains a NUL byte");
    if (i > 0) out += ',';
    out += '"';
    for (char c : v) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

bool IsIntegerText(const std::string& s) {
  if (s.empty() || s.size() > 20) return false;
  size_t i = (s[0] == '-') ? 1 : 0;
  if (i == s.size()) return false;
  for (; i < s.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

bool IsUuidText(const std::string& s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return false;
    } else if (!std::isxdigit(static_cast<unsigned char>(s[i]))) {
      return false;
    }
  }
  return true;
}

bool IsTextType(const std::string& udt) {
  return udt == "text" || udt == "varchar" || udt == "bpchar" || udt == "citext" || udt == "name";
}
bool IsIntType(const std::string& udt) { return udt == "int2" || udt == "int4" || udt == "int8"; }

// Whether `v` is an integer the column type can hold. One out of range
// ("9999999999999999999" for int8) can equal no row, and sent to the server
// it would fail the whole statement (SQLSTATE 22003): it is left out.
bool FitsIntType(const std::string& udt, const std::string& v) {
  if (!IsIntegerText(v)) return false;
  int64_t n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || end != v.data() + v.size()) return false;
  if (udt == "int2") return n >= INT16_MIN && n <= INT16_MAX;
  if (udt == "int4") return n >= INT32_MIN && n <= INT32_MAX;
  return true;
}

// Parses one number as PostgreSQL prints it ("1", "-2.5", "1e-05", "NaN").
nlohmann::json NumberJson(const std::string& s) {
  if (s.empty()) return nullptr;
  char* end = nullptr;
  if (IsIntegerText(s)) {
    errno = 0;
    long long v = std::strtoll(s.c_str(), &end, 10);
    if (errno == 0 && end && *end == '\0') return static_cast<int64_t>(v);
  }
  errno = 0;
  double d = std::strtod(s.c_str(), &end);
  if (end && *end == '\0' && std::isfinite(d)) return d;
  return s;  // NaN, Infinity, or out of range: keep the exact text
}

// Parses a one-dimensional array as PostgreSQL prints it: "{a,\"b c\",NULL}"
// (or pgvector's "[1,2,3]"). Returns nullopt for anything else (nested
// arrays, explicit bounds), which the caller then exports as text.
std::optional<nlohmann::json> ParseArray(const std::string& s, bool numeric) {
  if (s.size() < 2) return std::nullopt;
  char open = s.front(), close = s.back();
  if (!((open == '{' && close == '}') || (open == '[' && close == ']'))) return std::nullopt;
  nlohmann::json out = nlohmann::json::array();
  size_t i = 1, end = s.size() - 1;
  if (i == end) return out;
  while (i <= end) {
    std::string elem;
    bool quoted = false;
    if (i < end && s[i] == '"') {
      quoted = true;
      ++i;
      while (i < end && s[i] != '"') {
        if (s[i] == '\\' && i + 1 < end) ++i;
        elem += s[i++];
      }
      if (i >= end) return std::nullopt;
      ++i;  // closing quote
    } else {
      while (i < end && s[i] != ',') {
        if (s[i] == '{' || s[i] == '"') return std::nullopt;
        elem += s[i++];
      }
    }
    // pgvector prints "[1,2,3]" without spaces; tolerate them anyway.
    while (!quoted && !elem.empty() && elem.back() == ' ') elem.pop_back();
    while (!quoted && !elem.empty() && elem.front() == ' ') elem.erase(elem.begin());
    if (!quoted && elem == "NULL")
      out.push_back(nullptr);
    else if (numeric && !quoted)
      out.push_back(NumberJson(elem));
    else
      out.push_back(elem);
    if (i == end) break;
    if (s[i] != ',') return std::nullopt;
    ++i;
  }
  return out;
}

// One column's value as JSON, by its type (information_schema udt_name).
nlohmann::json ValueJson(const std::string& udt, const char* text) {
  std::string s(text);
  if (IsIntType(udt) || udt == "float4" || udt == "float8" || udt == "numeric" || udt == "oid") {
    return NumberJson(s);
  }
  if (udt == "bool") return s == "t";
  if (udt == "json" || udt == "jsonb") {
    auto j = nlohmann::json::parse(s, nullptr, /*allow_exceptions=*/false);
    return j.is_discarded() ? nlohmann::json(s) : j;
  }
  if (udt == "vector" || udt == "halfvec") {
    auto a = ParseArray(s, /*numeric=*/true);
    return a ? *a : nlohmann::json(s);
  }
  if (!udt.empty() && udt[0] == '_') {
    std::string elem = udt.substr(1);
    bool numeric = IsIntType(elem) || elem == "float4" || elem == "float8" || elem == "numeric";
    auto a = ParseArray(s, numeric);
    if (a) {
      if (elem == "bool") {
        for (auto& v : *a) {
          if (v.is_string()) v = (v == "t");
        }
      }
      return *a;
    }
  }
  return s;
}

struct Column {
  std::string udt;  // information_schema.columns.udt_name: int4, text, vector, _float4, ...
  bool nullable = true;
};

struct Table {
  std::string quoted;  // "schema"."table"
  std::map<std::string, Column> columns;
  std::vector<std::string> order;  // columns in table order
};

class PostgresConnector : public Connector {
  using Tables = std::map<std::string, Table>;  // by collection name

  // One call's connection, taken from the idle pool (or opened) and given
  // back when the call is done. Each call has a connection of its own and no
  // lock is held while it runs, so a call made from inside a Find sink (whose
  // connection is mid-stream) or from another thread gets its own
  // connection: re-entry as connector.h promises it.
  class Session {
   public:
    explicit Session(PostgresConnector* c) : c_(c) { status_ = c_->Acquire(&conn_, &tables_); }
    ~Session() {
      if (conn_) c_->Release(conn_);
    }
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;
    const Status& status() const { return status_; }
    PGconn* conn() const { return conn_; }
    const Tables& tables() const { return *tables_; }

   private:
    PostgresConnector* c_;
    PGconn* conn_ = nullptr;
    std::shared_ptr<const Tables> tables_;
    Status status_;
  };

 public:
  PostgresConnector(std::string name, std::string dsn, std::string schema, std::vector<CollectionSpec> collections)
      : name_(std::move(name)),
        dsn_(std::move(dsn)),
        schema_(std::move(schema)),
        collections_(std::move(collections)) {}

  ~PostgresConnector() override {
    for (PGconn* conn : idle_) PQfinish(conn);
  }

  const std::string& name() const override { return name_; }
  const std::vector<CollectionSpec>& collections() const override { return collections_; }

  // Opens a connection and reads every collection's table; the idle
  // connections of an earlier Connect are closed.
  Status Connect() override {
    LETHE_ASSIGN_OR_RETURN(auto conn, Open());
    auto tables = std::make_shared<Tables>();
    Status st = LoadTables(conn, tables.get());
    if (!st.ok()) {
      PQfinish(conn);
      return st;
    }
    std::vector<PGconn*> old;
    {
      std::lock_guard<std::mutex> lock(mu_);
      tables_ = std::move(tables);
      old.swap(idle_);
      idle_.push_back(conn);
    }
    for (PGconn* c : old) PQfinish(c);
    return Status::Ok();
  }

  Status Find(const CollectionSpec& c, const Match& m, const std::function<Status(const Item&)>& sink) override {
    Session session(this);
    LETHE_RETURN_IF_ERROR(session.status());
    PGconn* conn = session.conn();
    const Table* t = nullptr;
    LETHE_RETURN_IF_ERROR(TableOf(session.tables(), c, &t));

    std::set<std::string> omit(c.omit.begin(), c.omit.end());
    std::string select;
    std::vector<std::string> cols;
    for (const auto& col : t->order) {
      if (omit.count(col) && col != c.primary_key) continue;
      if (!select.empty()) select += ", ";
      select += QuoteCatalogName(col);
      cols.push_back(col);
    }
    std::string where;
    std::vector<std::string> params;
    LETHE_RETURN_IF_ERROR(BuildWhere(c, *t, m, &where, &params));
    if (where.empty()) return Status::Ok();  // no values: nothing can match
    std::string sql = "SELECT " + select + " FROM " + t->quoted + " WHERE " + where;
    if (!c.primary_key.empty()) {
      LETHE_ASSIGN_OR_RETURN(auto pk, QuoteIdentifier(c.primary_key, c.pointer + "/primary_key"));
      sql += " ORDER BY " + pk;
    }

    std::vector<const char*> values;
    for (const auto& p : params) values.push_back(p.c_str());
    if (!PQsendQueryParams(conn, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(), nullptr, nullptr,
                           0)) {
      return ConnError(conn, "query failed");
    }
    if (!PQsetSingleRowMode(conn)) {
      Drain(conn);
      return Status::Internal("connector " + name_ + ": cannot enter single-row mode");
    }
    Status result;
    bool stopped = false;
    while (PGresult* raw = PQgetResult(conn)) {
      PgResult r(raw);
      if (stopped) continue;
      ExecStatusType st = PQresultStatus(r.get());
      if (st == PGRES_TUPLES_OK) continue;  // the end of the rows
      if (st != PGRES_SINGLE_TUPLE) {
        result = ResultError(conn, r.get(), "query on " + c.name + " failed");
        stopped = true;
        continue;
      }
      Item item;
      item.fields = nlohmann::json::object();
      for (int f = 0; f < PQnfields(r.get()); ++f) {
        const std::string& col = cols[static_cast<size_t>(f)];
        bool null = PQgetisnull(r.get(), 0, f);
        if (col == c.primary_key) item.key = null ? "" : PQgetvalue(r.get(), 0, f);
        if (omit.count(col)) continue;
        item.fields[col] =
            null ? nlohmann::json(nullptr) : ValueJson(t->columns.at(col).udt, PQgetvalue(r.get(), 0, f));
      }
      Status s = sink(item);
      if (!s.ok()) {
        // The rest is not wanted: ask the server to stop sending, then drain.
        result = s;
        stopped = true;
        Cancel(conn);
      }
    }
    return result;
  }

  Result<int64_t> Erase(const CollectionSpec& c, const Match& m, const std::vector<std::string>& keys,
                        const EraseAction& a) override {
    if (a.kind == EraseAction::Kind::kKeep) return int64_t{0};
    if (a.kind != EraseAction::Kind::kDelete && a.kind != EraseAction::Kind::kMask) {
      return Status::Invalid("connector " + name_ + " can delete, mask or keep rows, not drop or redact lines");
    }
    Session session(this);
    LETHE_RETURN_IF_ERROR(session.status());
    PGconn* conn = session.conn();
    const Table* t = nullptr;
    LETHE_RETURN_IF_ERROR(TableOf(session.tables(), c, &t));

    if (keys.empty()) {
      // Rows without a key value (a NULL primary key) are reported without
      // keys, and the executor then erases by the subject's match instead.
      Selector sel;
      LETHE_RETURN_IF_ERROR(BuildWhere(c, *t, m, &sel.where, &sel.params));
      if (sel.where.empty()) return int64_t{0};
      return InTransaction(conn, c, *t, sel, a);
    }

    if (c.primary_key.empty()) return Status::Invalid("collection " + c.name + " has no primary_key", c.pointer);
    LETHE_ASSIGN_OR_RETURN(auto pk, QuoteIdentifier(c.primary_key, c.pointer + "/primary_key"));
    const std::string& pk_udt = t->columns.at(c.primary_key).udt;
    int64_t changed = 0;
    for (size_t start = 0; start < keys.size(); start += kBatch) {
      std::vector<std::string> batch = UsableValues(
          pk_udt, std::vector<std::string>(keys.begin() + static_cast<long>(start),
                                           keys.begin() + static_cast<long>(std::min(keys.size(), start + kBatch))));
      if (batch.empty()) continue;
      LETHE_ASSIGN_OR_RETURN(auto arr, TextArrayLiteral(batch));
      Selector sel{pk + " = ANY($1)", {arr}};
      LETHE_ASSIGN_OR_RETURN(auto n, InTransaction(conn, c, *t, sel, a));
      changed += n;
    }
    return changed;
  }

  Result<int64_t> Update(const CollectionSpec& c, const std::vector<std::string>& keys,
                         const nlohmann::json& set) override {
    if (!set.is_object() || set.empty()) return Status::Invalid("update needs an object of columns to set");
    Session session(this);
    LETHE_RETURN_IF_ERROR(session.status());
    PGconn* conn = session.conn();
    const Table* t = nullptr;
    LETHE_RETURN_IF_ERROR(TableOf(session.tables(), c, &t));
    if (c.primary_key.empty()) return Status::Invalid("collection " + c.name + " has no primary_key", c.pointer);
    LETHE_ASSIGN_OR_RETURN(auto pk, QuoteIdentifier(c.primary_key, c.pointer + "/primary_key"));

    std::string assignments;
    std::vector<std::string> params;
    std::vector<bool> nulls;
    for (const auto& [col, v] : set.items()) {
      LETHE_ASSIGN_OR_RETURN(auto q, QuoteIdentifier(col, c.pointer));
      if (!t->columns.count(col)) return Status::Invalid("collection " + c.name + " has no column \"" + col + "\"");
      if (!assignments.empty()) assignments += ", ";
      params.push_back(v.is_null() ? "" : v.is_string() ? v.get<std::string>() : v.dump());
      nulls.push_back(v.is_null());
      if (params.back().find('\0') != std::string::npos) return Status::Invalid("value contains a NUL byte");
      assignments += q + " = $" + std::to_string(params.size());
    }
    const std::string& pk_udt = t->columns.at(c.primary_key).udt;
    int64_t changed = 0;
    for (size_t start = 0; start < keys.size(); start += kBatch) {
      std::vector<std::string> batch = UsableValues(
          pk_udt, std::vector<std::string>(keys.begin() + static_cast<long>(start),
                                           keys.begin() + static_cast<long>(std::min(keys.size(), start + kBatch))));
      if (batch.empty()) continue;
      LETHE_ASSIGN_OR_RETURN(auto arr, TextArrayLiteral(batch));
      std::vector<const char*> values;
      for (size_t i = 0; i < params.size(); ++i) values.push_back(nulls[i] ? nullptr : params[i].c_str());
      values.push_back(arr.c_str());
      std::string sql = "UPDATE " + t->quoted + " SET " + assignments + " WHERE " + pk + " = ANY($" +
                        std::to_string(values.size()) + ")";
      PgResult r(PQexecParams(conn, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(), nullptr,
                              nullptr, 0));
      if (PQresultStatus(r.get()) != PGRES_COMMAND_OK)
        return ResultError(conn, r.get(), "update of " + c.name + " failed");
      changed += std::atoll(PQcmdTuples(r.get()));
    }
    return changed;
  }

 private:
  // Takes an idle connection (or opens one) for a call, with the tables
  // read by Connect (read now when Connect has not succeeded yet).
  Status Acquire(PGconn** out, std::shared_ptr<const Tables>* tables) {
    PGconn* conn = nullptr;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!idle_.empty()) {
        conn = idle_.back();
        idle_.pop_back();
      }
      *tables = tables_;
    }
    if (conn && PQstatus(conn) != CONNECTION_OK) PQreset(conn);
    if (conn && PQstatus(conn) != CONNECTION_OK) {
      PQfinish(conn);
      conn = nullptr;
    }
    if (!conn) {
      LETHE_ASSIGN_OR_RETURN(auto opened, Open());
      conn = opened;
    }
    if (!*tables) {
      auto loaded = std::make_shared<Tables>();
      Status st = LoadTables(conn, loaded.get());
      if (!st.ok()) {
        PQfinish(conn);
        return st;
      }
      std::lock_guard<std::mutex> lock(mu_);
      if (!tables_) tables_ = loaded;
      *tables = tables_;
    }
    *out = conn;
    return Status::Ok();
  }

  // Gives a call's connection back. One that is broken or still inside a
  // transaction (a call failed halfway) is closed instead; so are those
  // beyond kMaxIdle, left over after a burst of nested or parallel calls.
  void Release(PGconn* conn) {
    if (PQstatus(conn) == CONNECTION_OK && PQtransactionStatus(conn) == PQTRANS_IDLE) {
      std::lock_guard<std::mutex> lock(mu_);
      if (idle_.size() < kMaxIdle) {
        idle_.push_back(conn);
        return;
      }
    }
    PQfinish(conn);
  }

  Result<PGconn*> Open() {
    // Defaults first, then the DSN (expanded from "dbname"), so the DSN's own
    // settings win; without a connect_timeout libpq would wait indefinitely.
    const char* keys[] = {"connect_timeout", "application_name", "dbname", nullptr};
    const char* values[] = {"10", "lethe", dsn_.c_str(), nullptr};
    PGconn* conn = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
    if (!conn || PQstatus(conn) != CONNECTION_OK) {
      // libpq's message names host and port, never the password.
      std::string msg = conn ? OneLine(PQerrorMessage(conn)) : "out of memory";
      if (conn) PQfinish(conn);
      return Status::Unavailable("connector " + name_ + ": cannot connect: " + msg);
    }
    // Server notices go to the debug log, not to stderr.
    PQsetNoticeProcessor(
        conn, [](void*, const char* msg) { spdlog::debug("connector=postgres notice={}", OneLine(msg)); }, nullptr);
    return conn;
  }

  Status LoadTables(PGconn* conn, Tables* tables) {
    for (const CollectionSpec& c : collections_) {
      LETHE_RETURN_IF_ERROR(LoadTable(conn, c, &(*tables)[c.name]));
    }
    return Status::Ok();
  }

  // Reads the table's columns from information_schema and checks that every
  // column the collection names exists (and that masks fit the column type).
  Status LoadTable(PGconn* conn, const CollectionSpec& c, Table* t) {
    auto qs = QuoteIdentifier(schema_, "");
    auto qt = QuoteIdentifier(c.name, c.pointer + "/name");
    if (!qs.ok()) return qs.status();
    if (!qt.ok()) return qt.status();
    t->quoted = *qs + "." + *qt;
    const char* params[2] = {schema_.c_str(), c.name.c_str()};
    PgResult r(PQexecParams(conn,
                            "SELECT column_name, udt_name, is_nullable FROM information_schema.columns "
                            "WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position",
                            2, nullptr, params, nullptr, nullptr, 0));
    if (PQresultStatus(r.get()) != PGRES_TUPLES_OK)
      return ResultError(conn, r.get(), "cannot read the columns of " + c.name);
    for (int i = 0; i < PQntuples(r.get()); ++i) {
      std::string col = PQgetvalue(r.get(), i, 0);
      t->columns[col] = Column{PQgetvalue(r.get(), i, 1), std::string(PQgetvalue(r.get(), i, 2)) == "YES"};
      t->order.push_back(col);
    }
    if (t->columns.empty()) {
      return Status::Invalid("table \"" + schema_ + "." + c.name + "\" does not exist in connector " + name_,
                             c.pointer + "/name");
    }
    auto need = [&](const std::string& col, const std::string& pointer) -> Status {
      if (t->columns.count(col)) return Status::Ok();
      return Status::Invalid("table \"" + c.name + "\" has no column \"" + col + "\"", pointer);
    };
    if (!c.primary_key.empty()) LETHE_RETURN_IF_ERROR(need(c.primary_key, c.pointer + "/primary_key"));
    for (const auto& l : c.links) LETHE_RETURN_IF_ERROR(need(l.column, l.pointer));
    for (const auto& [col, how] : c.erase.mask) {
      std::string p = c.pointer + "/erase/mask/" + PointerToken(col);
      LETHE_RETURN_IF_ERROR(need(col, p));
      const Column& info = t->columns[col];
      if ((how == "redact" || how == "hash") && !IsTextType(info.udt)) {
        return Status::Invalid("mask \"" + how + "\" needs a text column; \"" + col + "\" is " + info.udt, p);
      }
      if (how == "null" && !info.nullable) {
        return Status::Invalid("mask \"null\" on column \"" + col + "\", which is NOT NULL", p);
      }
    }
    for (size_t i = 0; i < c.rectify.size(); ++i) {
      LETHE_RETURN_IF_ERROR(need(c.rectify[i], c.pointer + "/rectify/" + std::to_string(i)));
    }
    for (size_t i = 0; i < c.omit.size(); ++i) {
      LETHE_RETURN_IF_ERROR(need(c.omit[i], c.pointer + "/omit/" + std::to_string(i)));
    }
    if (c.restrict_set.is_object()) {
      for (const auto& [col, v] : c.restrict_set.items()) {
        LETHE_RETURN_IF_ERROR(need(col, c.pointer + "/restrict/set/" + PointerToken(col)));
      }
    }
    if (c.retain && !c.retain->from.empty()) LETHE_RETURN_IF_ERROR(need(c.retain->from, c.pointer + "/retain/from"));
    if (c.primary_key.empty() && c.erase.kind != EraseAction::Kind::kKeep) {
      return Status::Invalid("collection \"" + c.name + "\" needs a primary_key to be erased", c.pointer);
    }
    return Status::Ok();
  }

  Status TableOf(const Tables& tables, const CollectionSpec& c, const Table** t) {
    auto it = tables.find(c.name);
    if (it == tables.end()) return Status::Invalid("connector " + name_ + " has no collection " + c.name);
    *t = &it->second;
    return Status::Ok();
  }

  // Values that could equal something in a column of this type. A value that
  // cannot (an email against an integer column) is left out rather than
  // sent, where the server would fail the whole statement parsing it.
  static std::vector<std::string> UsableValues(const std::string& udt, const std::vector<std::string>& values) {
    std::vector<std::string> out;
    for (const auto& v : values) {
      if (IsIntType(udt) && !FitsIntType(udt, v)) continue;
      if (udt == "uuid" && !IsUuidText(v)) continue;
      out.push_back(v);
    }
    return out;
  }

  // "col1 = ANY($1) OR col2 = ANY($2)" over the match terms; columns must be
  // links of the collection. Empty when no term has a usable value.
  Status BuildWhere(const CollectionSpec& c, const Table& t, const Match& m, std::string* where,
                    std::vector<std::string>* params) {
    for (const MatchTerm& term : m) {
      bool linked = std::any_of(c.links.begin(), c.links.end(),
                                [&](const CollectionSpec::Link& l) { return l.column == term.column; });
      if (!linked) return Status::Invalid("collection " + c.name + " is not linked through column " + term.column);
      LETHE_ASSIGN_OR_RETURN(auto q, QuoteIdentifier(term.column, c.pointer));
      const std::string& udt = t.columns.at(term.column).udt;
      std::vector<std::string> values = UsableValues(udt, term.values);
      if (values.empty()) continue;
      LETHE_ASSIGN_OR_RETURN(auto arr, TextArrayLiteral(values));
      params->push_back(std::move(arr));
      std::string p = "$" + std::to_string(params->size());
      if (!where->empty()) *where += " OR ";
      // Types the server can compare directly keep their indexes usable; any
      // other type is compared as text.
      if (IsTextType(udt) || IsIntType(udt) || udt == "uuid") {
        *where += q + " = ANY(" + p + ")";
      } else {
        *where += q + "::text = ANY(" + p + "::text[])";
      }
    }
    return Status::Ok();
  }

  // Rows chosen by a WHERE clause over $1..$n and its parameters.
  struct Selector {
    std::string where;
    std::vector<std::string> params;
    std::vector<const char*> values() const {
      std::vector<const char*> v;
      for (const auto& p : params) v.push_back(p.c_str());
      return v;
    }
  };

  // One transaction per batch: a batch is applied whole or not at all.
  Result<int64_t> InTransaction(PGconn* conn, const CollectionSpec& c, const Table& t, const Selector& sel,
                                const EraseAction& a) {
    LETHE_RETURN_IF_ERROR(Exec(conn, "BEGIN"));
    auto n = a.kind == EraseAction::Kind::kDelete ? Delete(conn, t, sel) : Mask(conn, c, t, sel, a);
    if (!n.ok()) {
      (void)Exec(conn, "ROLLBACK");  // best effort: the batch's own error is the one to report
      return n.status();
    }
    LETHE_RETURN_IF_ERROR(Exec(conn, "COMMIT"));
    return n;
  }

  Result<int64_t> Delete(PGconn* conn, const Table& t, const Selector& sel) {
    std::string sql = "DELETE FROM " + t.quoted + " WHERE " + sel.where;
    auto values = sel.values();
    PgResult r(
        PQexecParams(conn, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(), nullptr, nullptr, 0));
    if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) return ResultError(conn, r.get(), "delete failed");
    return static_cast<int64_t>(std::atoll(PQcmdTuples(r.get())));
  }

  // Masks: "null" and "redact" alone are one UPDATE. "hash" needs each row's
  // value (HMAC-SHA256 with the request's key, computed here), so then the
  // rows are read FOR UPDATE and each is written once, by ctid, with all its
  // masks: the columns that selected the rows may be among those masked.
  // Values already hashed are left alone, so a resumed erasure is harmless.
  Result<int64_t> Mask(PGconn* conn, const CollectionSpec& c, const Table& t, const Selector& sel,
                       const EraseAction& a) {
    std::vector<std::string> fixed;
    std::string fixed_changes;  // true for rows a null or redact mask changes
    std::vector<std::string> hashed;
    for (const auto& [col, how] : a.mask) {
      LETHE_ASSIGN_OR_RETURN(auto q, QuoteIdentifier(col, c.pointer + "/erase/mask"));
      if (!t.columns.count(col)) return Status::Invalid("table " + c.name + " has no column \"" + col + "\"");
      if (how == "null") {
        fixed.push_back(q + " = NULL");
        fixed_changes += (fixed_changes.empty() ? "" : " OR ") + q + " IS NOT NULL";
      } else if (how == "redact") {
        std::string redacted = "'" + std::string(kRedacted) + "'";
        fixed.push_back(q + " = " + redacted);
        fixed_changes += (fixed_changes.empty() ? "" : " OR ") + q + " IS DISTINCT FROM " + redacted;
      } else if (how == "hash") {
        hashed.push_back(q);
      } else {
        return Status::Invalid("unknown mask \"" + how + "\"");
      }
    }
    if (!hashed.empty() && a.hash_key.empty()) return Status::Internal("hash mask without a hash key");
    auto values = sel.values();
    int nparams = static_cast<int>(values.size());

    if (hashed.empty()) {
      std::string set;
      for (const auto& f : fixed) set += (set.empty() ? "" : ", ") + f;
      // Rows already masked are left alone, so a re-run reports 0 changed.
      std::string sql = "UPDATE " + t.quoted + " SET " + set + " WHERE (" + sel.where + ") AND (" + fixed_changes + ")";
      PgResult r(PQexecParams(conn, sql.c_str(), nparams, nullptr, values.data(), nullptr, nullptr, 0));
      if (PQresultStatus(r.get()) != PGRES_COMMAND_OK)
        return ResultError(conn, r.get(), "mask of " + c.name + " failed");
      return static_cast<int64_t>(std::atoll(PQcmdTuples(r.get())));
    }

    std::string cols = "ctid::text";
    for (const auto& h : hashed) cols += ", " + h;
    std::string sql = "SELECT " + cols + " FROM " + t.quoted + " WHERE " + sel.where + " FOR UPDATE";
    PgResult rows(PQexecParams(conn, sql.c_str(), nparams, nullptr, values.data(), nullptr, nullptr, 0));
    if (PQresultStatus(rows.get()) != PGRES_TUPLES_OK)
      return ResultError(conn, rows.get(), "mask of " + c.name + " failed");
    int64_t changed = 0;
    for (int i = 0; i < PQntuples(rows.get()); ++i) {
      std::vector<std::string> assignments = fixed;
      std::vector<std::string> params;
      for (size_t h = 0; h < hashed.size(); ++h) {
        int f = static_cast<int>(h) + 1;
        if (PQgetisnull(rows.get(), i, f)) continue;
        std::string v = PQgetvalue(rows.get(), i, f);
        if (v.rfind(kMaskHashPrefix, 0) == 0) continue;  // already masked
        params.push_back(MaskHash(a.hash_key, v));
        assignments.push_back(hashed[h] + " = $" + std::to_string(params.size()));
      }
      if (assignments.empty()) continue;
      // With no hash to write, the row changes only if a fixed mask does.
      bool hashing = assignments.size() > fixed.size();
      params.push_back(PQgetvalue(rows.get(), i, 0));
      std::string set;
      for (const auto& s : assignments) set += (set.empty() ? "" : ", ") + s;
      std::string upd =
          "UPDATE " + t.quoted + " SET " + set + " WHERE ctid = $" + std::to_string(params.size()) + "::tid";
      if (!hashing) upd += " AND (" + fixed_changes + ")";
      std::vector<const char*> pv;
      for (const auto& p : params) pv.push_back(p.c_str());
      PgResult r(PQexecParams(conn, upd.c_str(), static_cast<int>(pv.size()), nullptr, pv.data(), nullptr, nullptr, 0));
      if (PQresultStatus(r.get()) != PGRES_COMMAND_OK)
        return ResultError(conn, r.get(), "mask of " + c.name + " failed");
      changed += std::atoll(PQcmdTuples(r.get()));
    }
    return changed;
  }

  Status Exec(PGconn* conn, const char* sql) {
    PgResult r(PQexec(conn, sql));
    if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) return ResultError(conn, r.get(), std::string(sql) + " failed");
    return Status::Ok();
  }

  static void Cancel(PGconn* conn) {
    if (PGcancel* cancel = PQgetCancel(conn)) {
      char err[256];
      PQcancel(cancel, err, sizeof err);
      PQfreeCancel(cancel);
    }
  }

  static void Drain(PGconn* conn) {
    while (PGresult* r = PQgetResult(conn)) PQclear(r);
  }

  static std::string OneLine(const char* msg) {
    std::string s = msg ? msg : "";
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    std::replace(s.begin(), s.end(), '\n', ' ');
    return s;
  }

  // A lost connection's message is libpq's own (host, port, "server closed
  // the connection"). On a live connection the last message is the server's,
  // which may quote values: say only that it failed.
  Status ConnError(PGconn* conn, const std::string& what) {
    if (PQstatus(conn) == CONNECTION_OK) return Status::Io("connector " + name_ + ": " + what + " failed");
    return Status::Unavailable("connector " + name_ + ": " + what + ": " + OneLine(PQerrorMessage(conn)));
  }

  // The server's text is never passed on: its DETAIL quotes key values
  // ("Key (email)=(ada@example.com) already exists") and even its primary
  // message can ('invalid input syntax for type integer: "abc"'). Error texts
  // reach events, logs and operator mail, so they carry the SQLSTATE and the
  // names of the schema objects involved, never values.
  Status ResultError(PGconn* conn, const PGresult* r, const std::string& what) {
    if (PQstatus(conn) != CONNECTION_OK) return ConnError(conn, what);
    return Status::Io("connector " + name_ + ": " + what + ": " + SafeServerError(r));
  }

  static std::string SafeServerError(const PGresult* r) {
    auto field = [r](int code) -> std::string {
      const char* v = PQresultErrorField(r, code);
      return v ? v : "";
    };
    std::string out = "SQLSTATE " + (field(PG_DIAG_SQLSTATE).empty() ? std::string("?") : field(PG_DIAG_SQLSTATE));
    const std::pair<const char*, int> names[] = {{"table", PG_DIAG_TABLE_NAME},
                                                 {"column", PG_DIAG_COLUMN_NAME},
                                                 {"constraint", PG_DIAG_CONSTRAINT_NAME},
                                                 {"type", PG_DIAG_DATATYPE_NAME}};
    for (const auto& [label, code] : names) {
      std::string v = field(code);
      if (!v.empty()) out += std::string(" ") + label + " " + v;
    }
    return out;
  }

  static constexpr size_t kMaxIdle = 4;
  std::string name_;
  std::string dsn_;
  std::string schema_;
  std::vector<CollectionSpec> collections_;
  std::mutex mu_;                         // guards idle_ and tables_ (never held during a call)
  std::vector<PGconn*> idle_;             // connections no call is using
  std::shared_ptr<const Tables> tables_;  // set by Connect (or the first call), then only replaced
};

Result<std::unique_ptr<Connector>> MakePostgres(const nlohmann::json& config, const std::string& pointer,
                                                const ConnectorContext& ctx) {
  ConnectorConfigReader r(config, pointer, ctx, "postgres");
  std::string name = r.Name();
  std::optional<std::string> dsn = r.StringOrEnv("dsn", ConnectorConfigReader::kRequired, "a connection string");
  std::string schema = "public";
  if (const nlohmann::json* v = r.Raw("schema", ConnectorConfigReader::kOptional)) {
    if (!v->is_string() || !QuoteIdentifier(v->get<std::string>(), "").ok()) {
      r.Fail("schema", "must be a plain identifier ([A-Za-z_][A-Za-z0-9_]*)");
    } else {
      schema = v->get<std::string>();
    }
  }
  const nlohmann::json* collections = r.NonEmptyArray("collections", ConnectorConfigReader::kRequired);
  LETHE_RETURN_IF_ERROR(r.Finish());

  std::vector<CollectionSpec> specs;
  std::set<std::string> names;
  for (size_t i = 0; i < collections->size(); ++i) {
    std::string p = pointer + "/collections/" + std::to_string(i);
    LETHE_ASSIGN_OR_RETURN(auto spec, ParseTableCollection((*collections)[i], name, p));
    if (!names.insert(spec.name).second) return Status::Invalid("duplicate collection \"" + spec.name + "\"", p);
    specs.push_back(std::move(spec));
  }
  return std::unique_ptr<Connector>(
      new PostgresConnector(std::move(name), std::move(*dsn), std::move(schema), std::move(specs)));
}

}  // namespace

LETHE_REGISTER_CONNECTOR("postgres", MakePostgres)

}  // namespace lethe
