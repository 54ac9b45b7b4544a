// GoogleTest main for tests run under mpirun.
// Every rank runs every test (tests are collective). Rank 0 prints GoogleTest's usual
// report; every other rank prints each failed assertion as it happens, prefixed with its
// rank and the test's name, so a failure that only rank 2 sees is still named with its
// text. The exit code is the logical OR over ranks: a failure on any rank fails the run.
// With RANKPOOL_GTEST_EXPECT_TESTS=1 (set by CTest, which runs one case per test), a filter
// that selects no test is a failure, not a silent pass.
#include <gtest/gtest.h>

#include <boost/mpi/collectives.hpp>
#include <boost/mpi/communicator.hpp>
#include <boost/mpi/environment.hpp>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>

namespace {

/// Prints failed assertions of a rank other than 0, one line each, on stderr.
class RankFailurePrinter : public ::testing::EmptyTestEventListener {
 public:
  explicit RankFailurePrinter(int rank) : rank_(rank) {}
  void OnTestPartResult(const ::testing::TestPartResult& r) override {
    if (!r.failed()) return;
    const ::testing::TestInfo* t = ::testing::UnitTest::GetInstance()->current_test_info();
    const std::string name = t ? std::string(t->test_suite_name()) + "." + t->name() : "(no test)";
    std::fprintf(stderr, "[rank %d] %s: %s:%d: %s\n", rank_, name.c_str(), r.file_name() ? r.file_name() : "?",
                 r.line_number(), r.message());
    std::fflush(stderr);
  }
  void OnTestEnd(const ::testing::TestInfo& t) override {
    if (t.result()->Failed()) {
      std::fprintf(stderr, "[rank %d] FAILED %s.%s\n", rank_, t.test_suite_name(), t.name());
      std::fflush(stderr);
    }
  }

 private:
  int rank_;
};

}  // namespace

int main(int argc, char** argv) {
  boost::mpi::environment env(argc, argv);
  boost::mpi::communicator world;
  ::testing::InitGoogleTest(&argc, argv);
  auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
  if (world.rank() != 0) {
    delete listeners.Release(listeners.default_result_printer());
    listeners.Append(new RankFailurePrinter(world.rank()));
  }
  int failed = RUN_ALL_TESTS() != 0 ? 1 : 0;
  const char* expect = std::getenv("RANKPOOL_GTEST_EXPECT_TESTS");
  if (expect && std::string(expect) == "1" && ::testing::UnitTest::GetInstance()->test_to_run_count() == 0) {
    if (world.rank() == 0) std::fprintf(stderr, "no test matched the filter\n");
    failed = 1;
  }
  int any_failed = 0;
  boost::mpi::all_reduce(world, failed, any_failed, boost::mpi::maximum<int>());
  if (world.rank() != 0 && failed) {
    std::fprintf(stderr, "rank %d: tests failed on this rank\n", world.rank());
  }
  return any_failed;
}
