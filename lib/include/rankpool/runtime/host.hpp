#pragma once
// Where a rank runs, for per-host statistics and the handshake.

#include <string>

namespace rankpool::runtime {

/// The host name this process runs on ("unknown" if the system will not say).
std::string host_name();

}  // namespace rankpool::runtime
