// Test support for the notify tests: a real loopback HTTP receiver, the
// maildev REST API, temp stores and configs. No mocks: mail goes through a
// real SMTP server (maildev, started by scripts/services.sh) and webhooks to
// a real socket.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <curl/curl.h>
#include <nlohmann/json.hpp>
#include <openssl/hmac.h>

#include "lethe/config.h"
#include "lethe/store.h"
#include "lethe/workflow.h"

namespace notify_test {

using nlohmann::json;

inline std::string RandomTag() {
  static std::mt19937_64 rng(std::random_device{}());
  static std::mutex mu;
  std::lock_guard lock(mu);
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(rng()));
  return buf;
}

// The environment of the test services. Missing means the services were not
// started: that is a failure, never a skip.
inline std::string ServiceEnv(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') {
    FAIL(std::string(name) +
         " is not set: start the test services (bash scripts/services.sh start && set -a && "
         ". tests/services/.run/env && set +a)");
  }
  return v;
}

// ---------------------------------------------------------------- HTTP receiver

struct Call {
  std::string method, target, body;
  std::map<std::string, std::string> headers;  // names lowercased
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

// A tiny HTTP/1.1 server on 127.0.0.1:<ephemeral>: records every request,
// answers with the next status from `statuses` (the last one repeats).
class Receiver {
 public:
  explicit Receiver(std::vector<int> statuses = {200}) : statuses_(std::move(statuses)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd_, 16) == 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { Loop(); });
  }
  ~Receiver() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  std::string url(const std::string& path = "/hook") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  std::vector<Call> calls() {
    std::lock_guard lock(mu_);
    return calls_;
  }
  void set_statuses(std::vector<int> s) {
    std::lock_guard lock(mu_);
    statuses_ = std::move(s);
    next_ = 0;
  }

 private:
  void Loop() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      Serve(c);
      ::close(c);
    }
  }
  void Serve(int c) {
    std::string in;
    char buf[4096];
    size_t header_end = std::string::npos;
    auto read_more = [&]() {
      pollfd p{c, POLLIN, 0};
      if (::poll(&p, 1, 2000) <= 0) return false;
      ssize_t n = ::read(c, buf, sizeof buf);
      if (n <= 0) return false;
      in.append(buf, static_cast<size_t>(n));
      return true;
    };
    while ((header_end = in.find("\r\n\r\n")) == std::string::npos) {
      if (!read_more()) return;
    }
    Call call;
    std::string head = in.substr(0, header_end);
    size_t line_end = head.find("\r\n");
    std::string request_line = head.substr(0, line_end);
    size_t sp1 = request_line.find(' '), sp2 = request_line.rfind(' ');
    call.method = request_line.substr(0, sp1);
    call.target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
    size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
    while (pos < head.size()) {
      size_t e = head.find("\r\n", pos);
      if (e == std::string::npos) e = head.size();
      std::string line = head.substr(pos, e - pos);
      size_t colon = line.find(':');
      if (colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        std::transform(name.begin(), name.end(), name.begin(), ::tolower);
        size_t v = line.find_first_not_of(' ', colon + 1);
        call.headers[name] = v == std::string::npos ? "" : line.substr(v);
      }
      pos = e + 2;
    }
    size_t want = std::stoul(call.header("content-length").empty() ? "0" : call.header("content-length"));
    while (in.size() - header_end - 4 < want) {
      if (!read_more()) break;
    }
    call.body = in.substr(header_end + 4, want);
    int status;
    {
      std::lock_guard lock(mu_);
      calls_.push_back(call);
      status = statuses_.empty() ? 200 : statuses_[std::min(next_, statuses_.size() - 1)];
      ++next_;
    }
    std::string out = "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    (void)!::write(c, out.data(), out.size());
  }

  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<Call> calls_;
  std::vector<int> statuses_;
  size_t next_ = 0;
};

// A port nothing listens on (bound, then closed).
inline int DeadPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// ---------------------------------------------------------------- maildev

inline size_t CollectBody(char* p, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(p, size * n);
  return size * n;
}

inline json MaildevGet(const std::string& path) {
  std::string url = ServiceEnv("LETHE_MAILDEV_API") + path;
  CURL* c = curl_easy_init();
  std::string body;
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, CollectBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
  CURLcode rc = curl_easy_perform(c);
  curl_easy_cleanup(c);
  INFO("GET " << url);
  REQUIRE(rc == CURLE_OK);
  return json::parse(body);
}

// Mails maildev holds whose envelope recipients include `address`. Waits up
// to 3 s for at least `at_least` of them (maildev stores asynchronously).
inline std::vector<json> MailsTo(const std::string& address, size_t at_least = 0) {
  std::vector<json> out;
  for (int i = 0; i < 30; ++i) {
    out.clear();
    for (const json& m : MaildevGet("/email")) {
      for (const json& to : m.value("envelope", json::object()).value("to", json::array())) {
        if (to.value("address", "") == address) {
          out.push_back(m);
          break;
        }
      }
    }
    if (out.size() >= at_least) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return out;
}

// ---------------------------------------------------------------- store, config, workflow

struct World {
  std::filesystem::path dir;
  std::unique_ptr<lethe::Store> store;
  lethe::Config config;

  World(const World&) = delete;
  World& operator=(const World&) = delete;
  explicit World(json notify = json::object(), json recipients = json::array()) {
    dir = std::filesystem::temp_directory_path() / ("lethe-notify-" + RandomTag());
    std::filesystem::create_directories(dir);
    Reopen();
    config.base_dir = dir.string();
    config.public_url = "https://privacy.example.test/";
    config.notify = std::move(notify);
    config.recipients = std::move(recipients);
  }
  ~World() {
    store.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  // A new Store object over the same database file: what a restart looks like.
  void Reopen() {
    store.reset();
    auto s = lethe::Store::Open(json{{"sqlite", "lethe.db"}}, dir.string());
    INFO(s.status().ToString());
    REQUIRE(s.ok());
    store = std::move(*s);
  }
};

// An executor's outcome for an access request whose zip is at `path`.
inline lethe::Outcome ExportedTo(const std::string& path) {
  lethe::Outcome o;
  o.type = lethe::RequestType::kAccess;
  o.export_path = path;
  return o;
}

inline lethe::DeadlineEngine Engine() {
  auto e = lethe::DeadlineEngine::Create(lethe::DeadlineRules{});
  REQUIRE(e.ok());
  return *e;
}

inline lethe::WorkflowPolicy Policy() {
  lethe::WorkflowPolicy p;
  p.pseudonym_key = "test-pseudonym-key";
  return p;
}

inline std::string HmacHex(const std::string& key, const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), md, &len);
  std::string hex;
  char b[3];
  for (unsigned i = 0; i < len; ++i) {
    std::snprintf(b, sizeof b, "%02x", md[i]);
    hex += b;
  }
  return hex;
}

// Pins the clock for the test's lifetime.
struct PinClock {
  explicit PinClock(lethe::Time t) { lethe::SetClockForTesting(t); }
  ~PinClock() { lethe::SetClockForTesting(lethe::Time{}); }
};

}  // namespace notify_test
