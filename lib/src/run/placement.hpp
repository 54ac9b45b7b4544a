#pragma once
// Which cores and devices each slot of a rank gets. Pure: the rank's CPU set and environment
// come in as values, so the plan is tested without a GPU or a Slurm allocation.

#include <string>
#include <vector>

namespace rankpool::run {

struct SlotPlan {
  std::vector<int> cpus;  // empty: the task inherits the rank's CPU set
  std::string gpus;       // for CUDA_VISIBLE_DEVICES; empty: left as the rank has it
};

struct Placement {
  int slots = 1;
  std::vector<SlotPlan> plan;  // one per slot
  std::string error;           // a one-line reason the options cannot be met on this rank
};

/// `requested_slots` 0: SLURM_CPUS_PER_TASK (or, with --cpus-per-task, the rank's CPU count)
/// divided by cpus_per_task, else 1. `rank_cpus`: the rank's affinity set, in order.
/// `cuda_visible`: the rank's CUDA_VISIBLE_DEVICES (null when unset).
Placement plan_placement(int requested_slots, int cpus_per_task, int gpus_per_task, const std::vector<int>& rank_cpus,
                         const char* slurm_cpus_per_task, const char* cuda_visible);

/// The calling process's CPU affinity set.
std::vector<int> process_cpus();

}  // namespace rankpool::run
