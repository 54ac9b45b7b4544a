#pragma once
// Private to process.cpp and spawner.cpp: the wire protocol between a rank and its spawner
// helper, over a SOCK_SEQPACKET socketpair (packets keep their boundaries, so no framing).
//
// rank -> helper
//   SpawnHeader + the first bytes of the body, with the task's stdout and stderr pipe write
//   ends attached (SCM_RIGHTS, in that order); then the rest of the body in packets of at
//   most kChunkBytes, back to back (senders hold a lock for the whole request, so the packets
//   of two requests never interleave). Body: argv, env (string lists), cpus (i32 list), cwd.
//   ShutdownMsg: kill every task's process group and exit (same as EOF on the socket).
// helper -> rank
//   SpawnedMsg: the answer to one request: the pid, or pid -1 with errno and the failing step.
//   ExitedMsg: unsolicited, once per spawned pid, always after its SpawnedMsg: the wait status.
//
// Messages are fixed-size PODs in host byte order: both ends are the same binary.

#include <boost/describe/class.hpp>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "rankpool/runtime/bytes.hpp"

namespace rankpool::run::detail {

enum MsgType : std::uint32_t { kSpawn = 1, kShutdown = 2, kSpawned = 3, kExited = 4 };

// Bytes of body per packet. A SEQPACKET packet must fit in the sender's socket buffer
// (default net.core.wmem_default = 212992 bytes, and the rank cannot raise it past wmem_max
// without privileges), so requests are chunked rather than sent as one packet: 64 KiB keeps
// a typical request (a few KiB of environment) to one packet and a 1 MiB one to 17.
inline constexpr std::size_t kChunkBytes = 64 * 1024;

// A request body larger than this is refused. execve() itself accepts at most a quarter of
// the stack limit (2 MiB with the usual 8 MiB), so nothing legitimate comes close; the cap
// only keeps a corrupt length field from making the helper allocate without bound.
inline constexpr std::uint64_t kMaxBodyBytes = 64ull << 20;

struct SpawnHeader {
  std::uint32_t type = kSpawn;
  std::uint32_t reserved = 0;
  std::uint64_t id = 0;
  std::uint64_t body_bytes = 0;
};

struct ShutdownMsg {
  std::uint32_t type = kShutdown;
};

struct SpawnedMsg {
  std::uint32_t type = kSpawned;
  std::int32_t pid = -1;  // -1: not started
  std::uint64_t id = 0;
  std::int32_t error = 0;  // errno of the failing step
  char step[36] = {};      // what failed, NUL-terminated ("fork", "bad request", ...)
};

struct ExitedMsg {
  std::uint32_t type = kExited;
  std::int32_t pid = 0;
  std::int32_t status = 0;  // as from waitpid()
};

// The largest message the helper sends, for the rank's receive buffer.
inline constexpr std::size_t kMaxReplyBytes = sizeof(SpawnedMsg) > sizeof(ExitedMsg) ? sizeof(SpawnedMsg)
                                                                                     : sizeof(ExitedMsg);

/// A spawn request's body, in the byte codec's layout (runtime/bytes.hpp): u32-counted
/// lists, u32-length-prefixed strings.
struct SpawnBody {
  std::vector<std::string> argv;
  std::vector<std::string> env;
  std::vector<std::int32_t> cpus;
  std::string cwd;
};
BOOST_DESCRIBE_STRUCT(SpawnBody, (), (argv, env, cpus, cwd))

}  // namespace rankpool::run::detail
