// The sqlite connector: tables in an SQLite file, including sqlite-vec `vec0`
// virtual tables when the extension is listed in "extensions".
//
// Identity values only ever travel as bound parameters; table and column names
// come from config and pass QuoteIdentifier before they reach SQL text.
#include <sqlite3.h>

#include <algorithm>
#include <charconv>
#include <cctype>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <set>

#include <spdlog/spdlog.h>

#include "lethe/hex.h"
#include "lethe/json_pointer.h"
#include "lethe/mask.h"
#include "lethe/connector.h"
#include "lethe/connector_config.h"
#include "lethe/util/base64.h"

namespace lethe {
namespace {

// Finalizes a statement on every path out of a scope.
class Stmt {
 public:
  Stmt() = default;
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  sqlite3_stmt** addr() { return &s_; }
  sqlite3_stmt* get() const { return s_; }

 private:
  sqlite3_stmt* s_ = nullptr;
};

// Keyed hash for "hash" masks, as an SQL function so a mask is one UPDATE:
// lethe_mask_hash(key, value). Values already masked are returned unchanged,
// which makes re-running an interrupted mask harmless.
void MaskHashFn(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  if (sqlite3_value_type(argv[1]) == SQLITE_NULL) {
    sqlite3_result_null(ctx);
    return;
  }
  std::string key(reinterpret_cast<const char*>(sqlite3_value_blob(argv[0])), sqlite3_value_bytes(argv[0]));
  const unsigned char* t = sqlite3_value_text(argv[1]);
  std::string value(reinterpret_cast<const char*>(t), sqlite3_value_bytes(argv[1]));
  if (value.rfind(kMaskHashPrefix, 0) == 0) {
    sqlite3_result_value(ctx, argv[1]);
    return;
  }
  std::string h = MaskHash(key, value);
  sqlite3_result_text(ctx, h.data(), static_cast<int>(h.size()), SQLITE_TRANSIENT);
}

// The value as a 64-bit integer if it is written exactly as SQLite would
// print one ("42", "-7"; not "042", "+1", "1e3"), else nullopt. A value out
// of int64 range ("9999999999999999999") is not an integer here: it is
// matched as text, which finds no row in an INTEGER column. Never throws, so
// an odd identity cannot take the worker down.
std::optional<int64_t> CanonicalInteger(const std::string& s) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  size_t i = (s[0] == '-') ? 1 : 0;
  if (i == s.size()) return std::nullopt;
  if (s[i] == '0' && s.size() > i + 1) return std::nullopt;
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

bool IsCanonicalInteger(const std::string& s) { return CanonicalInteger(s).has_value(); }

struct TableInfo {
  bool vec0 = false;
  std::map<std::string, std::string> columns;  // name -> declared type (upper case)
};

class SqliteConnector : public Connector {
 public:
  SqliteConnector(std::string name, std::string path, std::vector<std::string> extensions,
                  std::vector<CollectionSpec> collections, std::string pointer)
      : name_(std::move(name)),
        path_(std::move(path)),
        extensions_(std::move(extensions)),
        collections_(std::move(collections)),
        pointer_(std::move(pointer)) {}

  ~SqliteConnector() override {
    DropStatements();
    sqlite3_close_v2(db_);
  }

  const std::string& name() const override { return name_; }
  const std::vector<CollectionSpec>& collections() const override { return collections_; }

