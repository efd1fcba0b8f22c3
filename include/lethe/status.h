// Status and Result<T>: how errors cross module edges in Lethe.
//
// Like LevelDB's Status: no exceptions across modules. A Status carries a
// code (which maps to an HTTP status and a CLI exit code at the edges), a
// one-line message, and optionally the JSON pointer of the field at fault.
#pragma once

#include <cstdio>
#include <cstdlib>
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

// [[nodiscard]]: a Status or Result that is dropped on the floor is a bug
// (a failed delete reported as done); the compiler says so. Where ignoring
// is right, say why and write `(void)`.
class [[nodiscard]] Status {
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
//
// Reading the value of a failed Result is a bug in the caller, not a runtime
// condition: it aborts with a message in every build type (like abseil's
// StatusOr) instead of reading an empty optional, which is undefined.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit on purpose
  // REQUIRES: !status.ok() (a Result with no value must say why).
  Result(Status status) : status_(std::move(status)) {  // NOLINT
    if (status_.ok()) Misuse("Result built from an OK Status without a value");
  }
  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  // REQUIRES: ok().
  T& value() { return Checked(); }
  const T& value() const { return const_cast<Result*>(this)->Checked(); }
  T* operator->() { return &Checked(); }
  const T* operator->() const { return &const_cast<Result*>(this)->Checked(); }
  T& operator*() { return Checked(); }
  const T& operator*() const { return const_cast<Result*>(this)->Checked(); }

 private:
  [[noreturn]] static void Misuse(const char* what) {
    std::fprintf(stderr, "lethe: %s\n", what);
    std::abort();
  }
  T& Checked() {
    if (!value_) Misuse("value() of a failed Result");
    return *value_;
  }

  Status status_;
  std::optional<T> value_;
};

}  // namespace lethe

// Early-return helpers for functions that return Status or Result<T>
// (abseil's status_macros.h).
#define LETHE_RETURN_IF_ERROR(expr) \
  do {                              \
    ::lethe::Status _st = (expr);   \
    if (!_st.ok()) return _st;      \
  } while (0)

// LETHE_ASSIGN_OR_RETURN(auto x, MakeX()); declares (or assigns) x from a
// Result's value, or returns the Result's Status from the enclosing function.
#define LETHE_ASSIGN_OR_RETURN(lhs, expr) \
  LETHE_ASSIGN_OR_RETURN_IMPL_(LETHE_STATUS_CONCAT_(lethe_result_, __LINE__), lhs, expr)
#define LETHE_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.status();                \
  lhs = std::move(tmp.value())
// Two levels so that __LINE__ expands before it is pasted.
#define LETHE_STATUS_CONCAT_INNER_(a, b) a##b
#define LETHE_STATUS_CONCAT_(a, b) LETHE_STATUS_CONCAT_INNER_(a, b)
