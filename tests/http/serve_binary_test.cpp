// `lethe serve` as a process: it serves, and SIGTERM makes it exit 0;
// a bad config exits 2.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <fstream>
#include <thread>

#include <catch2/catch.hpp>

#include "http_test_util.h"

extern char** environ;

using namespace lethe;
using namespace lethe::testing;

namespace {

const char* Binary() {
  const char* b = std::getenv("LETHE_BINARY");
  return b && *b && std::filesystem::exists(b) ? b : nullptr;
}

unsigned short FreePort() {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor a(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

pid_t Spawn(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0) return -1;
  return pid;
}

int WaitExit(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

TEST_CASE("lethe serve answers, then exits 0 on SIGTERM", "[http][serve]") {
  const char* bin = Binary();
  if (!bin) {
    WARN("LETHE_BINARY not set: skipped (ctest sets it)");
    return;
  }
  TempDir dir;
  setenv("LETHE_TEST_JWT_SECRET", kJwtSecret, 1);
  setenv("LETHE_TEST_AUDIT_KEY", "k", 1);
  const unsigned short port = FreePort();
  json cfg = TestConfigJson(dir.str());
  cfg["listen"] = "127.0.0.1:" + std::to_string(port);
  std::ofstream(dir.str() + "/config.json") << cfg.dump();

  pid_t pid = Spawn({bin, "serve", "--config", dir.str() + "/config.json"});
  REQUIRE(pid > 0);
  bool up = false;
  for (int i = 0; i < 100 && !up; ++i) {
    try {
      up = Call(port, bhttp::verb::get, "/healthz").status == 200;
    } catch (...) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  REQUIRE(up);
  Response r = Call(port, bhttp::verb::post, "/v1/requests",
                    json{{"type", "access"}, {"subject", {{"email", "z@example.com"}}}}.dump(),
                    {{"Authorization", Bearer(kOperatorKey)}});
  CHECK(r.status == 201);
  kill(pid, SIGTERM);
  CHECK(WaitExit(pid) == 0);
}

TEST_CASE("lethe serve with a bad config exits 2", "[http][serve]") {
  const char* bin = Binary();
  if (!bin) return;
  TempDir dir;
  std::ofstream(dir.str() + "/config.json") << R"({"store": {"sqlite": "x.db"}, "connectors": [], "colour": "red"})";
  pid_t pid = Spawn({bin, "serve", "--config", dir.str() + "/config.json"});
  REQUIRE(pid > 0);
  CHECK(WaitExit(pid) == 2);
}