  Status Connect() override {
    std::lock_guard<std::mutex> lock(mu_);
    if (db_ != nullptr) return Status::Ok();
    // No SQLITE_OPEN_CREATE: a mistyped path must fail, not create an empty database.
    int rc = sqlite3_open_v2(path_.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, nullptr);
    if (rc != SQLITE_OK) {
      std::string msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
      sqlite3_close_v2(db_);
      db_ = nullptr;
      return Status::Unavailable("sqlite connector " + name_ + ": cannot open " + path_ + ": " + msg);
    }
    sqlite3_busy_timeout(db_, 10000);
    sqlite3_create_function(db_, "lethe_mask_hash", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC, nullptr, &MaskHashFn,
                            nullptr, nullptr);
    if (!extensions_.empty()) {
      // C API only: the SQL function load_extension() stays disabled.
      sqlite3_db_config(db_, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 1, nullptr);
      for (size_t i = 0; i < extensions_.size(); ++i) {
        char* err = nullptr;
        if (sqlite3_load_extension(db_, extensions_[i].c_str(), nullptr, &err) != SQLITE_OK) {
          std::string msg = err ? err : "unknown error";
          sqlite3_free(err);
          Status st = Status::Invalid("cannot load extension: " + msg, pointer_ + "/extensions/" + std::to_string(i));
          sqlite3_close_v2(db_);
          db_ = nullptr;
          return st;
        }
      }
      // Only config-listed extensions load.
      sqlite3_db_config(db_, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, nullptr);
    }
    Status st = CheckSchema();
    if (!st.ok()) {
      sqlite3_close_v2(db_);
      db_ = nullptr;
    }
    return st;
  }

  // Re-entry (connector.h): Find takes mu_ only around each SQLite call,
  // never while the sink runs, so a sink may call this connector again, on
  // its thread or another. SQLite allows a write on the handle while a read
  // statement is pending; a statement in use is checked out of the cache,
  // so a nested Find with the same SQL prepares its own.
  Status Find(const CollectionSpec& c, const Match& m, const std::function<Status(const Item&)>& sink) override {
    return Query(c, m, nullptr, sink);
  }

  // Reads only the key and these columns: discovery for erasure skips
  // building JSON for whole rows it will never show anyone.
  Status FindColumns(const CollectionSpec& c, const Match& m, const std::vector<std::string>& columns,
                     const std::function<Status(const Item&)>& sink) override {
    return Query(c, m, &columns, sink);
  }

  Result<int64_t> Erase(const CollectionSpec& c, const Match& m, const std::vector<std::string>& keys,
                        const EraseAction& a) override {
    if (a.kind == EraseAction::Kind::kKeep || keys.empty()) return int64_t{0};
    std::string set;
    std::vector<std::string> set_binds;      // bound before the keys
    std::string changes;                     // masks: true for rows the mask changes
    std::vector<std::string> changes_binds;  // bound after the keys
    if (a.kind == EraseAction::Kind::kMask) {
      // An empty SET would turn this into a DELETE below: refuse it instead.
      if (a.mask.empty()) return Status::Invalid("mask names no columns", c.pointer + "/erase/mask");
      for (const auto& [col, how] : a.mask) {
        LETHE_ASSIGN_OR_RETURN(auto q, QuoteIdentifier(col, c.pointer + "/erase/mask/" + PointerToken(col)));
        if (!set.empty()) set += ", ";
        // Each column's new value, once for SET and once for the WHERE that
        // leaves rows already masked alone (so a re-run reports 0 changed).
        std::string value;
        if (how == "null") {
          value = "NULL";
        } else if (how == "redact") {
          value = "?";
          set_binds.emplace_back(kRedacted);
          changes_binds.emplace_back(kRedacted);
        } else if (how == "hash") {
          value = "lethe_mask_hash(?, " + q + ")";
          set_binds.push_back(a.hash_key);
          changes_binds.push_back(a.hash_key);
        } else {
          return Status::Invalid("unknown mask \"" + how + "\"", c.pointer + "/erase/mask/" + PointerToken(col));
        }
        set += q + " = " + value;
        changes += (changes.empty() ? "" : " OR ") + q + " IS NOT " + value;
      }
    } else if (a.kind != EraseAction::Kind::kDelete) {
      return Status::Invalid("sqlite collections support erase delete, keep or mask", c.pointer + "/erase");
    }
    return WriteByKeys(c, keys, set, set_binds, nullptr, changes, changes_binds);
  }

  Result<int64_t> Update(const CollectionSpec& c, const std::vector<std::string>& keys,
                         const nlohmann::json& values) override {
    if (keys.empty()) return int64_t{0};
    if (!values.is_object() || values.empty()) return Status::Invalid("nothing to update");
    std::string set;
    for (const auto& [col, v] : values.items()) {
      LETHE_ASSIGN_OR_RETURN(auto q, QuoteIdentifier(col, c.pointer));
      if (!set.empty()) set += ", ";
      set += q + " = ?";
    }
    return WriteByKeys(c, keys, set, {}, &values, "", {});
  }

