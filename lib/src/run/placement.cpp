#include "placement.hpp"

#include <sched.h>

#include <cstdlib>
#include <sstream>

namespace rankpool::run {

std::vector<int> process_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  return cpus;
}

Placement plan_placement(int requested_slots, int cpus_per_task, int gpus_per_task, const std::vector<int>& rank_cpus,
                         const char* slurm_cpus_per_task, const char* cuda_visible) {
  Placement p;
  const int c = std::max(1, cpus_per_task);
  int slots = requested_slots;
  if (slots <= 0) {
    int available = 0;
    if (slurm_cpus_per_task && *slurm_cpus_per_task) available = std::atoi(slurm_cpus_per_task);
    if (available <= 0 && cpus_per_task > 0) available = static_cast<int>(rank_cpus.size());
    slots = available > 0 ? std::max(1, available / c) : 1;
  }
  p.slots = slots;
  p.plan.resize(static_cast<std::size_t>(slots));
  if (cpus_per_task > 0) {
    const auto need = static_cast<std::size_t>(slots) * static_cast<std::size_t>(c);
    if (rank_cpus.size() < need) {
      // Oversubscribed on purpose (more slots than cores): cores are shared round-robin, and
      // said so, instead of refusing a laptop run.
      if (rank_cpus.empty()) {
        p.error = "--cpus-per-task: the rank's CPU set is unknown";
        return p;
      }
    }
    for (std::size_t s = 0; s < p.plan.size(); ++s)
      for (std::size_t k = 0; k < static_cast<std::size_t>(c); ++k)
        p.plan[s].cpus.push_back(rank_cpus[(s * static_cast<std::size_t>(c) + k) % rank_cpus.size()]);
  }
  if (gpus_per_task > 0) {
    if (!cuda_visible) {
      p.error = "--gpus-per-task " + std::to_string(gpus_per_task) + ": CUDA_VISIBLE_DEVICES is not set on this rank";
      return p;
    }
    std::vector<std::string> devices;
    std::stringstream ss(cuda_visible);
    for (std::string d; std::getline(ss, d, ',');)
      if (!d.empty()) devices.push_back(d);
    const auto need = static_cast<std::size_t>(slots) * static_cast<std::size_t>(gpus_per_task);
    if (devices.size() < need) {
      p.error = "--gpus-per-task " + std::to_string(gpus_per_task) + " with " + std::to_string(slots) +
                " slots needs " + std::to_string(need) + " devices, CUDA_VISIBLE_DEVICES lists " +
                std::to_string(devices.size()) + " ('" + cuda_visible + "')";
      return p;
    }
    for (std::size_t s = 0; s < p.plan.size(); ++s) {
      std::string list;
      for (std::size_t k = 0; k < static_cast<std::size_t>(gpus_per_task); ++k) {
        if (!list.empty()) list += ',';
        list += devices[s * static_cast<std::size_t>(gpus_per_task) + k];
      }
      p.plan[s].gpus = list;
    }
  }
  return p;
}

}  // namespace rankpool::run
