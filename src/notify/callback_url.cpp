// Where Lethe may POST OpenDSR status callbacks (Notifier::CheckCallbackUrl).
// The URL comes from whoever filed the request, so without this check Lethe
// would send signed requests into its own network on anyone's behalf (SSRF).
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <string>
#include <vector>

#include "notify/notifier.h"

namespace lethe {
namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

struct UrlParts {
  std::string scheme, host, port;  // host without brackets; lower case
  bool bracketed = false;          // [v6] literal
};

Status SplitUrl(const std::string& url, UrlParts* out) {
  size_t sep = url.find("://");
  if (sep == std::string::npos) return Status::Invalid("must be an absolute https URL");
  out->scheme = Lower(url.substr(0, sep));
  std::string rest = url.substr(sep + 3);
  std::string authority = rest.substr(0, rest.find_first_of("/?#"));
  // user:pass@host hides the real host from a reader of the URL.
  if (authority.find('@') != std::string::npos) return Status::Invalid("must not carry user information");
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string::npos) return Status::Invalid("malformed IPv6 host");
    out->host = authority.substr(1, close - 1);
    out->bracketed = true;
    std::string tail = authority.substr(close + 1);
    if (!tail.empty() && tail.front() != ':') return Status::Invalid("malformed host");
    out->port = tail.empty() ? "" : tail.substr(1);
  } else {
    size_t colon = authority.find(':');
    out->host = authority.substr(0, colon);
    out->port = colon == std::string::npos ? "" : authority.substr(colon + 1);
  }
  out->host = Lower(out->host);
  if (out->host.empty()) return Status::Invalid("has no host");
  if (!std::all_of(out->port.begin(), out->port.end(), [](unsigned char c) { return std::isdigit(c); }) ||
      out->port.size() > 5)
    return Status::Invalid("malformed port");
  if (out->port.empty()) out->port = out->scheme == "https" ? "443" : "80";
  return Status::Ok();
}

bool InV4(uint32_t a, uint32_t net, int bits) {
  const uint32_t mask = bits == 0 ? 0 : ~uint32_t{0} << (32 - bits);
  return (a & mask) == (net & mask);
}

// Addresses that are not one public host on the Internet (RFC 6890 and
// friends): this network, private, CGNAT, loopback, link-local, IETF and
// documentation ranges, benchmarking, multicast, reserved, broadcast.
bool PublicV4(uint32_t a) {
  static constexpr struct {
    uint32_t net;
    int bits;
  } kBlocked[] = {
      {0x00000000, 8},  {0x0a000000, 8},  {0x64400000, 10}, {0x7f000000, 8},  {0xa9fe0000, 16},
      {0xac100000, 12}, {0xc0000000, 24}, {0xc0000200, 24}, {0xc0a80000, 16}, {0xc6120000, 15},
      {0xc6336400, 24}, {0xcb007100, 24}, {0xe0000000, 4},  {0xf0000000, 4},
  };
  for (const auto& b : kBlocked)
    if (InV4(a, b.net, b.bits)) return false;
  return true;
}

bool PublicV6(const unsigned char* b) {
  static const unsigned char kZero[16] = {};
  if (std::memcmp(b, kZero, 15) == 0 && (b[15] == 0 || b[15] == 1)) return false;  // :: and ::1
  // IPv4-mapped (::ffff:a.b.c.d) and NAT64 (64:ff9b::a.b.c.d): judge the IPv4 inside.
  static const unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  static const unsigned char kNat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
  if (std::memcmp(b, kMapped, 12) == 0 || std::memcmp(b, kNat64, 12) == 0 || std::memcmp(b, kZero, 12) == 0)
    return PublicV4((uint32_t{b[12]} << 24) | (uint32_t{b[13]} << 16) | (uint32_t{b[14]} << 8) | b[15]);
  if ((b[0] & 0xfe) == 0xfc) return false;                                         // fc00::/7 unique local
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return false;                         // fe80::/10 link-local
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return false;                         // fec0::/10 site-local (deprecated)
  if (b[0] == 0xff) return false;                                                  // multicast
  if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) return false;  // 2001:db8::/32 documentation
  return true;
}

}  // namespace

Status Notifier::CheckCallbackUrl(const std::string& url, std::string* pin) const {
  if (pin != nullptr) pin->clear();
  UrlParts u;
  LETHE_RETURN_IF_ERROR(SplitUrl(url, &u));
  if (u.scheme != "https" && u.scheme != "http") return Status::Invalid("must be an https URL");
  const std::string listed = u.bracketed ? "[" + u.host + "]" : u.host;
  if (std::find(allow_callback_hosts_.begin(), allow_callback_hosts_.end(), listed) != allow_callback_hosts_.end())
    return Status::Ok();
  if (u.scheme != "https")
    return Status::Invalid("must be https (or its host listed in notify.opendsr.allow_callback_hosts)");

  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = getaddrinfo(u.host.c_str(), u.port.c_str(), &hints, &res);
  if (rc != 0 || res == nullptr) return Status::Unavailable("callback host does not resolve");
  std::vector<std::string> addrs;
  bool all_public = true;
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    char text[INET6_ADDRSTRLEN] = {};
    if (ai->ai_family == AF_INET) {
      const auto* sin = reinterpret_cast<const sockaddr_in*>(ai->ai_addr);
      all_public = all_public && PublicV4(ntohl(sin->sin_addr.s_addr));
      inet_ntop(AF_INET, &sin->sin_addr, text, sizeof text);
      addrs.emplace_back(text);
    } else if (ai->ai_family == AF_INET6) {
      const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(ai->ai_addr);
      all_public = all_public && PublicV6(sin6->sin6_addr.s6_addr);
      inet_ntop(AF_INET6, &sin6->sin6_addr, text, sizeof text);
      addrs.push_back("[" + std::string(text) + "]");
    }
  }
  freeaddrinfo(res);
  // Every address must be public: curl may try any of them.
  if (!all_public || addrs.empty())
    return Status::Invalid(
        "host resolves to a loopback, private or link-local address (list it in notify.opendsr.allow_callback_hosts "
        "to allow it)");
  unsigned char literal[sizeof(in6_addr)];
  const bool is_literal =
      inet_pton(AF_INET, u.host.c_str(), literal) == 1 || inet_pton(AF_INET6, u.host.c_str(), literal) == 1;
  if (pin != nullptr && !is_literal) {  // a literal address is never looked up, so needs no pin
    std::sort(addrs.begin(), addrs.end());
    addrs.erase(std::unique(addrs.begin(), addrs.end()), addrs.end());
    *pin = u.host + ":" + u.port + ":";
    for (size_t i = 0; i < addrs.size(); ++i) *pin += (i ? "," : "") + addrs[i];
  }
  return Status::Ok();
}

}  // namespace lethe
