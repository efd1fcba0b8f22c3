// A main for the fuzz targets in the ordinary (gcc) build: runs
// LLVMFuzzerTestOneInput once on every file under the directories (or on the
// files) named on the command line. A target that finds a property broken
// aborts, so a regression input that breaks again fails its ctest.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

int Replay(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "replay: cannot read %s\n", file.c_str());
    return 1;
  }
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::fprintf(stderr, "replay: %s\n", file.c_str());
  // A copy on the heap of exactly the input's size, as libFuzzer passes it,
  // so an overread is an overread here too under ASan.
  std::vector<uint8_t> copy(bytes.begin(), bytes.end());
  LLVMFuzzerTestOneInput(copy.data(), copy.size());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int failures = 0, count = 0;
  for (int i = 1; i < argc; ++i) {
    std::filesystem::path p(argv[i]);
    std::error_code ec;
    if (std::filesystem::is_directory(p, ec)) {
      std::vector<std::filesystem::path> files;
      for (const auto& e : std::filesystem::recursive_directory_iterator(p, ec))
        if (e.is_regular_file()) files.push_back(e.path());
      std::sort(files.begin(), files.end());  // a stable order, for reading logs
      for (const auto& f : files) failures += Replay(f), ++count;
    } else if (std::filesystem::exists(p, ec)) {
      failures += Replay(p), ++count;
    }
    // A missing directory is fine: a target may have no regressions yet.
  }
  std::printf("replayed %d inputs\n", count);
  return failures == 0 ? 0 : 1;
}
