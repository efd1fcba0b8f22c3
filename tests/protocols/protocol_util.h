// Raw HTTP/1.1 over a loopback socket, for the framing cases a well-behaved
// client library will not produce (two Host fields, absolute-form targets,
// Expect: 100-continue with the body held back). Beside http_test_util.h's
// Harness, which runs the real server.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <map>
#include <regex>
#include <stdexcept>
#include <string>

#include "http/http_test_util.h"

namespace lethe::testing {

struct RawResponse {
  unsigned status = 0;
  std::string head;                            // status line and header fields, as sent
  std::map<std::string, std::string> headers;  // names lower-cased; last one wins
  std::string body;
  size_t CountHeader(const std::string& lower_name) const {
    size_t n = 0, at = 0;
    const std::string h = "\r\n" + lower_name + ":";
    std::string lower = head;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    while ((at = lower.find(h, at)) != std::string::npos) ++n, ++at;
    return n;
  }
  json Json() const { return json::parse(body); }
};

class RawConn {
 public:
  explicit RawConn(unsigned short port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
      throw std::runtime_error("connect failed");
  }
  ~RawConn() { ::close(fd_); }
  RawConn(const RawConn&) = delete;
  RawConn& operator=(const RawConn&) = delete;

  void Send(const std::string& bytes) {
    size_t off = 0;
    while (off < bytes.size()) {
      ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (n <= 0) throw std::runtime_error("send failed");
      off += static_cast<size_t>(n);
    }
  }

  // Bytes that arrive within `ms` (less if the peer closes).
  std::string ReadFor(int ms) {
    std::string out;
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (Fill(until)) {
      out += buf_;
      buf_.clear();
    }
    out += buf_;
    buf_.clear();
    return out;
  }

  // One response: the head, then Content-Length bytes of body (none for a
  // HEAD request or a 1xx/204/304). Throws if it does not arrive in `ms`.
  RawResponse Read(bool head_request = false, int ms = 5000) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos)
      if (!Fill(until)) throw std::runtime_error("no complete response head; got: " + buf_);
    RawResponse r;
    r.head = buf_.substr(0, end + 2);
    buf_.erase(0, end + 4);
    if (r.head.size() < 12) throw std::runtime_error("short status line");
    r.status = static_cast<unsigned>(std::stoi(r.head.substr(9, 3)));
    size_t at = r.head.find("\r\n");
    while (at != std::string::npos && at + 2 < r.head.size()) {
      size_t eol = r.head.find("\r\n", at + 2);
      std::string line = r.head.substr(at + 2, eol - at - 2);
      size_t colon = line.find(':');
      if (colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        std::string value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.erase(0, 1);
        r.headers[name] = value;
      }
      at = eol;
    }
    size_t len = 0;
    if (!head_request && r.status >= 200 && r.status != 204 && r.status != 304 && r.headers.count("content-length"))
      len = std::stoul(r.headers["content-length"]);
    while (buf_.size() < len)
      if (!Fill(until)) throw std::runtime_error("short body");
    r.body = buf_.substr(0, len);
    buf_.erase(0, len);
    return r;
  }

  // True when the server has closed (or closes within `ms`) with nothing more to say.
  bool ClosedWithin(int ms) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (buf_.empty()) {
      if (!Fill(until)) return closed_;
    }
    return false;
  }

 private:
  // Appends what arrives before `until`; false on timeout or close.
  bool Fill(std::chrono::steady_clock::time_point until) {
    if (closed_) return false;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char tmp[65536];
    ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) {
      closed_ = true;
      return false;
    }
    buf_.append(tmp, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool closed_ = false;
  std::string buf_;
};

// RFC 9110 §5.6.7: IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT".
inline bool IsImfFixdate(const std::string& v) {
  static const std::regex re(
      "^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} "
      "[0-9]{2}:[0-9]{2}:[0-9]{2} GMT$");
  return std::regex_match(v, re);
}

// Seconds between an IMF-fixdate and now (large if it does not parse).
inline long SecondsFromNow(const std::string& v) {
  std::tm tm{};
  if (strptime(v.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm) == nullptr) return 1L << 30;
  const std::time_t t = timegm(&tm);
  return std::labs(static_cast<long>(t - std::time(nullptr)));
}

}  // namespace lethe::testing
