#include "http/router.h"

#include <algorithm>

namespace lethe::http {
namespace {

std::vector<std::string> Split(std::string_view path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    out.emplace_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool PercentDecode(std::string_view in, std::string* out, bool plus_is_space) {
  out->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      int hi = Hex(in[i + 1]), lo = Hex(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      c = ' ';
    }
    if (c == '\0') return false;
    out->push_back(c);
  }
  return true;
}

bool ParseQuery(std::string_view q, std::map<std::string, std::string>* out) {
  size_t i = 0;
  while (i <= q.size()) {
    size_t j = q.find('&', i);
    if (j == std::string_view::npos) j = q.size();
    std::string_view pair = q.substr(i, j - i);
    if (!pair.empty()) {
      size_t eq = pair.find('=');
      std::string k, v;
      if (!PercentDecode(pair.substr(0, eq), &k, true)) return false;
      if (eq != std::string_view::npos && !PercentDecode(pair.substr(eq + 1), &v, true)) return false;
      (*out)[k] = v;
    }
    i = j + 1;
  }
  return true;
}

void Router::Add(bhttp::verb method, std::string pattern, Access access, Handler h, bool rate_limited) {
  Route r{method, pattern, Split(pattern), access, rate_limited, std::move(h)};
  routes_.push_back(std::move(r));
}

Router::Match Router::Find(bhttp::verb method, std::string_view path) const {
  Match m;
  const std::vector<std::string> segs = Split(path);
  const bool trailing_slash = !path.empty() && path.back() == '/';
  for (const Route& r : routes_) {
    std::map<std::string, std::string> params;
    bool ok = true;
    size_t i = 0;
    for (; i < r.segments.size() && ok; ++i) {
      const std::string& p = r.segments[i];
      if (p == "*") {
        // The raw tail; the static handler decodes and checks it.
        std::string tail;
        for (size_t k = i; k < segs.size(); ++k) tail += (k > i ? "/" : "") + segs[k];
        if (trailing_slash && !tail.empty()) tail += "/";
        params["*"] = tail;
        i = segs.size();
        break;
      }
      if (i >= segs.size()) {
        ok = false;
        break;
      }
      if (p.size() > 2 && p.front() == '{' && p.back() == '}') {
        std::string v;
        if (!PercentDecode(segs[i], &v, false) || v.empty()) {
          ok = false;
          break;
        }
        params[p.substr(1, p.size() - 2)] = v;
      } else if (p != segs[i]) {
        ok = false;
      }
    }
    if (!ok || i != segs.size()) continue;
    m.path_known = true;
    auto allow = [&m](bhttp::verb v) {
      if (std::find(m.allowed.begin(), m.allowed.end(), v) == m.allowed.end()) m.allowed.push_back(v);
    };
    allow(r.method);
    if (r.method == bhttp::verb::get) allow(bhttp::verb::head);
    if (m.route == nullptr && (r.method == method || (method == bhttp::verb::head && r.method == bhttp::verb::get))) {
      m.route = &r;
      m.params = std::move(params);
    }
  }
  if (m.route != nullptr) m.allowed.clear();
  return m;
}

}  // namespace lethe::http
