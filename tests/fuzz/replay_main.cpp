// main() for the replay tests of the normal build: feeds files to a fuzz harness's
// LLVMFuzzerTestOneInput, as libFuzzer would, without libFuzzer (so gcc builds it, and the
// release and ASan+UBSan suites replay every corpus and regression input).
//
//   fuzz_<target>_replay PATH...     each PATH a file or a directory (its regular files,
//                                    sorted; names starting with '.' are skipped)
//
// A violated property traps inside the harness, killing the process; the last "replay:"
// line names the input. Exit status 0 when every input ran, 1 on a bad PATH or when no
// input was found at all (an empty corpus would make the test pass vacuously).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

namespace fs = std::filesystem;

bool replay(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "replay: cannot read %s\n", file.c_str());
    return false;
  }
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::printf("replay: %s (%zu bytes)\n", file.c_str(), bytes.size());
  std::fflush(stdout);
  // A copy in a buffer of exactly the input's size, so ASan catches reads past its end.
  const std::vector<std::uint8_t> buffer(bytes.begin(), bytes.end());
  LLVMFuzzerTestOneInput(buffer.data(), buffer.size());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t inputs = 0;
  bool ok = true;
  for (int i = 1; i < argc; ++i) {
    const fs::path path(argv[i]);
    std::error_code ec;
    if (fs::is_regular_file(path, ec)) {
      ok = replay(path) && ok;
      ++inputs;
    } else if (fs::is_directory(path, ec)) {
      std::vector<fs::path> files;
      for (const auto& entry : fs::directory_iterator(path)) {
        if (entry.is_regular_file() && !entry.path().filename().string().starts_with(".")) {
          files.push_back(entry.path());
        }
      }
      std::sort(files.begin(), files.end());
      for (const auto& file : files) ok = replay(file) && ok;
      inputs += files.size();
    } else {
      std::fprintf(stderr, "replay: no such file or directory: %s\n", argv[i]);
      ok = false;
    }
  }
  if (inputs == 0) {
    std::fprintf(stderr, "replay: no inputs\n");
    return 1;
  }
  if (!ok) return 1;
  std::printf("replay: %zu inputs, every property held\n", inputs);
  return 0;
}