 private:
  // A statement checked out of the cache (see Prepared): reset, unbound and
  // put back when its user is done, so the next user finds it fresh.
  // `lock` is the user's lock on mu_, held or not when it is done.
  class Checkout {
   public:
    Checkout(SqliteConnector* c, std::unique_lock<std::mutex>& lock, std::string sql, sqlite3_stmt* s)
        : c_(c), lock_(lock), sql_(std::move(sql)), s_(s) {}
    ~Checkout() {
      if (!lock_.owns_lock()) lock_.lock();
      c_->Return(sql_, s_);
    }
    Checkout(const Checkout&) = delete;
    Checkout& operator=(const Checkout&) = delete;
    sqlite3_stmt* get() const { return s_; }

   private:
    SqliteConnector* c_;
    std::unique_lock<std::mutex>& lock_;
    std::string sql_;
    sqlite3_stmt* s_;
  };

  // Find, reading every column (columns null) or only the key and `columns`.
  Status Query(const CollectionSpec& c, const Match& m, const std::vector<std::string>* columns,
               const std::function<Status(const Item&)>& sink) {
    std::unique_lock<std::mutex> lock(mu_);
    if (db_ == nullptr) return Status::Internal("sqlite connector " + name_ + ": Find before Connect");
    LETHE_ASSIGN_OR_RETURN(auto table, QuoteIdentifier(c.name, c.pointer + "/name"));
    auto found = tables_.find(c.name);
    if (found == tables_.end()) return Status::Invalid("sqlite connector " + name_ + " has no collection " + c.name);
    const TableInfo& info = found->second;  // tables_ changes only in Connect

    std::string where;
    std::vector<Param> binds;
    for (const auto& term : m) {
      if (term.values.empty()) continue;
      LETHE_ASSIGN_OR_RETURN(auto col, QuoteIdentifier(term.column, c.pointer));
      if (!where.empty()) where += " OR ";
      where += col + " IN " + InList(term.values.begin(), term.values.end(), ColumnKind(info, term.column), &binds);
    }
    if (where.empty()) return Status::Ok();  // nothing to look for

    std::string key_expr = c.primary_key.empty() ? "rowid" : *QuoteIdentifier(c.primary_key, "");
    std::string select = columns == nullptr ? ", *" : "";
    if (columns != nullptr) {
      for (const auto& col : *columns) {
        if (!info.columns.count(col)) continue;  // as with *: a column the table lacks is just absent
        LETHE_ASSIGN_OR_RETURN(auto q, QuoteIdentifier(col, c.pointer));
        select += ", " + q;
      }
    }
    std::string sql = "SELECT " + key_expr + " AS lethe_key__" + select + " FROM " + table + " WHERE " + where;
    sqlite3_stmt* prepared = Prepared(sql, /*checkout=*/true);
    if (prepared == nullptr)
      return Status::Io("sqlite connector " + name_ + ": " + c.name + ": " + sqlite3_errmsg(db_));
    Checkout stmt(this, lock, sql, prepared);
    for (size_t i = 0; i < binds.size(); ++i) Bind(stmt.get(), static_cast<int>(i + 1), binds[i]);
    int ncol = sqlite3_column_count(stmt.get());
    std::vector<std::string> names;  // read once, not once a row
    for (int i = 1; i < ncol; ++i) names.emplace_back(sqlite3_column_name(stmt.get(), i));
    const bool vec0 = info.vec0;
    Item item;
    while (true) {
      if (!lock.owns_lock()) lock.lock();
      int rc = sqlite3_step(stmt.get());
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) {
        return Status::Io("sqlite connector " + name_ + ": " + c.name + ": " + sqlite3_errmsg(db_));
      }
      nlohmann::json::object_t fields;
      item.key = ColumnText(stmt.get(), 0);
      for (int i = 1; i < ncol; ++i) fields.emplace(names[i - 1], ColumnJson(stmt.get(), i, vec0));
      item.fields = std::move(fields);
      lock.unlock();  // never held while the caller's sink runs
      LETHE_RETURN_IF_ERROR(sink(item));
    }
    return Status::Ok();
  }

