// RFC 9110 (HTTP Semantics) against the real server on loopback. Every
// assertion names the clause it checks.
#include <catch2/catch.hpp>

#include "protocols/protocol_util.h"

using namespace lethe;
using namespace lethe::testing;

namespace {

std::string Req(const std::string& method, const std::string& target, const std::string& extra = "") {
  return method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra + "\r\n";
}

}  // namespace

TEST_CASE("RFC 9110 §9.3.2: HEAD is answered wherever GET is, with GET's header and no body", "[protocols][rfc9110]") {
  Harness h;
  struct Case {
    std::string target, auth;
  };
  const std::vector<Case> cases = {
      {"/healthz", ""},
      {"/opendsr/discovery", ""},
      {"/inbox/", ""},                // a static file (streamed from disk)
      {"/v1/requests", kAuditorKey},  // an authenticated JSON list
  };
  for (const Case& c : cases) {
    INFO("target " << c.target);
    const std::string auth = c.auth.empty() ? "" : "Authorization: Bearer " + c.auth + "\r\n";
    RawConn conn(h.port);
    conn.Send(Req("GET", c.target, auth));
    RawResponse get = conn.Read();
    REQUIRE(get.status == 200);
    conn.Send(Req("HEAD", c.target, auth));
    RawResponse head = conn.Read(/*head_request=*/true);
    // §9.3.2: "the server SHOULD send the same header fields ... as GET".
    CHECK(head.status == 200);
    CHECK(head.headers["content-type"] == get.headers["content-type"]);
    // §8.6: Content-Length in a HEAD response is the length GET's body would have.
    CHECK(head.headers["content-length"] == std::to_string(get.body.size()));
    // §9.3.2: "The server MUST NOT send content in the response": the next
    // bytes on this connection are the next response, not a body.
    conn.Send(Req("GET", "/healthz"));
    RawResponse next = conn.Read();
    CHECK(next.status == 200);
    CHECK(next.Json()["status"] == "ok");
  }
}

TEST_CASE("RFC 9110 §15.5.6: 405 carries Allow listing the path's methods", "[protocols][rfc9110]") {
  Harness h;
  RawConn conn(h.port);
  conn.Send(Req("PUT", "/v1/requests", "Content-Length: 0\r\n"));
  RawResponse r = conn.Read();
  CHECK(r.status == 405);
  REQUIRE(r.headers.count("allow"));  // §15.5.6: "MUST generate an Allow header field"
  const std::string allow = r.headers["allow"];
  CHECK_THAT(allow, Catch::Contains("GET"));
  CHECK_THAT(allow, Catch::Contains("HEAD"));  // §9.3.2: HEAD wherever GET
  CHECK_THAT(allow, Catch::Contains("POST"));
  CHECK_THAT(allow, !Catch::Contains("PUT"));

  conn.Send(Req("POST", "/healthz", "Content-Length: 0\r\n"));
  RawResponse h2 = conn.Read();
  CHECK(h2.status == 405);
  CHECK(h2.headers["allow"] == "GET, HEAD");
}

TEST_CASE("RFC 9110 §6.6.1: every response carries Date as an IMF-fixdate", "[protocols][rfc9110]") {
  Harness h;
  struct Case {
    std::string request;
    unsigned status;
  };
  const std::vector<Case> cases = {
      {Req("GET", "/healthz"), 200},
      {Req("GET", "/nothing/here"), 404},
      {Req("GET", "/v1/requests"), 401},
      {Req("DELETE", "/healthz"), 405},
      {Req("HEAD", "/healthz"), 200},
      // Refused by the server before any handler runs.
      {"GET /healthz HTTP/1.1\r\n\r\n", 400},
      {"GET /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 2000000\r\n\r\n", 413},
      {"GET /healthz HTTP/1.1\r\nHost: a\r\nbad header line\r\n\r\n", 400},
  };
  for (const Case& c : cases) {
    INFO(c.request);
    RawConn conn(h.port);
    conn.Send(c.request);
    RawResponse r = conn.Read(c.request.rfind("HEAD", 0) == 0);
    CHECK(r.status == c.status);
    // §6.6.1: "An origin server with a clock ... MUST generate a Date header field" in 2xx-5xx.
    REQUIRE(r.headers.count("date"));
    CHECK(r.CountHeader("date") == 1);
    // §5.6.7: the preferred format, in GMT.
    CHECK(IsImfFixdate(r.headers["date"]));
    CHECK(SecondsFromNow(r.headers["date"]) <= 5);
  }
}

TEST_CASE("RFC 9110 §10.1.1: Expect: 100-continue gets 100 before the body is sent", "[protocols][rfc9110]") {
  Harness h;
  const std::string body = json{{"type", "access"}, {"subject", {{"email", "cont@example.com"}}}}.dump();
  {
    RawConn conn(h.port);
    conn.Send("POST /v1/requests HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + std::string(kOperatorKey) +
              "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
              "\r\nExpect: 100-continue\r\n\r\n");
    // §15.2.1 / §10.1.1: the server "ought to" send 100 (Continue) before
    // reading the content; the client waits for it.
    RawResponse interim = conn.Read();
    CHECK(interim.status == 100);
    conn.Send(body);
    RawResponse final = conn.Read();
    CHECK(final.status == 201);
    CHECK(final.Json()["subject"]["email"] == "cont@example.com");
  }
  {
    // §10.1.1: "A server MAY omit sending a 100 (Continue) response if it
    // has already received some or all of the content".
    RawConn conn(h.port);
    conn.Send("POST /v1/requests HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + std::string(kOperatorKey) +
              "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
              "\r\nExpect: 100-continue\r\n\r\n" + body);
    RawResponse r = conn.Read();
    if (r.status == 100) r = conn.Read();
    CHECK(r.status == 201);
  }
}

TEST_CASE("RFC 9110 §10.1.1: a final status is sent instead of 100 when the header already decides",
          "[protocols][rfc9110]") {
  Harness h;
  const std::string hdr = "Content-Type: application/json\r\nContent-Length: 100\r\nExpect: 100-continue\r\n";
  struct Case {
    std::string request;
    unsigned status;
  };
  const std::vector<Case> cases = {
      // No credentials: 401 without reading the body.
      {Req("POST", "/v1/requests", hdr), 401},
      // A key without the role: 403.
      {Req("POST", "/v1/requests", hdr + "Authorization: Bearer " + kAuditorKey + "\r\n"), 403},
      {Req("POST", "/no/such/route", hdr), 404},
      {Req("PUT", "/v1/requests", hdr), 405},
      // Over the body limit: 413 (§15.5.14) before any of it is sent.
      {Req("POST", "/v1/requests",
           "Content-Type: application/json\r\nContent-Length: 5000000\r\nExpect: 100-continue\r\nAuthorization: "
           "Bearer " +
               std::string(kOperatorKey) + "\r\n"),
       413},
  };
  for (const Case& c : cases) {
    INFO(c.request);
    RawConn conn(h.port);
    conn.Send(c.request);
    // The body is never sent: the answer must come anyway, and it is final.
    RawResponse r = conn.Read();
    CHECK(r.status == c.status);
    CHECK(r.status != 100);
  }
}

TEST_CASE("RFC 9110 §15.5.6 and §9.3.2 also hold for static pages", "[protocols][rfc9110]") {
  Harness h;
  RawConn conn(h.port);
  conn.Send(Req("POST", "/inbox/index.html", "Content-Length: 0\r\n"));
  RawResponse r = conn.Read();
  CHECK(r.status == 405);
  CHECK(r.headers["allow"] == "GET, HEAD");
}
