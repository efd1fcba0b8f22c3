// RFC 7515 (JWS) and RFC 7518 (JWA) as the self-service JWT check uses
// them, against the real server and the real `lethe` binary. Every
// assertion names the clause it checks.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <fstream>
#include <thread>

#include <catch2/catch.hpp>

#include "protocols/protocol_util.h"

extern char** environ;

using namespace lethe;
using namespace lethe::testing;

namespace {

std::string Token(const json& header) {
  json p = {
      {"sub", "u-1"}, {"email", "jws@example.com"}, {"iss", kIssuer}, {"aud", kAudience}, {"exp", ToUnix(Now()) + 600}};
  return http::SignJwt(p, kJwtSecret, header);
}

// The `lethe` binary: $LETHE_BINARY (ctest sets it), else beside this test
// binary in the build folder. Never skipped: a missing binary fails.
std::string LetheBinary() {
  if (const char* b = std::getenv("LETHE_BINARY"); b && *b) return b;
  return (std::filesystem::read_symlink("/proc/self/exe").parent_path() / "lethe").string();
}

struct Run {
  int code = -1;
  std::string err;
};

Run RunLethe(const std::vector<std::string>& args, const TempDir& dir) {
  std::vector<std::string> all = {LetheBinary()};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  const std::string err_path = dir.str() + "/stderr.txt";
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  Run r;
  if (posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ) == 0) {
    // A `serve` that accepts the config would run forever: stop it after 20 s
    // so that the test fails instead of hanging.
    int status = 0;
    bool done = false;
    for (int i = 0; i < 200 && !done; ++i) {
      done = waitpid(pid, &status, WNOHANG) == pid;
      if (!done) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (!done) {
      kill(pid, SIGTERM);
      waitpid(pid, &status, 0);
    }
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  posix_spawn_file_actions_destroy(&fa);
  std::ifstream in(err_path);
  r.err.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return r;
}

}  // namespace

TEST_CASE("RFC 7515 §4.1.11: a token whose crit names an extension Lethe does not implement is refused",
          "[protocols][rfc7515]") {
  Harness h;
  const json plain = {{"alg", "HS256"}, {"typ", "JWT"}};
  REQUIRE(h.Get("/v1/self/requests", Token(plain)).status == 200);

  // "If any of the listed extension Header Parameters are not understood
  // and supported by the recipient, then the JWS is invalid."
  json crit = plain;
  crit["crit"] = {"http://example.invalid/ext"};
  crit["http://example.invalid/ext"] = true;
  Response r = h.Get("/v1/self/requests", Token(crit));
  CHECK(r.status == 401);
  CHECK_THAT(r.Json()["error"]["message"].get<std::string>(), Catch::Contains("crit"));

  // "Producers MUST NOT include Header Parameter names defined by this
  // specification ... in the crit list" / "MUST NOT use the empty list":
  // malformed crit values are refused as well.
  for (const json& bad : {json{"exp"}, json::array(), json("b64"), json(1)}) {
    INFO(bad.dump());
    json hdr = plain;
    hdr["crit"] = bad;
    CHECK(h.Get("/v1/self/requests", Token(hdr)).status == 401);
  }
  // RFC 7797's b64, the one extension in common use, is not implemented either.
  json b64 = plain;
  b64["b64"] = false;
  b64["crit"] = {"b64"};
  CHECK(h.Get("/v1/self/requests", Token(b64)).status == 401);
}

TEST_CASE("RFC 7518 §3.2: an HS256 secret shorter than 256 bits is a configuration error", "[protocols][rfc7518]") {
  TempDir dir;
  json cfg = TestConfigJson(dir.str());
  cfg["self_service"]["jwt"]["hs256_secret_env"] = "LETHE_PROTO_JWT_SECRET";
  cfg["listen"] = "127.0.0.1:0";
  const std::string path = dir.str() + "/config.json";
  std::ofstream(path) << cfg.dump();
  setenv("LETHE_TEST_AUDIT_KEY", "audit-key-for-tests", 1);
  REQUIRE(std::filesystem::exists(LetheBinary()));

  // "A key of the same size as the hash output (for instance, 256 bits for
  // "HS256") or larger MUST be used with this algorithm."
  const std::string short_secret = "x7Qz";  // 4 bytes
  for (const std::string& value : {short_secret, std::string(31, 'k')}) {
    setenv("LETHE_PROTO_JWT_SECRET", value.c_str(), 1);
    for (const char* cmd : {"check", "serve"}) {
      INFO(cmd << " with " << value.size() << " bytes");
      Run r = RunLethe({cmd, "--config", path}, dir);
      CHECK(r.code == 2);
      // One clear line naming the variable, never its value.
      CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
      CHECK_THAT(r.err, Catch::Contains("LETHE_PROTO_JWT_SECRET"));
      CHECK_THAT(r.err, Catch::Contains("32"));
      CHECK(r.err.find(value) == std::string::npos);
    }
  }
  // 32 bytes is enough: check passes (no connectors to reach).
  setenv("LETHE_PROTO_JWT_SECRET", std::string(32, 'k').c_str(), 1);
  Run ok = RunLethe({"check", "--config", path}, dir);
  CHECK(ok.code == 0);
  INFO(ok.err);
  // And the in-process service refuses a short one as well.
  setenv("LETHE_PROTO_JWT_SECRET", short_secret.c_str(), 1);
  Result<Config> parsed = ParseConfig(cfg, "config.json", dir.str());
  REQUIRE(parsed.ok());
  Result<std::string> secret = parsed->JwtSecret();
  CHECK(secret.status().code() == Code::kInvalid);
  CHECK(secret.status().field() == "/self_service/jwt/hs256_secret_env");
  unsetenv("LETHE_PROTO_JWT_SECRET");
}
