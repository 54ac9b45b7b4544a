#pragma once
// Every component that talks over MPI (the farm, the mesh) works on its own duplicate of the
// caller's communicator, so that its tags never meet the caller's messages or another
// component's.

#include <boost/mpi/communicator.hpp>

namespace rankpool::runtime {

/// Collective over `comm`: every rank calls it, in the same order relative to other
/// collectives on `comm`. A new communicator with the same ranks and a separate tag space.
boost::mpi::communicator private_communicator(const boost::mpi::communicator& comm);

}  // namespace rankpool::runtime
