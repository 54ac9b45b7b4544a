#pragma once
// Task types, registered by name on every rank before the farm runs.

#include <chrono>
#include <cstdint>
#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <typeinfo>
#include <utility>
#include <vector>

#include "rankpool/farm/detail/codec.hpp"
#include "rankpool/farm/detail/protocol.hpp"
#include "rankpool/farm/detail/watch.hpp"
#include "rankpool/farm/task.hpp"

namespace rankpool::farm {

struct TaskTypeOptions {
  std::string queue;       // empty: the queue named like the type (Celery's default routing)
  bool time_each = false;  // measure each task (two clock reads per task); off, each task is
                           // reported with the mean time of its batch, which keeps no-op tasks cheap
};

/// One registered task type. `run_batch` decodes a batch's inputs, runs every task,
/// catches what each throws, appends the outputs of the tasks that succeeded to `wire`
/// and records the failures (and per-task seconds when the batch asks for them).
struct TaskType {
  std::string name;
  std::string queue;
  std::string signature;
  bool time_each = false;
  std::function<void(const BatchHeader&, std::string_view payload, std::string& wire,
                     std::vector<TaskFailure>& failures, std::vector<float>& seconds, TaskWatch* watch)>
      run_batch;
  /// For a relay (a node's sub-master): cuts a batch's encoded inputs (`count` of them) into
  /// consecutive pieces of `sizes[i]` inputs each, every piece a payload of its own. Throws
  /// ProtocolError when the payload does not hold `count` inputs.
  std::function<std::vector<std::string>(std::string_view payload, std::uint32_t count,
                                         const std::vector<std::uint32_t>& sizes)>
      split_inputs;
  /// ... and joins the encoded outputs of the pieces (payload, number of outputs in it), in
  /// order, into one payload appended to `wire`.
  std::function<void(const std::vector<std::pair<std::string_view, std::uint32_t>>& parts, std::string& wire)>
      join_outputs;
};

/// The input/output signature of a task type, compared between ranks and at submit time.
/// Computed once per type pair: submit() checks it for every task.
template <class In, class Out>
const std::string& signature_of() {
  static const std::string s = std::string(typeid(In).name()) + "->" + typeid(Out).name();
  return s;
}

class Registry {
 public:
  /// Registers `fn : In -> Out` as task type `name` and returns its handle, for
  /// Master::map() and Master::submit(). In and Out must be default-constructible and
  /// serializable with Boost.Serialization (or trivially copyable). Every rank must register
  /// the same types in the same order: the handshake checks it.
  ///   auto square = registry.add("square", [](long x) { return x * x; });  // Task<long, long>
  template <class F>
  requires detail::deducible_task<F>
  auto add(std::string name, F fn, TaskTypeOptions options = {})
      -> Task<typename detail::callable_signature<std::decay_t<F>>::in,
              typename detail::callable_signature<std::decay_t<F>>::out> {
    using Sig = detail::callable_signature<std::decay_t<F>>;
    return add<typename Sig::in, typename Sig::out>(std::move(name), std::move(fn), std::move(options));
  }
  /// The same with the types spelled out: for generic lambdas and overloaded callables,
  /// or to convert (a function of `const std::string&` registered as Task<std::string, ...>).
  template <class In, class Out, class F>
  Task<In, Out> add(std::string name, F fn, TaskTypeOptions options = {});

  const TaskType* find(std::string_view name) const;
  /// Index of `name`, or -1.
  int index_of(std::string_view name) const;
  const TaskType& at(std::size_t i) const { return types_.at(i); }
  std::size_t size() const { return types_.size(); }
  std::vector<TypeSignature> signatures() const;

