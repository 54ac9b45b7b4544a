#pragma once
// Whether a human watches this process's stderr: progress lines are drawn only then.

namespace rankpool::farm {

/// True when stderr is a terminal — or, under mpirun (where a rank's stderr is a pipe to
/// the launcher), when the parent's stderr is one.
bool stderr_reaches_a_terminal();

}  // namespace rankpool::farm
