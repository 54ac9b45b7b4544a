#pragma once
// Task<In, Out>: the typed handle Registry::add() returns. The master's map() and submit()
// take it, so input, output and callback types are checked by the compiler:
//
//   auto square = registry.add("square", [](long x) { return x * x; });
//   MapResult<long> r = master.map(square, xs);       // xs: std::vector<long>
//   master.submit(square, 7L, [](Outcome<long>& o) { ... });
//
// On the wire and in the handshake a task type is still its name; the handle only
// carries the name, the registration index and the types.

#include <cstdint>
#include <string>
#include <type_traits>

namespace rankpool::farm {

class Registry;

template <class In, class Out>
class Task {
 public:
  using input_type = In;
  using output_type = Out;

  /// An unregistered handle (e.g. a member set later); map() and submit() reject it.
  Task() = default;
  const std::string& name() const { return name_; }
  /// Position in the registry (the wire's type number); -1 when unregistered.
  int index() const { return index_; }
  bool registered() const { return index_ >= 0; }

 private:
  friend class Registry;
  Task(std::string name, int index) : name_(std::move(name)), index_(index) {}
  std::string name_;
  int index_ = -1;
};

namespace detail {

/// In and Out of a callable with exactly one parameter and a non-void result: plain
/// functions, function pointers and lambdas whose parameter type is not `auto`.
template <class T, class = void>
struct callable_signature {};
template <class R, class A>
struct callable_signature<R (*)(A), void> {
  using in = std::remove_cvref_t<A>;
  using out = std::remove_cvref_t<R>;
};
template <class R, class A>
struct callable_signature<R (*)(A) noexcept, void> : callable_signature<R (*)(A)> {};
template <class R, class A>
struct callable_signature<R(A), void> : callable_signature<R (*)(A)> {};
template <class C, class R, class A>
struct callable_signature<R (C::*)(A), void> : callable_signature<R (*)(A)> {};
template <class C, class R, class A>
struct callable_signature<R (C::*)(A) const, void> : callable_signature<R (*)(A)> {};
template <class C, class R, class A>
struct callable_signature<R (C::*)(A) noexcept, void> : callable_signature<R (*)(A)> {};
template <class C, class R, class A>
struct callable_signature<R (C::*)(A) const noexcept, void> : callable_signature<R (*)(A)> {};
template <class T>
struct callable_signature<T, std::void_t<decltype(&T::operator())>> : callable_signature<decltype(&T::operator())> {};

template <class F>
concept deducible_task = requires {
  typename callable_signature<std::decay_t<F>>::in;
  typename callable_signature<std::decay_t<F>>::out;
}
&&!std::is_void_v<typename callable_signature<std::decay_t<F>>::out>;

}  // namespace detail
}  // namespace rankpool::farm