  // One transaction: DELETE (set empty) or UPDATE ... SET `set` for these keys.
  // Binds `set_binds` then (json_values' values, in order) then the keys,
  // then `only_binds` for the extra condition `only` (if not empty).
  Result<int64_t> WriteByKeys(const CollectionSpec& c, const std::vector<std::string>& keys, const std::string& set,
                              const std::vector<std::string>& set_binds, const nlohmann::json* json_values,
                              const std::string& only, const std::vector<std::string>& only_binds) {
    std::lock_guard<std::mutex> lock(mu_);
    if (db_ == nullptr) return Status::Internal("sqlite connector " + name_ + ": write before Connect");
    LETHE_ASSIGN_OR_RETURN(auto table, QuoteIdentifier(c.name, c.pointer + "/name"));
    std::string key_col = c.primary_key.empty() ? "rowid" : *QuoteIdentifier(c.primary_key, "");
    Affinity key_kind = c.primary_key.empty() ? Affinity::kInteger : ColumnKind(tables_[c.name], c.primary_key);

    if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) {
      return Status::Io("sqlite connector " + name_ + ": begin: " + sqlite3_errmsg(db_));
    }
    int64_t changed = 0;
    Status st;
    // SQLite's default limit on bound parameters is 999 on old builds; stay under it.
    constexpr size_t kChunk = 500;
    for (size_t start = 0; start < keys.size() && st.ok(); start += kChunk) {
      size_t n = std::min(kChunk, keys.size() - start);
      std::vector<Param> key_binds;
      std::string sql = set.empty() ? "DELETE FROM " + table : "UPDATE " + table + " SET " + set;
      sql +=
          " WHERE " + key_col + " IN " + InList(keys.begin() + start, keys.begin() + start + n, key_kind, &key_binds);
      if (!only.empty()) sql += " AND (" + only + ")";
      sqlite3_stmt* prepared = Prepared(sql, /*checkout=*/false);
      if (prepared == nullptr) {
        st = Status::Io("sqlite connector " + name_ + ": " + c.name + ": " + sqlite3_errmsg(db_));
        break;
      }
      // Borrowed in place: this write holds mu_ until the statement is done.
      struct Fresh {
        sqlite3_stmt* s;
        ~Fresh() {
          sqlite3_reset(s);
          sqlite3_clear_bindings(s);
        }
        sqlite3_stmt* get() const { return s; }
      } stmt{prepared};
      int idx = 1;
      for (const auto& b : set_binds) {
        sqlite3_bind_text(stmt.get(), idx++, b.data(), static_cast<int>(b.size()), SQLITE_TRANSIENT);
      }
      if (json_values != nullptr) {
        for (const auto& [col, v] : json_values->items()) BindJson(stmt.get(), idx++, v);
      }
      for (const auto& b : key_binds) Bind(stmt.get(), idx++, b);
      for (const auto& b : only_binds) {
        sqlite3_bind_text(stmt.get(), idx++, b.data(), static_cast<int>(b.size()), SQLITE_TRANSIENT);
      }
      if (sqlite3_step(stmt.get()) != SQLITE_DONE) {
        st = Status::Io("sqlite connector " + name_ + ": " + c.name + ": " + sqlite3_errmsg(db_));
        break;
      }
      changed += sqlite3_changes(db_);
    }
    if (!st.ok()) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      return st;
    }
    if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
      Status err = Status::Io("sqlite connector " + name_ + ": commit: " + sqlite3_errmsg(db_));
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      return err;
    }
    return changed;
  }

  // The prepared statement for `sql` (caller holds mu_), or nullptr with the
  // error in sqlite3_errmsg. Batches repeat the same SQL (an IN list of the
  // same length), and compiling a 500-parameter IN list costs more than
  // running it, so statements are kept and reused across batches. With
  // `checkout` the statement leaves the cache until Return: a Find keeps
  // it across sink calls, when mu_ is not held and a nested Find may want
  // the same SQL.
  sqlite3_stmt* Prepared(const std::string& sql, bool checkout) {
    auto it = statements_.find(sql);
    if (it != statements_.end()) {
      sqlite3_stmt* s = it->second;
      if (checkout) statements_.erase(it);
      return s;
    }
    // Bounded: distinct SQL texts are few (one per table, action and batch
    // length); when that is exceeded, start over rather than grow.
    if (statements_.size() >= kMaxStatements) DropStatements();
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr) != SQLITE_OK) {
      sqlite3_finalize(s);
      return nullptr;
    }
    if (!checkout) statements_.emplace(sql, s);
    return s;
  }

  // Puts a checked-out statement back (caller holds mu_); finalizes it when
  // a nested user already put one back for the same SQL.
  void Return(const std::string& sql, sqlite3_stmt* s) {
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    if (statements_.size() >= kMaxStatements || !statements_.emplace(sql, s).second) sqlite3_finalize(s);
  }

  void DropStatements() {
    for (auto& [sql, s] : statements_) sqlite3_finalize(s);
    statements_.clear();
  }

  // Every configured table and column must exist: found at check time, not
  // halfway through someone's erasure.
  Status CheckSchema() {
    for (const auto& c : collections_) {
      TableInfo info;
      LETHE_ASSIGN_OR_RETURN(auto table, QuoteIdentifier(c.name, c.pointer + "/name"));
      {
        Stmt stmt;
        std::string sql = "PRAGMA table_info(" + table + ")";
        if (sqlite3_prepare_v2(db_, sql.c_str(), -1, stmt.addr(), nullptr) != SQLITE_OK) {
          return Status::Invalid("cannot read table \"" + c.name + "\": " + sqlite3_errmsg(db_), c.pointer + "/name");
        }
        while (sqlite3_step(stmt.get()) == SQLITE_ROW) {
          std::string col = ColumnText(stmt.get(), 1);
          std::string type = ColumnText(stmt.get(), 2);
          std::transform(type.begin(), type.end(), type.begin(), [](unsigned char ch) { return std::toupper(ch); });
          info.columns[col] = type;
        }
      }
      if (info.columns.empty()) {
        return Status::Invalid("no table \"" + c.name + "\" in " + path_, c.pointer + "/name");
      }
      {
        Stmt stmt;
        sqlite3_prepare_v2(db_, "SELECT sql FROM sqlite_master WHERE name = ?", -1, stmt.addr(), nullptr);
        sqlite3_bind_text(stmt.get(), 1, c.name.c_str(), -1, SQLITE_TRANSIENT);
        if (sqlite3_step(stmt.get()) == SQLITE_ROW) {
          std::string sql = ColumnText(stmt.get(), 0);
          std::transform(sql.begin(), sql.end(), sql.begin(), [](unsigned char ch) { return std::tolower(ch); });
          info.vec0 = sql.find("using vec0") != std::string::npos;
          if (info.vec0) AddVec0Types(sql, &info);
        }
      }
      auto need = [&](const std::string& col, const std::string& pointer) -> Status {
        if (col.empty() || info.columns.count(col)) return Status::Ok();
        return Status::Invalid("no column \"" + col + "\" in table \"" + c.name + "\"", pointer);
      };
      LETHE_RETURN_IF_ERROR(need(c.primary_key, c.pointer + "/primary_key"));
      for (const auto& l : c.links) LETHE_RETURN_IF_ERROR(need(l.column, l.pointer));
      for (size_t i = 0; i < c.rectify.size(); ++i) {
        LETHE_RETURN_IF_ERROR(need(c.rectify[i], c.pointer + "/rectify/" + std::to_string(i)));
      }
      for (size_t i = 0; i < c.omit.size(); ++i) {
        LETHE_RETURN_IF_ERROR(need(c.omit[i], c.pointer + "/omit/" + std::to_string(i)));
      }
      for (const auto& [col, how] : c.erase.mask) {
        LETHE_RETURN_IF_ERROR(need(col, c.pointer + "/erase/mask/" + PointerToken(col)));
      }
      if (c.restrict_set.is_object()) {
        for (const auto& [col, v] : c.restrict_set.items()) {
          LETHE_RETURN_IF_ERROR(need(col, c.pointer + "/restrict/set/" + PointerToken(col)));
        }
      }
      if (c.retain) LETHE_RETURN_IF_ERROR(need(c.retain->from, c.pointer + "/retain/from"));
      tables_[c.name] = std::move(info);
    }
    return Status::Ok();
  }

  // PRAGMA table_info shows no types for vec0 columns; read them from the
  // declaration "vec0(user_id integer, embedding float[3], +note text)".
  static void AddVec0Types(const std::string& lower_sql, TableInfo* info) {
    size_t open = lower_sql.find('(', lower_sql.find("using vec0"));
    size_t close = lower_sql.rfind(')');
    if (open == std::string::npos || close == std::string::npos || close <= open) return;
    std::string body = lower_sql.substr(open + 1, close - open - 1);
    size_t start = 0;
    while (start <= body.size()) {
      size_t comma = body.find(',', start);
      std::string decl = body.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      std::vector<std::string> words;
      std::string w;
      for (char ch : decl + " ") {
        if (std::isspace(static_cast<unsigned char>(ch))) {
          if (!w.empty()) words.push_back(w);
          w.clear();
        } else {
          w += ch;
        }
      }
      if (words.size() >= 2) {
        std::string col = words[0];
        if (!col.empty() && col[0] == '+') col.erase(0, 1);
        for (auto& [name, type] : info->columns) {
          std::string lname = name;
          std::transform(lname.begin(), lname.end(), lname.begin(), [](unsigned char ch) { return std::tolower(ch); });
          if (lname == col && type.empty()) {
            type = words[1];
            std::transform(type.begin(), type.end(), type.begin(), [](unsigned char ch) { return std::toupper(ch); });
          }
        }
      }
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }

  // How values compare with a column. Values arrive as text; an INTEGER
  // column converts text on comparison, but vec0 columns and columns declared
  // without a type do not, so "42" must also be offered as the integer 42.
  enum class Affinity { kText, kInteger, kNone };
  struct Param {
    const std::string* value;
    bool as_int;
  };

  static Affinity ColumnKind(const TableInfo& info, const std::string& col) {
    auto it = info.columns.find(col);
    if (it == info.columns.end()) return Affinity::kNone;
    if (it->second.find("INT") != std::string::npos) return Affinity::kInteger;
    if (it->second.empty()) return Affinity::kNone;
    return Affinity::kText;
  }

  // "(?,?,...)" for the values, appending what to bind to `binds`.
  template <class It>
  static std::string InList(It begin, It end, Affinity kind, std::vector<Param>* binds) {
    std::string sql = "(";
    for (It it = begin; it != end; ++it) {
      bool integer = IsCanonicalInteger(*it);
      if (kind == Affinity::kInteger && integer) {
        binds->push_back({&*it, true});
      } else if (kind == Affinity::kNone && integer) {
        binds->push_back({&*it, true});
        binds->push_back({&*it, false});
        sql += sql.size() > 1 ? ",?" : "?";
      } else {
        binds->push_back({&*it, false});
      }
      sql += sql.size() > 1 ? ",?" : "?";
    }
    return sql + ")";
  }

  static void Bind(sqlite3_stmt* s, int idx, const Param& p) {
    std::optional<int64_t> v = p.as_int ? CanonicalInteger(*p.value) : std::nullopt;
    if (v) {
      sqlite3_bind_int64(s, idx, *v);
    } else {
      sqlite3_bind_text(s, idx, p.value->data(), static_cast<int>(p.value->size()), SQLITE_TRANSIENT);
    }
  }

  static void BindJson(sqlite3_stmt* s, int idx, const nlohmann::json& v) {
    if (v.is_null())
      sqlite3_bind_null(s, idx);
    else if (v.is_boolean())
      sqlite3_bind_int(s, idx, v.get<bool>() ? 1 : 0);
    else if (v.is_number_integer())
      sqlite3_bind_int64(s, idx, v.get<int64_t>());
    else if (v.is_number())
      sqlite3_bind_double(s, idx, v.get<double>());
    else if (v.is_string()) {
      const auto& str = v.get_ref<const std::string&>();
      sqlite3_bind_text(s, idx, str.data(), static_cast<int>(str.size()), SQLITE_TRANSIENT);
    } else {
      std::string dumped = v.dump();
      sqlite3_bind_text(s, idx, dumped.data(), static_cast<int>(dumped.size()), SQLITE_TRANSIENT);
    }
  }

  static std::string ColumnText(sqlite3_stmt* s, int i) {
    const unsigned char* t = sqlite3_column_text(s, i);
    return t ? std::string(reinterpret_cast<const char*>(t), sqlite3_column_bytes(s, i)) : std::string();
  }

  static nlohmann::json ColumnJson(sqlite3_stmt* s, int i, bool vec0) {
    switch (sqlite3_column_type(s, i)) {
      case SQLITE_INTEGER: return sqlite3_column_int64(s, i);
      case SQLITE_FLOAT: {
        double d = sqlite3_column_double(s, i);
        return std::isfinite(d) ? nlohmann::json(d) : nlohmann::json(nullptr);
      }
      case SQLITE_TEXT: {
        // Invalid UTF-8 would make the export unserializable; keep it as bytes.
        std::string t = ColumnText(s, i);
        return nlohmann::json(t);
      }
      case SQLITE_BLOB: {
        const char* p = static_cast<const char*>(sqlite3_column_blob(s, i));
        int n = sqlite3_column_bytes(s, i);
        if (vec0 && n % 4 == 0) {
          // sqlite-vec stores float[N] vectors as N little-endian float32s.
          nlohmann::json arr = nlohmann::json::array();
          for (int k = 0; k < n; k += 4) {
            float f;
            std::memcpy(&f, p + k, 4);
            arr.push_back(std::isfinite(f) ? nlohmann::json(static_cast<double>(f)) : nlohmann::json(nullptr));
          }
          return arr;
        }
        return nlohmann::json{{"base64", util::Base64Encode(std::string_view(p ? p : "", n))}};
      }
      default: return nullptr;
    }
  }

  std::string name_, path_;
  std::vector<std::string> extensions_;
  std::vector<CollectionSpec> collections_;
  std::string pointer_;
  std::mutex mu_;
  sqlite3* db_ = nullptr;
  std::map<std::string, TableInfo> tables_;
  static constexpr size_t kMaxStatements = 64;
  std::map<std::string, sqlite3_stmt*> statements_;  // by SQL text; see Prepared
};

