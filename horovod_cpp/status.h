// Status and StatusOr: how every internal function reports failure. Only the public API
// turns a Status into hvd::Error. Cheap on success (leveldb's pattern: no allocation).
#pragma once

#include <cassert>
#include <memory>
#include <optional>
#include <string>
#include <utility>

namespace hvd {

class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status ok() { return Status(); }
  static Status error(std::string message) { return Status(std::move(message)); }

  bool is_ok() const { return message_ == nullptr; }
  // Empty for an ok status.
  const std::string& message() const {
    static const std::string kEmpty;
    return message_ ? *message_ : kEmpty;
  }
  // Returns a status whose message is `context: <this message>`; ok stays ok.
  Status with_context(const std::string& context) const {
    return is_ok() ? *this : Status(context + ": " + message());
  }

 private:
  explicit Status(std::string message)
      : message_(std::make_shared<const std::string>(std::move(message))) {}
  std::shared_ptr<const std::string> message_;
};

template <class T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(T value) : value_(std::move(value)) {}         // NOLINT: implicit by design
  StatusOr(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    assert(!status_.is_ok() && "StatusOr needs a value or an error");
  }

  bool is_ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace hvd

#define HVD_CONCAT_INNER(a, b) a##b
#define HVD_CONCAT(a, b) HVD_CONCAT_INNER(a, b)

// Returns the status from the enclosing function if it is an error.
#define HVD_RETURN_IF_ERROR(expr)       \
  do {                                  \
    ::hvd::Status hvd_status_ = (expr); \
    if (!hvd_status_.is_ok())           \
      return hvd_status_;               \
  } while (false)

// `HVD_ASSIGN_OR_RETURN(auto x, f())` declares x from a StatusOr or returns its error.
#define HVD_ASSIGN_OR_RETURN(decl, expr) \
  HVD_ASSIGN_OR_RETURN_IMPL(HVD_CONCAT(hvd_statusor_, __LINE__), decl, expr)
#define HVD_ASSIGN_OR_RETURN_IMPL(tmp, decl, expr) \
  auto tmp = (expr);                               \
  if (!tmp.is_ok())                                \
    return tmp.status();                           \
  decl = std::move(tmp).value()
