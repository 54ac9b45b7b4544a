#include "rankpool/runtime/agree.hpp"

#include <boost/describe/class.hpp>
#include <boost/mpi/collectives.hpp>
#include <boost/mpi/communicator.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>

#include "rankpool/runtime/bytes.hpp"
#include "rankpool/runtime/host.hpp"

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
  std::vector<std::string> all;
  boost::mpi::all_gather(comm, mine.message(), all);
  return first_error(all);
}

Agreement handshake(const boost::mpi::communicator& comm, const Protocol& protocol, const Status& mine,
                    std::string payload) {
  std::string offer_bytes;
  if (comm.rank() == 0) offer_bytes = encode(Offer{protocol.version, protocol.digest});
  boost::mpi::broadcast(comm, offer_bytes, 0);
  const auto offer = decode<Offer>(offer_bytes, "handshake offer");

  Reply reply{host_name(), mine.message(), std::move(payload)};
  if (offer.version != protocol.version) {
    reply.error = protocol.name + " protocol " + std::to_string(protocol.version) + ", the master speaks " +
                  std::to_string(offer.version);
  } else if (offer.digest != protocol.digest) {
    reply.error = "different " + protocol.digest_of + " than the master";
  }
  std::vector<std::string> replies;
  boost::mpi::all_gather(comm, encode(reply), replies);

  Agreement out;
  std::vector<std::string> errors;
  for (const auto& bytes : replies) {
    Reply r = decode<Reply>(bytes, "handshake reply");
    out.hosts.push_back(std::move(r.host));
    errors.push_back(std::move(r.error));
    out.payloads.push_back(std::move(r.payload));
  }
  out.status = first_error(errors);
  return out;
}

}  // namespace rankpool::runtime
