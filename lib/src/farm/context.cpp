#include "rankpool/farm/context.hpp"

namespace rankpool::farm {

namespace {
const TaskContext kOutside{};
thread_local const TaskContext* current = nullptr;
}  // namespace

const TaskContext& this_task() { return current ? *current : kOutside; }

namespace detail {
ScopedTaskContext::ScopedTaskContext(const TaskContext& c) : previous_(current) { current = &c; }
ScopedTaskContext::~ScopedTaskContext() { current = previous_; }
}  // namespace detail

}  // namespace rankpool::farm
