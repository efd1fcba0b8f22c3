// RFC 9112 (HTTP/1.1 message syntax) against the real server over raw
// loopback sockets. Every assertion names the clause it checks.
#include <catch2/catch.hpp>

#include "protocols/protocol_util.h"

using namespace lethe;
using namespace lethe::testing;

TEST_CASE("RFC 9112 §3.2: Host is required once in HTTP/1.1, never twice", "[protocols][rfc9112]") {
  Harness h;
  {
    // "A server MUST respond with a 400 (Bad Request) status code to any
    // HTTP/1.1 request message that lacks a Host header field"
    RawConn conn(h.port);
    conn.Send("GET /healthz HTTP/1.1\r\n\r\n");
    RawResponse r = conn.Read();
    CHECK(r.status == 400);
  }
  {
    // "... and to any request message that contains more than one Host header field line"
    RawConn conn(h.port);
    conn.Send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil.example\r\n\r\n");
    RawResponse r = conn.Read();
    CHECK(r.status == 400);
  }
  {
    // Two Host fields are refused on an HTTP/1.0 request as well.
    RawConn conn(h.port);
    conn.Send("GET /healthz HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n");
    CHECK(conn.Read().status == 400);
  }
  {
    // HTTP/1.0 had no Host requirement (§3.2 applies to HTTP/1.1 messages).
    RawConn conn(h.port);
    conn.Send("GET /healthz HTTP/1.0\r\n\r\n");
    CHECK(conn.Read().status == 200);
  }
  {
    // Exactly one Host: served.
    RawConn conn(h.port);
    conn.Send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    CHECK(conn.Read().status == 200);
  }
  {
    // The 400 is decided on the header alone: a body announced but never
    // sent does not hold it up.
    RawConn conn(h.port);
    conn.Send("POST /v1/requests HTTP/1.1\r\nContent-Length: 50\r\nContent-Type: application/json\r\n\r\n");
    CHECK(conn.Read(false, 3000).status == 400);
  }
}

TEST_CASE("RFC 9112 §3.2.2: absolute-form targets are accepted and routed by path", "[protocols][rfc9112]") {
  Harness h;
  {
    // "a server MUST accept the absolute-form in requests"
    RawConn conn(h.port);
    conn.Send("GET http://127.0.0.1/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    RawResponse r = conn.Read();
    CHECK(r.status == 200);
    CHECK(r.Json()["status"] == "ok");
  }
  {
    // With a port, a query and an authenticated route.
    RawConn conn(h.port);
    conn.Send("GET http://127.0.0.1:" + std::to_string(h.port) +
              "/v1/requests?limit=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + kAuditorKey + "\r\n\r\n");
    RawResponse r = conn.Read();
    CHECK(r.status == 200);
    CHECK(r.Json().contains("items"));
  }
  {
    // An empty path in absolute-form is "/" (§3.2.1 / RFC 9110 §4.2.3).
    RawConn conn(h.port);
    conn.Send("GET https://lethe.example HTTP/1.1\r\nHost: lethe.example\r\n\r\n");
    RawResponse r = conn.Read();
    CHECK(r.status == 302);
    CHECK(r.headers["location"] == "/inbox/");
  }
  {
    // A POST in absolute-form files a request like its origin-form twin.
    const std::string body = json{{"type", "access"}, {"subject", {{"email", "abs@example.com"}}}}.dump();
    RawConn conn(h.port);
    conn.Send("POST HTTP://127.0.0.1/v1/requests HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " +
              std::string(kOperatorKey) + "\r\nContent-Type: application/json\r\nContent-Length: " +
              std::to_string(body.size()) + "\r\n\r\n" + body);
    CHECK(conn.Read().status == 201);
  }
}

TEST_CASE("RFC 9112 §6.1: a transfer coding other than chunked is 501", "[protocols][rfc9112]") {
  Harness h;
  const std::string body = json{{"type", "access"}, {"subject", {{"email", "te@example.com"}}}}.dump();
  char size[16];
  std::snprintf(size, sizeof size, "%zx", body.size());
  const std::string chunked = std::string(size) + "\r\n" + body + "\r\n0\r\n\r\n";
  auto post = [&](const std::string& te) {
    RawConn conn(h.port);
    conn.Send("POST /v1/requests HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + std::string(kOperatorKey) +
              "\r\nContent-Type: application/json\r\nTransfer-Encoding: " + te + "\r\n\r\n" + chunked);
    return conn.Read();
  };
  // RFC 9110 §15.6.2 / RFC 9112 §6.1: "A server that receives a request
  // message with a transfer coding it does not understand SHOULD respond with 501".
  CHECK(post("gzip, chunked").status == 501);
  CHECK(post("deflate, chunked").status == 501);
  CHECK(post("x-custom, chunked").status == 501);
  // §6.3: "If a Transfer-Encoding header field is present in a request and
  // the chunked transfer coding is not the final encoding ... the server
  // MUST respond with the 400"; §6.1: chunked is applied at most once.
  CHECK(post("chunked, gzip").status == 400);
  CHECK(post("chunked, chunked").status == 400);
  CHECK(post("gzip").status == 400);
  // §7.1: chunked alone is understood and decoded.
  RawResponse ok = post("chunked");
  CHECK(ok.status == 201);
  CHECK(ok.Json()["subject"]["email"] == "te@example.com");
  // Field names and codings are case-insensitive (§5.1, RFC 9110 §10.1.4 ... §7).
  CHECK(post("Chunked").status == 201);

  // Nothing was filed by the refused ones.
  Response list = h.Get("/v1/requests", kAuditorKey);
  CHECK(list.Json()["items"].size() == 2);
}

TEST_CASE("RFC 9112 §9.3: keep-alive connections carry several requests", "[protocols][rfc9112]") {
  Harness h;
  RawConn conn(h.port);
  // §9.3.2: pipelined requests are answered in order.
  conn.Send(
      "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\nHEAD /healthz HTTP/1.1\r\nHost: a\r\n\r\nGET /nope HTTP/1.1\r\nHost: "
      "a\r\n\r\n");
  CHECK(conn.Read().status == 200);
  CHECK(conn.Read(true).status == 200);
  CHECK(conn.Read().status == 404);
}
