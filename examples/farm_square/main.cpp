// farm_square: the smallest rankpool program. Rank 0 hands the squares of 0..count-1 to the
// other ranks, adds up the results and says which ranks computed them; with one rank it
// computes them itself.
//
//   mpirun -n 3 ./farm_square [count]
#include <boost/mpi/communicator.hpp>
#include <boost/mpi/environment.hpp>
#include <cstdlib>
#include <iostream>
#include <numeric>
#include <set>
#include <vector>

#include <rankpool/farm/farm.hpp>
#include <rankpool/version.hpp>

namespace farm = rankpool::farm;

int main(int argc, char** argv) {
  boost::mpi::environment env(argc, argv);
  boost::mpi::communicator world;
  const long count = argc > 1 ? std::atol(argv[1]) : 10000;

  farm::Registry registry;  // every rank registers the same task types, in the same order
  auto square = registry.add("square", [](long x) { return x * x; });  // a farm::Task<long, long>

  farm::Farm pool(world, registry, farm::FarmOptions{});          // collective
  const farm::RunStatus status = pool.run([&](farm::Master& m) {  // the body runs on rank 0
    std::vector<long> xs(static_cast<std::size_t>(count));
    std::iota(xs.begin(), xs.end(), 0L);
    const farm::MapResult<long> squares = m.map(square, xs);  // results in input order
    std::set<int> ranks;
    for (std::size_t i = 0; i < xs.size(); ++i) ranks.insert(squares.rank_of(i));
    std::cout << "rankpool " << rankpool::version_string << " on " << world.size() << " ranks\n"
              << "sum of squares below " << count << ": "
              << std::accumulate(squares.values.begin(), squares.values.end(), 0L) << "\n"
              << "computed on ranks:";
    for (int r : ranks) std::cout << ' ' << r;
    std::cout << "\n";
  });
  return status.exit_code();  // the same on every rank: 0, or 1 when a task failed
}
