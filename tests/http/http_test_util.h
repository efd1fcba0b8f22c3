// A real server on a loopback ephemeral port, driven over HTTP by a small
// Beast client. Each Harness has its own temp dir, store and config.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>

#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <nlohmann/json.hpp>

#include "lethe/hex.h"
#include "http/auth.h"
#include "http/server.h"
#include "http/service.h"
#include "lethe/config.h"

namespace lethe::testing {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using nlohmann::json;

inline const char* kJwtSecret = "test-jwt-secret-0123456789abcdef";
inline const char* kIssuer = "https://app.example";
inline const char* kAudience = "lethe";
inline const char* kAdminKey = "admin-key-1";
inline const char* kOperatorKey = "operator-key-2";
inline const char* kAuditorKey = "auditor-key-3";

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::random_device rd;
    path = std::filesystem::temp_directory_path() / ("lethe-http-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string str() const { return path.string(); }
};

struct Response {
  unsigned status = 0;
  std::string body;
  std::map<std::string, std::string> headers;
  json Json() const {
    json j = json::parse(body, nullptr, false);
    if (j.is_discarded()) throw std::runtime_error("response is not JSON: " + body.substr(0, 200));
    return j;
  }
  std::string ErrorField() const { return Json()["error"].value("field", ""); }
};

// One request on a fresh connection.
inline Response Call(unsigned short port, bhttp::verb method, const std::string& target, const std::string& body = "",
                     const std::map<std::string, std::string>& headers = {}) {
  boost::asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.connect(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port));
  bhttp::request<bhttp::string_body> req{method, target, 11};
  req.set(bhttp::field::host, "127.0.0.1");
  for (const auto& [k, v] : headers) req.set(k, v);
  if (!body.empty() || method == bhttp::verb::post) {
    req.set(bhttp::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
  }
  bhttp::write(stream, req);
  beast::flat_buffer buf;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  bhttp::read(stream, buf, parser);
  Response r;
  r.status = parser.get().result_int();
  r.body = parser.get().body();
  for (const auto& f : parser.get()) r.headers[std::string(f.name_string())] = std::string(f.value());
  beast::error_code ec;
  stream.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
  return r;
}

inline std::string Bearer(const std::string& cred) { return "Bearer " + cred; }

inline json TestConfigJson(const std::string& dir) {
  return json{{"listen", "127.0.0.1:0"},
              {"public_url", "http://127.0.0.1:8080"},
              {"store", {{"sqlite", "lethe.db"}}},
              {"timezone", "Europe/Berlin"},
              {"default_regulation", "gdpr"},
              {"operators",
               {{{"name", "alice"}, {"role", "admin"}, {"key_sha256", Sha256Hex(kAdminKey)}},
                {{"name", "oscar"}, {"role", "operator"}, {"key_sha256", Sha256Hex(kOperatorKey)}},
                {{"name", "audrey"}, {"role", "auditor"}, {"key_sha256", Sha256Hex(kAuditorKey)}}}},
              {"self_service",
               {{"jwt", {{"hs256_secret_env", "LETHE_TEST_JWT_SECRET"}, {"issuer", kIssuer}, {"audience", kAudience}}},
                {"auto_approve", {"access", "portability"}},
                {"erasure_grace", "P7D"}}},
              {"exports", {{"dir", "exports"}, {"link_ttl", "P7D"}, {"keep", "P30D"}}},
              {"audit", {{"pseudonym_key_env", "LETHE_TEST_AUDIT_KEY"}}},
              {"connectors", json::array()}};
}

// An executor that writes a small zip-named file for access/portability
// and reports counts: the HTTP layer's view of "a request got executed".
// (The real executor is tested in tests/exec.)
class FileExecutor : public Executor {
 public:
  explicit FileExecutor(std::string dir) : dir_(std::move(dir)) {}
  Result<Outcome> Execute(const Request& r) override {
    Outcome out;
    out.type = r.type;
    out.records = 1;
    if (r.type == RequestType::kAccess || r.type == RequestType::kPortability) {
      std::filesystem::create_directories(dir_);
      std::string path = dir_ + "/" + r.id + ".zip";
      std::ofstream(path, std::ios::binary) << "PK\x03\x04"
                                            << "export of " << r.id;
      out.export_path = path;
    }
    return out;
  }
  Result<json> Plan(const Request& r) override {
    return json{{"connectors", {{{"connector", "app"}, {"collection", "users"}, {"delete", 1}, {"keep", 0}}}}};
  }

 private:
  std::string dir_;
};

struct Harness {
  TempDir dir;
  std::unique_ptr<http::Service> service;
  std::unique_ptr<http::HttpServer> server;
  unsigned short port = 0;

  explicit Harness(json config_doc = json(), http::ServiceOptions opts = {}) {
    setenv("LETHE_TEST_JWT_SECRET", kJwtSecret, 1);
    setenv("LETHE_TEST_AUDIT_KEY", "audit-key-for-tests", 1);
    if (config_doc.is_null()) config_doc = TestConfigJson(dir.str());
    Result<Config> cfg = ParseConfig(config_doc, "test.json", dir.str());
    if (!cfg.ok()) throw std::runtime_error(cfg.status().ToString());
    if (!opts.executor) opts.executor = std::make_unique<FileExecutor>(dir.str() + "/exports");
    if (opts.static_dir.empty()) opts.static_dir = dir.str() + "/static";
    std::filesystem::create_directories(dir.str() + "/static/sub");
    std::ofstream(dir.str() + "/static/index.html") << "<h1>inbox</h1>";
    std::ofstream(dir.str() + "/static/sub/app.js") << "console.log(1)";
    std::ofstream(dir.str() + "/secret.txt") << "top secret";
    Result<std::unique_ptr<http::Service>> s = http::Service::Create(*cfg, std::move(opts));
    if (!s.ok()) throw std::runtime_error(s.status().ToString());
    service = std::move(*s);
    http::ServeOptions so;
    so.listen = "127.0.0.1:0";
    so.workers = false;  // tests run workers explicitly, for determinism
    so.threads = 2;
    server = std::make_unique<http::HttpServer>(*service, so);
    Status st = server->Start();
    if (!st.ok()) throw std::runtime_error(st.ToString());
    port = server->port();
  }
  ~Harness() { server->Stop(); }

  Response Get(const std::string& target, const std::string& cred) {
    return Call(port, bhttp::verb::get, target, "", {{"Authorization", Bearer(cred)}});
  }
  Response Post(const std::string& target, const std::string& cred, const json& body,
                std::map<std::string, std::string> headers = {}) {
    headers["Authorization"] = Bearer(cred);
    return Call(port, bhttp::verb::post, target, body.is_null() ? "" : body.dump(), headers);
  }
  Response Delete(const std::string& target, const std::string& cred) {
    return Call(port, bhttp::verb::delete_, target, "", {{"Authorization", Bearer(cred)}});
  }
};

inline std::string SubjectToken(const std::string& sub, const std::string& email, int64_t ttl = 3600,
                                json overrides = json::object()) {
  json p = {{"sub", sub},          {"email", email}, {"iss", kIssuer}, {"aud", kAudience}, {"exp", ToUnix(Now()) + ttl},
            {"iat", ToUnix(Now())}};
  for (auto& [k, v] : overrides.items()) {
    if (v.is_null())
      p.erase(k);
    else
      p[k] = v;
  }
  return http::SignJwt(p, kJwtSecret);
}

}  // namespace lethe::testing
