#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <spdlog/spdlog.h>

int main(int argc, char* argv[]) {
  // Tests assert on behaviour, not on log lines; keep the output readable.
  spdlog::set_level(spdlog::level::warn);
  return Catch::Session().run(argc, argv);
}
