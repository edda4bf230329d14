// Errors are values. An Error names what failed (a stable code the API maps to an HTTP status),
// says why in words, and where a request field is at fault, names it.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace enclave {

enum class ErrorCode {
  kInvalidArgument,      // 400
  kUnauthenticated,      // 401
  kPermissionDenied,     // 403
  kNotFound,             // 404 (also: another org's resource)
  kConflict,             // 409 (e.g. session_not_running)
  kTooLarge,             // 413
  kQuotaExceeded,        // 429 (e.g. an org's stored bytes are over its quota)
  kUnavailable,          // 503
  kInsufficientStorage,  // 507 (the data dir's disk is below its free-space floor)
  kInternal,             // 500
  kNotImplemented,       // 501 (e.g. not_supported_on_backend)
};

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string reason;     // machine-readable, e.g. "session_not_running", "not_found"
  std::string message;    // for people
  std::string field;      // request field at fault, e.g. "limits.memoryMb"; may be empty
  int retry_after_s = 0;  // > 0: the HTTP answer carries `Retry-After` with this many seconds
};

inline Error make_error(ErrorCode code, std::string reason, std::string message,
                        std::string field = {}) {
  return Error{code, std::move(reason), std::move(message), std::move(field)};
}

// A value or an error.
template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Error e) : v_(std::move(e)) {}
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

}  // namespace enclave
