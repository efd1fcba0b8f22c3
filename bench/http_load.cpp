// HTTP load generator for `lethe serve` (driven by bench/http_load.sh).
//
//   bench_http_load seed DB N                 insert N requests straight into the store
//   bench_http_load submit PORT SECS CONNS    self-service POSTs (JWT from $BENCH_JWT_SECRET), req/s
//   bench_http_load list PORT N CONNS         GET /v1/requests (key $BENCH_OPERATOR_KEY), p50/p99
//
// Each connection is one thread with one keep-alive socket; latencies are
// measured per request, client side.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "lethe/hex.h"
#include "lethe/store.h"

namespace beast = boost::beast;
namespace bhttp = beast::http;
using Clock = std::chrono::steady_clock;

namespace {

std::string B64Url(const std::string& in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  out.resize(n);
  for (char& c : out) c = c == '+' ? '-' : c == '/' ? '_' : c;
  while (!out.empty() && out.back() == '=') out.pop_back();
  return out;
}

std::string Jwt(const std::string& sub, const std::string& secret) {
  nlohmann::json p = {{"sub", sub},
                      {"email", sub + "@bench.example"},
                      {"iss", "https://app.example"},
                      {"aud", "lethe"},
                      {"exp", std::time(nullptr) + 3600}};
  std::string signing = B64Url(R"({"alg":"HS256","typ":"JWT"})") + "." + B64Url(p.dump());
  unsigned char mac[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(signing.data()), signing.size(), mac, &len);
  return signing + "." + B64Url(std::string(reinterpret_cast<char*>(mac), len));
}

int Seed(const std::string& db, int n) {
  auto store = lethe::Store::Open({{"sqlite", db}}, ".");
  if (!store.ok()) {
    std::fprintf(stderr, "seed: %s\n", store.status().ToString().c_str());
    return 1;
  }
  const auto start = Clock::now();
  const lethe::Time now = lethe::Now();
  for (int i = 0; i < n; ++i) {
    lethe::Request r;
    r.id = lethe::NewRequestId();
    r.type = static_cast<lethe::RequestType>(i % 6);
    r.status = i % 3 == 0   ? lethe::RequestStatus::kPending
               : i % 3 == 1 ? lethe::RequestStatus::kApproved
                            : lethe::RequestStatus::kCompleted;
    r.channel = "api";
    r.subject.email = "seed" + std::to_string(i) + "@example.com";
    r.verified = true;
    r.received_at = now - std::chrono::hours(i % (24 * 60));
    r.due_at = r.received_at + std::chrono::hours(24 * 30);
    r.due_date = lethe::FormatRfc3339(r.due_at).substr(0, 10);
    r.created_at = r.updated_at = now;
    lethe::Event e{0, now, "received", "bench", "", "", std::string(lethe::ToString(r.status))};
    lethe::AuditEntry a;
    a.at = now;
    a.request_id = r.id;
    a.kind = "received";
    a.actor = "bench";
    lethe::Status st = (*store)->Insert(r, e, a);
    if (!st.ok()) {
      std::fprintf(stderr, "seed: %s\n", st.ToString().c_str());
      return 1;
    }
  }
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("seeded %d requests in %.1f s (%.0f inserts/s)\n", n, secs, n / secs);
  return 0;
}

struct Stats {
  std::mutex mu;
  std::vector<double> ms;
  std::atomic<int> errors{0};
};

// One keep-alive connection issuing requests made by `make` until `done`.
template <class Make, class Done>
void Client(unsigned short port, Make make, Done done, Stats* stats) {
  boost::asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.connect(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port));
  beast::flat_buffer buf;
  std::vector<double> local;
  for (int i = 0; !done(i); ++i) {
    bhttp::request<bhttp::string_body> req = make(i);
    req.set(bhttp::field::host, "127.0.0.1");
    req.keep_alive(true);
    req.prepare_payload();
    auto t0 = Clock::now();
    bhttp::write(stream, req);
    bhttp::response<bhttp::string_body> res;
    bhttp::read(stream, buf, res);
    local.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    if (res.result_int() >= 300) ++stats->errors;
  }
  std::lock_guard<std::mutex> lock(stats->mu);
  stats->ms.insert(stats->ms.end(), local.begin(), local.end());
}

