#include "rankpool/runtime/agree.hpp"

#include <boost/describe/class.hpp>
#include <boost/mpi/communicator.hpp>

#include "rankpool/runtime/bytes.hpp"
#include "rankpool/runtime/host.hpp"
#include "runtime/byte_collectives.hpp"

namespace rankpool::runtime {

namespace {

/// What rank 0 announces.
struct Offer {
  std::uint32_t version = 0;
  std::uint64_t digest = 0;
};
BOOST_DESCRIBE_STRUCT(Offer, (), (version, digest))

/// What every rank answers.
struct Reply {
  std::string host;
  std::string error;  // "" when this rank agrees and could set itself up
  std::string payload;
};
BOOST_DESCRIBE_STRUCT(Reply, (), (host, error, payload))

Status first_error(const std::vector<std::string>& errors) {
  for (std::size_t r = 0; r < errors.size(); ++r) {
    if (errors[r].empty()) continue;
    return Status::error(r == 0 ? errors[r] : "rank " + std::to_string(r) + ": " + errors[r]);
  }
  return {};
}

}  // namespace

Status agree_on_error(const boost::mpi::communicator& comm, const Status& mine) {
  const int me = comm.rank();
  int mine_failed = mine.ok() ? comm.size() : me;
  int first = comm.size();
  MPI_Allreduce(&mine_failed, &first, 1, MPI_INT, MPI_MIN, comm);
  if (first == comm.size()) return {};
  std::string message = me == first ? mine.message() : std::string();
  detail::broadcast_bytes(comm, message, first);
  return Status::error(first == 0 ? message : "rank " + std::to_string(first) + ": " + message);
}

Agreement handshake(const boost::mpi::communicator& comm, const Protocol& protocol, const Status& mine,
                    std::string payload, Share share) {
  std::string offer_bytes;
  if (comm.rank() == 0) offer_bytes = encode(Offer{protocol.version, protocol.digest});
  detail::broadcast_bytes(comm, offer_bytes, 0);
  const auto offer = decode<Offer>(offer_bytes, "handshake offer");

  Reply reply{host_name(), mine.message(), std::move(payload)};
  if (offer.version != protocol.version) {
    reply.error = protocol.name + " protocol " + std::to_string(protocol.version) + ", the master speaks " +
                  std::to_string(offer.version);
  } else if (offer.digest != protocol.digest) {
    reply.error = "different " + protocol.digest_of + " than the master";
  }
  const std::vector<std::string> replies = share == Share::all_ranks ? detail::all_gather_bytes(comm, encode(reply))
                                                                     : detail::gather_bytes(comm, encode(reply), 0);

  Agreement out;
  std::vector<std::string> errors;
  for (const auto& bytes : replies) {
    Reply r = decode<Reply>(bytes, "handshake reply");
    out.hosts.push_back(std::move(r.host));
    errors.push_back(std::move(r.error));
    out.payloads.push_back(std::move(r.payload));
  }
  if (share == Share::all_ranks) {
    out.status = first_error(errors);
  } else {
    // Rank 0 alone knows the outcome: it tells the others.
    std::string message = comm.rank() == 0 ? first_error(errors).message() : std::string();
    detail::broadcast_bytes(comm, message, 0);
    out.status = message.empty() ? Status{} : Status::error(message);
  }
  return out;
}

}  // namespace rankpool::runtime
