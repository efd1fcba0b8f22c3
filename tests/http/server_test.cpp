// The network edge: body limit, malformed HTTP, keep-alive, static files
// (and path traversal), graceful stop.
#include <chrono>
#include <thread>

#include <catch2/catch.hpp>

#include "http_test_util.h"

using namespace lethe;
using namespace lethe::testing;
using bhttp::verb;

TEST_CASE("a body over 1 MiB is 413 JSON", "[http][server]") {
  Harness h;
  std::string big = "{\"note\": \"" + std::string(2 * 1024 * 1024, 'x') + "\"}";
  Response r = Call(h.port, verb::post, "/v1/requests", big, {{"Authorization", Bearer(kOperatorKey)}});
  CHECK(r.status == 413);
  CHECK(r.Json()["error"]["code"] == "too_large");
  // Just under the limit is read (and then judged on its content).
  std::string fits = "{\"note\": \"" + std::string(1024 * 1024 - 64, 'x') + "\"}";
  CHECK(Call(h.port, verb::post, "/v1/requests", fits, {{"Authorization", Bearer(kOperatorKey)}}).status == 400);
  // The server is still fine.
  CHECK(Call(h.port, verb::get, "/healthz").status == 200);
}

TEST_CASE("malformed HTTP gets 400 and the server survives", "[http][server]") {
  Harness h;
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::socket sock(ioc);
  sock.connect({boost::asio::ip::make_address("127.0.0.1"), h.port});
  std::string junk = "GARBAGE\x01 / HTTP/1.1\r\nHost: x\r\n\r\n";
  boost::asio::write(sock, boost::asio::buffer(junk));
  std::string reply;
  beast::error_code ec;
  char buf[4096];
  for (;;) {
    size_t n = sock.read_some(boost::asio::buffer(buf), ec);
    if (ec) break;
    reply.append(buf, n);
  }
  CHECK(reply.rfind("HTTP/1.1 400", 0) == 0);
  CHECK(Call(h.port, verb::get, "/healthz").status == 200);
}

TEST_CASE("keep-alive serves several requests on one connection", "[http][server]") {
  Harness h;
  boost::asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.connect(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), h.port));
  beast::flat_buffer buf;
  for (int i = 0; i < 3; ++i) {
    bhttp::request<bhttp::string_body> req{verb::get, "/healthz", 11};
    req.set(bhttp::field::host, "x");
    bhttp::write(stream, req);
    bhttp::response<bhttp::string_body> res;
    bhttp::read(stream, buf, res);
    CHECK(res.result_int() == 200);
    CHECK(res.keep_alive());
  }
}

TEST_CASE("static files are served from their folder only", "[http][server][static]") {
  Harness h;
  Response index = Call(h.port, verb::get, "/inbox/");
  CHECK(index.status == 200);
  CHECK(index.body == "<h1>inbox</h1>");
  CHECK(index.headers["Content-Type"] == "text/html; charset=utf-8");
  Response js = Call(h.port, verb::get, "/inbox/sub/app.js");
  CHECK(js.status == 200);
  CHECK(js.headers["Content-Type"] == "text/javascript; charset=utf-8");
  Response redirect = Call(h.port, verb::get, "/inbox");
  CHECK(redirect.status == 301);
  CHECK(redirect.headers["Location"] == "/inbox/");
  // secret.txt sits next to static/: none of these may reach it.
  for (const char* t : {"/inbox/../secret.txt", "/inbox/%2e%2e/secret.txt", "/inbox/sub/..%2f..%2fsecret.txt",
                        "/inbox/%2e%2e%2fsecret.txt", "/inbox/sub/%2e%2e/%2e%2e/secret.txt", "/inbox//etc/passwd",
                        "/inbox/%2fetc%2fpasswd", "/inbox/..%5csecret.txt", "/inbox/nope.html", "/inbox/sub%00.js"}) {
    INFO(t);
    Response r = Call(h.port, verb::get, t);
    CHECK(r.status == 404);
    CHECK(r.body.find("top secret") == std::string::npos);
  }
}

TEST_CASE("Stop closes idle keep-alive connections and returns promptly", "[http][server]") {
  Harness h;
  boost::asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.connect(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), h.port));
  bhttp::request<bhttp::string_body> req{verb::get, "/healthz", 11};
  req.set(bhttp::field::host, "x");
  bhttp::write(stream, req);
  beast::flat_buffer buf;
  bhttp::response<bhttp::string_body> res;
  bhttp::read(stream, buf, res);
  REQUIRE(res.keep_alive());
  auto start = std::chrono::steady_clock::now();
  h.server->Stop();
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
  // The idle connection was closed by the server.
  beast::error_code ec;
  char c;
  stream.socket().read_some(boost::asio::buffer(&c, 1), ec);
  CHECK(ec);
}

namespace {
// Records the scheduler's calls to the retention purge (the purge itself is
// tested over real SQLite and PostgreSQL in tests/exec and tests/connectors).
class PurgeRecordingExecutor : public FileExecutor {
 public:
  using FileExecutor::FileExecutor;
  Result<json> PurgeExpiredKept(Time now) override {
    calls.push_back(now);
    return json{{"entries", 0}, {"rows", 0}, {"skipped", 0}};
  }
  std::vector<Time> calls;
};
}  // namespace

TEST_CASE("lethe serve's scheduler erases kept rows whose retention has ended", "[http][retention]") {
  TempDir tmp;
  http::ServiceOptions opts;
  auto ex = std::make_unique<PurgeRecordingExecutor>(tmp.str() + "/exports");
  PurgeRecordingExecutor* seen = ex.get();
  opts.executor = std::move(ex);
  Harness h(json(), std::move(opts));
  REQUIRE(h.service->TickScheduler().ok());
  REQUIRE(seen->calls.size() == 1);
  CHECK(seen->calls[0] >= Now() - std::chrono::minutes(1));
}