Result<std::unique_ptr<Connector>> MakeSqliteConnector(const nlohmann::json& j, const std::string& pointer,
                                                       const ConnectorContext& ctx) {
  ConnectorConfigReader r(j, pointer, ctx, "sqlite");
  std::string name = r.Name();
  std::string path = r.Path("path", ConnectorConfigReader::kRequired);
  std::vector<std::string> extensions = r.Paths("extensions");
  const nlohmann::json* colls = r.NonEmptyArray("collections", ConnectorConfigReader::kRequired);
  LETHE_RETURN_IF_ERROR(r.Finish());
  std::vector<CollectionSpec> collections;
  std::set<std::string> seen;
  for (size_t i = 0; i < colls->size(); ++i) {
    std::string p = pointer + "/collections/" + std::to_string(i);
    LETHE_ASSIGN_OR_RETURN(auto c, ParseTableCollection((*colls)[i], name, p));
    if (!seen.insert(c.name).second) return Status::Invalid("duplicate collection \"" + c.name + "\"", p + "/name");
    collections.push_back(std::move(c));
  }
  return std::unique_ptr<Connector>(
      new SqliteConnector(name, path, std::move(extensions), std::move(collections), pointer));
}

}  // namespace
}  // namespace lethe

LETHE_REGISTER_CONNECTOR("sqlite", ::lethe::MakeSqliteConnector)
