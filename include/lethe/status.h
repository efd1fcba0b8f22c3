// Status and Result<T>: how errors cross module edges in Lethe.
//
// Like LevelDB's Status: no exceptions across modules. A Status carries a
// code (which maps to an HTTP status and a CLI exit code at the edges), a
// one-line message, and optionally the JSON pointer of the field at fault.
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace lethe {

enum class Code {
  kOk = 0,
  kInvalid,       // bad input: 400 / exit 2
  kNotFound,      // 404
  kConflict,      // illegal transition, duplicate: 409
  kUnauthorized,  // 401
  kForbidden,     // 403
  kTooLarge,      // 413
  kRateLimited,   // 429
  kGone,          // existed, deleted for good (an erased subject's export): 410
  kUnavailable,   // a connector or service could not be reached: 503 / exit 1
  kIo,            // file or database failure: 500 / exit 1
  kInternal,      // a bug: 500 / exit 1
};

class Status {
 public:
  Status() = default;  // OK

  static Status Ok() { return Status(); }
  static Status Invalid(std::string msg, std::string field = "") {
    return Status(Code::kInvalid, std::move(msg), std::move(field));
  }
  static Status NotFound(std::string msg) { return Status(Code::kNotFound, std::move(msg)); }
  static Status Conflict(std::string msg) { return Status(Code::kConflict, std::move(msg)); }
  static Status Unauthorized(std::string msg) { return Status(Code::kUnauthorized, std::move(msg)); }
  static Status Forbidden(std::string msg) { return Status(Code::kForbidden, std::move(msg)); }
  static Status Unavailable(std::string msg) { return Status(Code::kUnavailable, std::move(msg)); }
  static Status Io(std::string msg) { return Status(Code::kIo, std::move(msg)); }
  static Status Gone(std::string msg) { return Status(Code::kGone, std::move(msg)); }
  static Status Internal(std::string msg) { return Status(Code::kInternal, std::move(msg)); }

  Status(Code code, std::string msg, std::string field = "")
      : code_(code), message_(std::move(msg)), field_(std::move(field)) {}

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // JSON pointer of the offending field, or empty.
  const std::string& field() const { return field_; }

  // "message" or "field: message": the one-line form the CLI prints.
  std::string ToString() const {
    if (ok()) return "ok";
    return field_.empty() ? message_ : field_ + ": " + message_;
  }
  // Stable lowercase name of the code, used as the API's error.code.
  const char* CodeName() const;

 private:
  Code code_ = Code::kOk;
  std::string message_;
  std::string field_;
};

// A value or the Status that explains why there is none.
template <class T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}          // NOLINT: implicit on purpose
  Result(Status status) : status_(std::move(status)) {}  // NOLINT
  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  T& value() { return *value_; }
  const T& value() const { return *value_; }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() { return *value_; }
  const T& operator*() const { return *value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace lethe

// Early-return helper for functions that return Status or Result<T>.
#define LETHE_RETURN_IF_ERROR(expr)        \
  do {                                     \
    ::lethe::Status _st = (expr);          \
    if (!_st.ok()) return _st;             \
  } while (0)