 private:
  std::vector<TaskType> types_;
};

template <class In, class Out, class F>
Task<In, Out> Registry::add(std::string name, F fn, TaskTypeOptions options) {
  static_assert(std::is_invocable_r_v<Out, F&, const In&>, "task function must map In to Out");
  if (name.empty()) throw std::invalid_argument("task type name must not be empty");
  if (find(name)) throw std::invalid_argument("task type '" + name + "' registered twice");
  TaskType t;
  t.queue = options.queue.empty() ? name : options.queue;
  t.name = std::move(name);
  t.signature = signature_of<In, Out>();
  t.time_each = options.time_each;
  t.run_batch = [fn = std::move(fn)](const BatchHeader& h, std::string_view payload, std::string& wire,
                                     std::vector<TaskFailure>& failures, std::vector<float>& seconds,
                                     TaskWatch* watch) mutable {
    const bool time_each = (h.flags & BatchHeader::kTimeEach) != 0;
    if (time_each) seconds.assign(h.count, 0.0f);
    // Runs task i; `emit` stores its output. Exceptions become failures of that task only.
    auto run_one = [&](std::uint32_t i, const In& input, auto&& emit) {
      std::chrono::steady_clock::time_point t0;
      if (time_each) t0 = std::chrono::steady_clock::now();
      if (watch && !watch->begin(i)) throw BatchAbandoned{};
      try {
        emit(fn(input));
      } catch (const std::exception& e) {
        failures.push_back({i, e.what()});
      } catch (...) {
        failures.push_back({i, "unknown exception"});
      }
      if (watch && !watch->end()) throw BatchAbandoned{};
      if (time_each) seconds[i] = std::chrono::duration<float>(std::chrono::steady_clock::now() - t0).count();
    };
    if constexpr (codec::kBitwise<In> && codec::kBitwise<Out>) {
      // Plain values: read each input from the message and write each output into the
      // reply, with no intermediate vectors.
      if (payload.size() != static_cast<std::size_t>(h.count) * sizeof(In)) {
        for (std::uint32_t i = 0; i < h.count; ++i)
          failures.push_back({i, "protocol error: batch payload has the wrong size"});
        return;
      }
      wire.reserve(wire.size() + static_cast<std::size_t>(h.count) * sizeof(Out) + 64);
      for (std::uint32_t i = 0; i < h.count; ++i) {
        In input;
        std::memcpy(static_cast<void*>(&input), payload.data() + static_cast<std::size_t>(i) * sizeof(In), sizeof(In));
        run_one(i, input, [&](Out&& out) { wire.append(reinterpret_cast<const char*>(&out), sizeof(Out)); });
      }
    } else {
      std::vector<In> inputs;
      try {
        codec::decode<In>(payload, h.count, inputs);
      } catch (const std::exception& e) {
        for (std::uint32_t i = 0; i < h.count; ++i) failures.push_back({i, e.what()});
        return;
      }
      std::vector<Out> outputs;
      outputs.reserve(inputs.size());
      for (std::uint32_t i = 0; i < inputs.size(); ++i) {
        run_one(i, inputs[i], [&](Out&& out) { outputs.push_back(std::move(out)); });
      }
      codec::encode_range(wire, outputs.data(), outputs.size());
    }
  };
  t.split_inputs = [](std::string_view payload, std::uint32_t count, const std::vector<std::uint32_t>& sizes) {
    std::vector<std::string> pieces;
    pieces.reserve(sizes.size());
    if constexpr (codec::kBitwise<In>) {
      if (payload.size() != static_cast<std::size_t>(count) * sizeof(In))
        throw ProtocolError("batch payload has the wrong size for its task count");
      std::size_t at = 0;
      for (const std::uint32_t n : sizes) {
        pieces.emplace_back(payload.substr(at, static_cast<std::size_t>(n) * sizeof(In)));
        at += static_cast<std::size_t>(n) * sizeof(In);
      }
    } else {
      std::vector<In> inputs;
      codec::decode<In>(payload, count, inputs);
      std::size_t at = 0;
      for (const std::uint32_t n : sizes) {
        pieces.emplace_back();
        codec::encode_range(pieces.back(), inputs.data() + at, n);
        at += n;
      }
    }
    return pieces;
  };
  t.join_outputs = [](const std::vector<std::pair<std::string_view, std::uint32_t>>& parts, std::string& wire) {
    if constexpr (codec::kBitwise<Out>) {
      for (const auto& [bytes, n] : parts) wire.append(bytes);
    } else {
      std::vector<Out> all, part;
      for (const auto& [bytes, n] : parts) {
        codec::decode<Out>(bytes, n, part);
        for (auto& v : part) all.push_back(std::move(v));
      }
      codec::encode_range(wire, all.data(), all.size());
    }
  };
  types_.push_back(std::move(t));
  return Task<In, Out>(types_.back().name, static_cast<int>(types_.size() - 1));
}

}  // namespace rankpool::farm
