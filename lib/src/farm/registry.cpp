#include "rankpool/farm/registry.hpp"

namespace rankpool::farm {

const TaskType* Registry::find(std::string_view name) const {
  const int i = index_of(name);
  return i < 0 ? nullptr : &types_[static_cast<std::size_t>(i)];
}

int Registry::index_of(std::string_view name) const {
  for (std::size_t i = 0; i < types_.size(); ++i)
    if (types_[i].name == name) return static_cast<int>(i);
  return -1;
}

std::vector<TypeSignature> Registry::signatures() const {
  std::vector<TypeSignature> out;
  for (const auto& t : types_) out.push_back({t.name, t.queue, t.signature});
  return out;
}

}  // namespace rankpool::farm
