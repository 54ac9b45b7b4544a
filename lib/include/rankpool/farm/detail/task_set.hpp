#pragma once
// Internal: not part of the API. The indices of one batch, shared by the scheduler
// (lib/src/farm) and the master's result handling (detail/groups.hpp).

#include <cstdint>
#include <vector>

namespace rankpool::farm {

/// The tasks of one batch: a contiguous range of a group's indices (the common case,
/// stored as two numbers however large the batch), or an explicit list (retries).
class TaskSet {
 public:
  TaskSet() = default;
  static TaskSet range(std::uint32_t first, std::uint32_t count) {
    TaskSet t;
    t.first_ = first;
    t.count_ = count;
    return t;
  }
  static TaskSet list(std::vector<std::uint32_t> indices) {
    TaskSet t;
    t.count_ = static_cast<std::uint32_t>(indices.size());
    t.list_ = std::move(indices);
    return t;
  }
  std::size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  bool contiguous() const { return list_.empty(); }
  std::uint32_t first() const { return list_.empty() ? first_ : list_.front(); }
  std::uint32_t operator[](std::size_t i) const {
    return list_.empty() ? first_ + static_cast<std::uint32_t>(i) : list_[i];
  }
  std::vector<std::uint32_t> to_vector() const {
    std::vector<std::uint32_t> v(count_);
    for (std::size_t i = 0; i < count_; ++i) v[i] = (*this)[i];
    return v;
  }

 private:
  std::uint32_t first_ = 0, count_ = 0;
  std::vector<std::uint32_t> list_;
};

}  // namespace rankpool::farm
