#include "rankpool/runtime/communicator.hpp"

namespace rankpool::runtime {

boost::mpi::communicator private_communicator(const boost::mpi::communicator& comm) {
  return boost::mpi::communicator(comm, boost::mpi::comm_duplicate);
}

}  // namespace rankpool::runtime
