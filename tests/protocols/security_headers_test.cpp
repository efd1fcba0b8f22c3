// The browser-facing security headers (issue 8): Content-Security-Policy
// (CSP Level 3), X-Frame-Options (RFC 7034), Referrer-Policy (W3C Referrer
// Policy), X-Content-Type-Options (WHATWG Fetch §"X-Content-Type-Options"),
// on the real pages served by the real server.
#include <catch2/catch.hpp>

#include "protocols/protocol_util.h"

using namespace lethe;
using namespace lethe::testing;

namespace {

std::string SourceDir() {
  if (const char* d = std::getenv("LETHE_SOURCE_DIR"); d && *d) return d;
  // build/protocol_tests -> the source tree above build/
  return std::filesystem::read_symlink("/proc/self/exe").parent_path().parent_path().string();
}

// One directive's value out of a policy ("script-src 'self'" -> "'self'").
std::string Directive(const std::string& policy, const std::string& name) {
  size_t at = 0;
  while (at < policy.size()) {
    size_t end = policy.find(';', at);
    if (end == std::string::npos) end = policy.size();
    std::string d = policy.substr(at, end - at);
    while (!d.empty() && d.front() == ' ') d.erase(0, 1);
    if (d.rfind(name + " ", 0) == 0) return d.substr(name.size() + 1);
    at = end + 1;
  }
  return "";
}

}  // namespace

TEST_CASE("pages are served with CSP, X-Frame-Options, Referrer-Policy and nosniff", "[protocols][security]") {
  http::ServiceOptions opts;
  opts.static_dir = SourceDir() + "/web/inbox";
  opts.examples_dir = SourceDir() + "/examples/settings-page";
  REQUIRE(std::filesystem::exists(opts.static_dir + "/index.html"));
  Harness h(json(), std::move(opts));

  for (const std::string page : {"/inbox/", "/examples/settings-page/"}) {
    INFO(page);
    Response r = Call(h.port, bhttp::verb::get, page);
    REQUIRE(r.status == 200);
    CHECK_THAT(r.headers["Content-Type"], Catch::StartsWith("text/html"));
    const std::string csp = r.headers["Content-Security-Policy"];
    // CSP3 §6.1.3 default-src: nothing unless a directive allows it.
    CHECK(Directive(csp, "default-src") == "'none'");
    // §6.1.9/§6.1.11: scripts and styles only from this origin, no inline code.
    CHECK(Directive(csp, "script-src") == "'self'");
    CHECK(Directive(csp, "style-src") == "'self'");
    CHECK(csp.find("unsafe-inline") == std::string::npos);
    CHECK(csp.find("unsafe-eval") == std::string::npos);
    CHECK(Directive(csp, "connect-src") == "'self'");
    // §6.4.2 frame-ancestors, and RFC 7034 §2.1 for older browsers.
    CHECK(Directive(csp, "frame-ancestors") == "'none'");
    CHECK(r.headers["X-Frame-Options"] == "DENY");
    // Referrer Policy §3.1: "no-referrer" — download tokens never leak in Referer.
    CHECK(r.headers["Referrer-Policy"] == "no-referrer");
    // Fetch §"X-Content-Type-Options": nosniff.
    CHECK(r.headers["X-Content-Type-Options"] == "nosniff");

    // The pages still work under that policy: no inline <script> or <style>,
    // no inline event handlers, no resources from another origin.
    CHECK(r.body.find("<style") == std::string::npos);
    CHECK(r.body.find("<script>") == std::string::npos);
    CHECK(r.body.find(" onclick=") == std::string::npos);
    CHECK(r.body.find(" onload=") == std::string::npos);
    CHECK(r.body.find("src=\"http") == std::string::npos);
    CHECK(r.body.find("href=\"http") == std::string::npos);
  }
  // The settings page's styles moved to a file of their own, which is served.
  Response css = Call(h.port, bhttp::verb::get, "/examples/settings-page/settings.css");
  CHECK(css.status == 200);
  CHECK_THAT(css.headers["Content-Type"], Catch::StartsWith("text/css"));

  // API answers get the strictest policy: nothing may load, nothing may frame them.
  Response api = Call(h.port, bhttp::verb::get, "/healthz");
  CHECK(Directive(api.headers["Content-Security-Policy"], "default-src") == "'none'");
  CHECK(Directive(api.headers["Content-Security-Policy"], "frame-ancestors") == "'none'");
  CHECK(api.headers["X-Content-Type-Options"] == "nosniff");
}
