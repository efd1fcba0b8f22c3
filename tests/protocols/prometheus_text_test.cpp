// The Prometheus text exposition format (0.0.4), as promtool checks it, on
// /metrics of the real server. Every assertion names the rule it checks
// (https://prometheus.io/docs/instrumenting/exposition_formats/).
#include <regex>
#include <set>
#include <sstream>

#include <catch2/catch.hpp>

#include "protocols/protocol_util.h"

using namespace lethe;
using namespace lethe::testing;
using bhttp::verb;

TEST_CASE("Prometheus text format 0.0.4: /metrics is well-formed", "[protocols][prometheus]") {
  Harness h;
  // Some state to count.
  REQUIRE(Call(h.port, verb::post, "/v1/requests",
               json{{"type", "access"}, {"subject", {{"email", "prom@example.com"}}}, {"verified", true}}.dump(),
               {{"Authorization", Bearer(kOperatorKey)}})
              .status == 201);
  Response r = Call(h.port, verb::get, "/metrics", "", {{"Authorization", Bearer(kOperatorKey)}});
  REQUIRE(r.status == 200);
  // "Content-Type: text/plain; version=0.0.4".
  CHECK_THAT(r.headers["Content-Type"], Catch::StartsWith("text/plain"));
  CHECK_THAT(r.headers["Content-Type"], Catch::Contains("version=0.0.4"));
  // "Lines are separated by a line feed (\n). The last line must end with a line feed."
  REQUIRE(!r.body.empty());
  CHECK(r.body.back() == '\n');
  CHECK(r.body.find('\r') == std::string::npos);

  const std::regex name_re("[a-zA-Z_:][a-zA-Z0-9_:]*");
  const std::regex help_re("# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .*");
  const std::regex type_re("# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)");
  // name{label="value",...} value
  const std::regex sample_re(
      R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*",?)*\})? (-?[0-9.eE+-]+|NaN|\+Inf|-Inf)( -?[0-9]+)?)");
  std::set<std::string> typed, seen_samples;
  std::istringstream in(r.body);
  std::string line;
  int samples = 0;
  while (std::getline(in, line)) {
    INFO(line);
    if (line.empty()) continue;
    std::smatch m;
    if (line.rfind("# HELP ", 0) == 0) {
      CHECK(std::regex_match(line, m, help_re));
    } else if (line.rfind("# TYPE ", 0) == 0) {
      REQUIRE(std::regex_match(line, m, type_re));
      // "Only one TYPE line may exist for a given metric name."
      CHECK(typed.insert(m[1]).second);
      // "The TYPE line for a metric name must appear before the first sample is reported for that metric name."
      CHECK(seen_samples.count(m[1]) == 0);
    } else if (line[0] == '#') {
      continue;  // other comments are allowed
    } else {
      REQUIRE(std::regex_match(line, m, sample_re));
      seen_samples.insert(m[1]);
      ++samples;
    }
  }
  CHECK(samples > 0);
  CHECK(std::regex_match(std::string("lethe_requests"), name_re));
}
