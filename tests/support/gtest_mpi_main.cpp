// GoogleTest main for tests run under mpirun.
// Every rank runs every test (tests are collective); only rank 0 prints, and the
// exit code is the logical OR over ranks so a failure on any rank fails the test.
#include <gtest/gtest.h>

#include <boost/mpi/collectives.hpp>
#include <boost/mpi/communicator.hpp>
#include <boost/mpi/environment.hpp>
#include <functional>

int main(int argc, char** argv) {
  boost::mpi::environment env(argc, argv);
  boost::mpi::communicator world;
  ::testing::InitGoogleTest(&argc, argv);
  if (world.rank() != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  int failed = RUN_ALL_TESTS() != 0 ? 1 : 0;
  int any_failed = 0;
  boost::mpi::all_reduce(world, failed, any_failed, boost::mpi::maximum<int>());
  if (world.rank() != 0 && failed) {
    std::fprintf(stderr, "rank %d: tests failed on this rank\n", world.rank());
  }
  return any_failed;
}
