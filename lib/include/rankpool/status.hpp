#pragma once
// The one convention for expected failures (a bad option, a missing file, a corrupt
// checkpoint): a [[nodiscard]] value, never a bare std::string whose emptiness means success.
// Exceptions stay for broken invariants and MPI failures.
//
//   Status s = write_checkpoint(...);
//   if (!s) return s;                 // or: report(s.message())
//   Result<Config> c = load(...);
//   if (!c) return c.status();
//   use(*c);

#include <cassert>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace rankpool {

/// Success, or one line saying what went wrong. Contextually false on failure.
class [[nodiscard]] Status {
 public:
  /// Success.
  Status() = default;
  static Status ok_status() { return {}; }
  /// A failure; `message` must not be empty (an empty message would read as success).
  static Status error(std::string message) {
    assert(!message.empty());
    Status s;
    s.message_ = message.empty() ? std::string("unknown error") : std::move(message);
    return s;
  }

  bool ok() const { return message_.empty(); }
  explicit operator bool() const { return ok(); }
  /// "" on success.
  const std::string& message() const { return message_; }
  /// The same failure with `context` in front ("--resume: " + message); success stays success.
  Status prefixed(std::string_view context) const { return ok() ? Status{} : error(std::string(context) + message_); }
  bool operator==(const Status&) const = default;
  friend std::ostream& operator<<(std::ostream& os, const Status& s) {
    return os << (s.ok() ? std::string_view("ok") : std::string_view(s.message_));
  }

 private:
  std::string message_;
};

/// A value, or the Status saying why there is none.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  /// A failure; `status` must not be ok.
  Result(Status status) : v_(std::in_place_index<1>, std::move(status)) {  // NOLINT
    assert(!std::get<1>(v_).ok());
    if (std::get<1>(v_).ok()) v_.template emplace<1>(Status::error("Result built from an ok Status"));
  }

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  /// Success (an ok Status) or the failure.
  Status status() const { return ok() ? Status{} : std::get<1>(v_); }
  /// The value; only when ok() (checked: a broken invariant throws std::bad_variant_access).
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  template <class U>
  T value_or(U&& fallback) const& {
    return ok() ? value() : static_cast<T>(std::forward<U>(fallback));
  }

 private:
  std::variant<T, Status> v_;
};

}  // namespace rankpool