void Report(const char* name, Stats& s, double secs) {
  std::sort(s.ms.begin(), s.ms.end());
  auto pct = [&](double p) { return s.ms.empty() ? 0 : s.ms[std::min(s.ms.size() - 1, size_t(p * s.ms.size()))]; };
  std::printf("%-28s %8zu req  %8.1f req/s  p50 %7.2f ms  p99 %7.2f ms  errors %d\n", name, s.ms.size(),
              s.ms.size() / secs, pct(0.50), pct(0.99), s.errors.load());
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> a(argv + 1, argv + argc);
  if (a.size() == 3 && a[0] == "seed") return Seed(a[1], std::stoi(a[2]));
  if (a.size() == 4 && a[0] == "submit") {
    const unsigned short port = std::stoi(a[1]);
    const double secs = std::stod(a[2]);
    const int conns = std::stoi(a[3]);
    const char* secret = std::getenv("BENCH_JWT_SECRET");
    if (!secret) return 2;
    // Tokens are made up front so signing is not measured; one subject per
    // request keeps the per-subject rate limit out of the way.
    std::vector<std::vector<std::string>> tokens(conns);
    for (int c = 0; c < conns; ++c)
      for (int i = 0; i < 20000; ++i)
        tokens[c].push_back(Jwt("bench-" + std::to_string(c) + "-" + std::to_string(i), secret));
    Stats st;
    const auto end = Clock::now() + std::chrono::duration<double>(secs);
    const auto start = Clock::now();
    std::vector<std::thread> ts;
    for (int c = 0; c < conns; ++c) {
      ts.emplace_back([&, c] {
        Client(
            port,
            [&](int i) {
              bhttp::request<bhttp::string_body> r{bhttp::verb::post, "/v1/self/requests", 11};
              r.set(bhttp::field::authorization, "Bearer " + tokens[c][i % tokens[c].size()]);
              r.set(bhttp::field::content_type, "application/json");
              r.body() = R"({"type":"access"})";
              return r;
            },
            [&](int i) { return Clock::now() >= end || i >= 20000; }, &st);
      });
    }
    for (auto& t : ts) t.join();
    Report("self-service submit", st, std::chrono::duration<double>(Clock::now() - start).count());
    return 0;
  }
  if (a.size() == 4 && a[0] == "list") {
    const unsigned short port = std::stoi(a[1]);
    const int n = std::stoi(a[2]);
    const int conns = std::stoi(a[3]);
    const char* key = std::getenv("BENCH_OPERATOR_KEY");
    if (!key) return 2;
    const std::vector<std::string> targets = {"/v1/requests?limit=50", "/v1/requests?status=pending&limit=50",
                                              "/v1/requests?overdue=true&limit=50",
                                              "/v1/requests?type=erasure&limit=50"};
    for (const std::string& target : targets) {
      Stats st;
      const auto start = Clock::now();
      std::vector<std::thread> ts;
      for (int c = 0; c < conns; ++c) {
        ts.emplace_back([&] {
          Client(
              port,
              [&](int) {
                bhttp::request<bhttp::string_body> r{bhttp::verb::get, target, 11};
                r.set(bhttp::field::authorization, std::string("Bearer ") + key);
                return r;
              },
              [&](int i) { return i >= n / conns; }, &st);
        });
      }
      for (auto& t : ts) t.join();
      Report(("GET " + target.substr(12)).c_str(), st, std::chrono::duration<double>(Clock::now() - start).count());
    }
    return 0;
  }
  std::fprintf(stderr, "usage: bench_http_load seed DB N | submit PORT SECS CONNS | list PORT N CONNS\n");
  return 2;
}
