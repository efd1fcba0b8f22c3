// A thin RAII layer over the sqlite3 C API: statements with bound
// parameters only (values never enter SQL text), and errors as Status.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "lethe/status.h"

namespace lethe::sqlite {

class Stmt {
 public:
  Stmt(sqlite3* db, std::string_view sql);
  ~Stmt();
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  const Status& status() const { return status_; }
  Stmt& Bind(int i, std::string_view v);
  Stmt& Bind(int i, int64_t v);
  Stmt& Bind(int i, std::optional<int64_t> v);
  Stmt& BindNull(int i);
  // SQLITE_ROW -> true, SQLITE_DONE -> false; errors land in status().
  bool Step();
  Status Run();  // steps to completion

  std::string Text(int col) const;
  int64_t Int(int col) const;
  bool IsNull(int col) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  Status status_;
};

// Executes SQL without parameters (DDL, BEGIN/COMMIT).
Status Exec(sqlite3* db, const std::string& sql);

}  // namespace lethe::sqlite
