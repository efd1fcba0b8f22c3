// Routing: method + path pattern -> handler, with {name} parameters and a
// trailing "*" wildcard (static files). Each route also declares who may
// call it; the Service checks that before the handler runs, so a handler
// never has to remember to.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <boost/beast/http.hpp>

#include "http/auth.h"
#include "http/reply.h"
#include "lethe/time.h"

namespace lethe::http {

namespace bhttp = boost::beast::http;
using HttpRequest = bhttp::request<bhttp::string_body>;

enum class Access {
  kPublic,   // anyone (health, discovery, subject links, static files)
  kSubject,  // self-service JWT
  kRead,     // any operator role (auditor, operator, admin)
  kAct,      // operator or admin: triage and act
  kAudit,    // auditor or admin: the audit log
  kAdmin,    // admin only
};

struct Context {
  const HttpRequest& req;
  std::map<std::string, std::string> params;  // {id}, and "*" for a wildcard tail
  std::map<std::string, std::string> query;   // percent-decoded
  Principal principal;
  Time now{};
};

using Handler = std::function<Reply(Context&)>;

struct Route {
  bhttp::verb method;
  std::string pattern;
  std::vector<std::string> segments;
  Access access;
  bool rate_limited = false;  // counts against the caller's submission budget
  Handler handler;
};

class Router {
 public:
  void Add(bhttp::verb method, std::string pattern, Access access, Handler h, bool rate_limited = false);

  struct Match {
    const Route* route = nullptr;
    bool path_known = false;           // some route has this path (for 405 vs 404)
    std::vector<bhttp::verb> allowed;  // the methods this path answers (405's Allow)
    std::map<std::string, std::string> params;
  };
  // `path` is the raw (still percent-encoded) path without the query. HEAD
  // finds the GET route (RFC 9110 §9.3.2); the server drops the body.
  Match Find(bhttp::verb method, std::string_view path) const;

 private:
  std::vector<Route> routes_;
};

// %XX decoding; '+' becomes a space when plus_is_space (query strings).
// False on a malformed escape or a NUL byte.
bool PercentDecode(std::string_view in, std::string* out, bool plus_is_space);
// Splits "a=1&b=2" into decoded pairs (last one wins). False if malformed.
bool ParseQuery(std::string_view q, std::map<std::string, std::string>* out);

}  // namespace lethe::http
