#include <catch2/catch.hpp>

#include "lethe/status.h"
#include "lethe/time.h"

using namespace lethe;

namespace {

Time MustParse(std::string_view s) {
  auto r = ParseRfc3339(s);
  INFO(s << ": " << r.status().ToString());
  REQUIRE(r.ok());
  return *r;
}

}  // namespace

TEST_CASE("RFC 3339 round trip in UTC", "[time]") {
  for (const char* s : {"2026-01-31T10:00:00Z", "1970-01-01T00:00:00Z", "2028-02-29T23:59:59Z", "2000-12-31T00:00:01Z",
                        "1969-12-31T23:59:59Z"}) {
    CHECK(FormatRfc3339(MustParse(s)) == s);
  }
  CHECK(ToUnix(MustParse("1970-01-01T00:00:00Z")) == 0);
  CHECK(ToUnix(MustParse("2026-01-31T10:00:00Z")) == 1769853600);
  CHECK(ToUnix(MustParse("1969-12-31T23:59:59Z")) == -1);
  CHECK(FormatRfc3339(FromUnix(1769853600)) == "2026-01-31T10:00:00Z");
}

TEST_CASE("RFC 3339 offsets are converted to UTC", "[time]") {
  CHECK(FormatRfc3339(MustParse("2026-01-31T10:00:00+02:00")) == "2026-01-31T08:00:00Z");
  CHECK(FormatRfc3339(MustParse("2026-01-31T10:00:00-05:30")) == "2026-01-31T15:30:00Z");
  // Crosses a day, a month and a year boundary.
  CHECK(FormatRfc3339(MustParse("2026-01-01T00:30:00+01:00")) == "2025-12-31T23:30:00Z");
  CHECK(FormatRfc3339(MustParse("2026-02-28T23:00:00-02:00")) == "2026-03-01T01:00:00Z");
  CHECK(MustParse("2026-01-31T10:00:00-00:00") == MustParse("2026-01-31T10:00:00Z"));
  CHECK(MustParse("2026-01-31t10:00:00z") == MustParse("2026-01-31T10:00:00Z"));
  CHECK(MustParse("2026-01-31 10:00:00Z") == MustParse("2026-01-31T10:00:00Z"));
}

// Found by fuzz/time_fuzz (regression fuzz/regressions/time/year_edges.txt):
// an offset moved the first or last day of 0000-9999 out of those years, and
// the instant then formatted as "-001-12-31..." or "10000-01-01...", which
// nothing parses back.
TEST_CASE("RFC 3339 refuses instants an offset moves outside the years 0000 to 9999", "[time]") {
  CHECK(FormatRfc3339(MustParse("0000-01-01T00:00:00Z")) == "0000-01-01T00:00:00Z");
  CHECK(FormatRfc3339(MustParse("9999-12-31T23:59:59Z")) == "9999-12-31T23:59:59Z");
  CHECK(FormatRfc3339(MustParse("0000-01-01T23:59:00+23:59")) == "0000-01-01T00:00:00Z");
  for (const char* s : {"0000-01-01T00:00:00+00:01", "0000-01-01T10:00:00+23:59", "9999-12-31T23:59:59-00:01",
                        "9999-12-31T12:00:00-23:59"}) {
    auto r = ParseRfc3339(s);
    INFO(s);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.status().message(), Catch::Contains("outside the years 0000 to 9999"));
  }
}

TEST_CASE("RFC 3339 fractional seconds are dropped, not rounded", "[time]") {
  CHECK(FormatRfc3339(MustParse("2026-01-31T10:00:00.999Z")) == "2026-01-31T10:00:00Z");
  CHECK(FormatRfc3339(MustParse("2026-01-31T10:00:59.123456789+01:00")) == "2026-01-31T09:00:59Z");
}

TEST_CASE("RFC 3339 rejects garbage with a reason", "[time]") {
  struct Case {
    const char* input;
    const char* reason;
  };
  const Case cases[] = {
      {"", "YYYY-MM-DD"},
      {"yesterday", "YYYY-MM-DD"},
      {"2026-1-31T10:00:00Z", "YYYY-MM-DD"},
      {"2026-01-31", "missing 'T'"},
      {"2026-01-31T10:00Z", "hh:mm:ss"},
      {"2026-01-31T10:00:00", "missing offset"},
      {"2026-01-31T10:00:00+0200", "+hh:mm"},
      {"2026-01-31T10:00:00+02", "+hh:mm"},
      {"2026-01-31T10:00:00+24:00", "offset out of range"},
      {"2026-02-29T10:00:00Z", "no such date"},  // 2026 is not a leap year
      {"2026-13-01T10:00:00Z", "no such date"},
      {"2026-04-31T10:00:00Z", "no such date"},
      {"2026-01-31T24:00:00Z", "out of range"},
      {"2026-01-31T10:60:00Z", "out of range"},
      {"2026-12-31T23:59:60Z", "leap seconds"},
      {"2026-01-31T10:00:00.Z", "fractional"},
      {"2026-01-31T10:00:00Zjunk", "unexpected text"},
      {"2026-01-31T10:00:00Z ", "unexpected text"},
  };
  for (const auto& c : cases) {
    auto r = ParseRfc3339(c.input);
    INFO(c.input);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kInvalid);
    CHECK_THAT(r.status().message(), Catch::Contains(c.reason));
    // The message quotes the input so the user sees what was refused.
    CHECK_THAT(r.status().message(), Catch::Contains("RFC 3339"));
  }
}

TEST_CASE("Now can be pinned for tests and released again", "[time]") {
  Time pinned = MustParse("2026-01-31T10:00:00Z");
  SetClockForTesting(pinned);
  CHECK(Now() == pinned);
  SetClockForTesting(Time{});
  Time real = Now();
  CHECK(real != pinned);
  CHECK(real > MustParse("2024-01-01T00:00:00Z"));
}

TEST_CASE("ISO 8601 durations", "[time]") {
  auto parse = [](std::string_view s) {
    auto r = ParseIsoDuration(s);
    INFO(s << ": " << r.status().ToString());
    REQUIRE(r.ok());
    return *r;
  };
  Duration d = parse("P7D");
  CHECK((d.years == 0 && d.months == 0 && d.days == 7 && d.seconds == 0));
  d = parse("PT12H");
  CHECK((d.days == 0 && d.seconds == 12 * 3600));
  d = parse("P1Y2M");
  CHECK((d.years == 1 && d.months == 2 && d.days == 0 && d.seconds == 0));
  d = parse("P2W");
  CHECK(d.days == 14);
  d = parse("P1Y2M3DT4H5M6S");
  CHECK((d.years == 1 && d.months == 2 && d.days == 3 && d.seconds == 4 * 3600 + 5 * 60 + 6));
  // 'M' before 'T' is months, after it minutes.
  d = parse("PT30M");
  CHECK((d.months == 0 && d.seconds == 1800));
  d = parse("P0D");
  CHECK(d.days == 0);
  d = parse("PT86400S");
  CHECK(d.seconds == 86400);

  // Calendar units are approximated only by Approx().
  CHECK(parse("P7D").Approx() == std::chrono::hours{7 * 24});
  CHECK(parse("P1M").Approx() == std::chrono::hours{30 * 24});
  CHECK(parse("P1Y").Approx() == std::chrono::hours{365 * 24});
  CHECK(parse("P1DT1S").Approx() == std::chrono::seconds{86401});
}

TEST_CASE("ISO 8601 durations reject garbage", "[time]") {
  struct Case {
    const char* input;
    const char* reason;
  };
  const Case cases[] = {
      {"", "start with 'P'"},
      {"7D", "start with 'P'"},
      {"P", "no value"},
      {"PT", "'T' must be followed"},
      {"P1DT", "'T' must be followed"},
      {"-P7D", "signed"},
      {"P-7D", "negative"},
      {"P7", "without a unit"},
      {"P7X", "unknown unit"},
      {"PT1D", "unknown unit"},
      {"P1H", "unknown unit"},
      {"P1D2Y", "out of order"},
      {"P1D1D", "out of order"},
      {"P1.5D", "fractional"},
      {"PT0,5H", "fractional"},
      {"P1234567890D", "too large"},
      {"P10001Y", "at most 10000 years"},
      {"P120001M", "at most 10000 years"},
      {"P999999999Y", "at most 10000 years"},
      {"P522858W", "at most 10000 years"},
      {"PT87840001H", "at most 10000 years"},
      {"P7D ", "expected a number"},
      {"p7d", "start with 'P'"},
  };
  for (const auto& c : cases) {
    auto r = ParseIsoDuration(c.input);
    INFO(c.input);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kInvalid);
    CHECK_THAT(r.status().message(), Catch::Contains(c.reason));
  }
}

TEST_CASE("Status code names are the API's error codes", "[time][status]") {
  CHECK(std::string(Status().CodeName()) == "ok");
  CHECK(std::string(Status::Invalid("x").CodeName()) == "invalid");
  CHECK(std::string(Status::NotFound("x").CodeName()) == "not_found");
  CHECK(std::string(Status::Conflict("x").CodeName()) == "conflict");
  CHECK(std::string(Status::Unauthorized("x").CodeName()) == "unauthorized");
  CHECK(std::string(Status::Forbidden("x").CodeName()) == "forbidden");
  CHECK(std::string(Status(Code::kTooLarge, "x").CodeName()) == "too_large");
  CHECK(std::string(Status(Code::kRateLimited, "x").CodeName()) == "rate_limited");
  CHECK(std::string(Status::Unavailable("x").CodeName()) == "unavailable");
  CHECK(std::string(Status::Io("x").CodeName()) == "io");
  CHECK(std::string(Status::Internal("x").CodeName()) == "internal");
}

TEST_CASE("AddCalendar counts years and months on the calendar, clamped to the month's end", "[time]") {
  auto at = [](const char* s) { return *ParseRfc3339(s); };
  auto add = [&](const char* t, const char* d) { return FormatRfc3339(AddCalendar(at(t), *ParseIsoDuration(d))); };
  CHECK(add("2018-03-31T00:00:00Z", "P7Y") == "2025-03-31T00:00:00Z");
  CHECK(add("2024-02-29T10:00:00Z", "P1Y") == "2025-02-28T10:00:00Z");  // leap day clamps
  CHECK(add("2024-02-29T10:00:00Z", "P4Y") == "2028-02-29T10:00:00Z");
  CHECK(add("2025-01-31T00:00:00Z", "P1M") == "2025-02-28T00:00:00Z");
  CHECK(add("2025-10-31T00:00:00Z", "P1Y4M") == "2027-02-28T00:00:00Z");
  CHECK(add("2025-12-15T23:00:00Z", "P1MT2H") == "2026-01-16T01:00:00Z");
  CHECK(add("2026-01-01T00:00:00Z", "P30D") == "2026-01-31T00:00:00Z");
  // Not the 365-day approximation: seven years span two leap days.
  CHECK(AddCalendar(at("2018-03-31T00:00:00Z"), *ParseIsoDuration("P7Y")) !=
        at("2018-03-31T00:00:00Z") + ParseIsoDuration("P7Y")->Approx());
}

// Found by fuzz/config_fuzz (regression fuzz/regressions/config/long_duration.json):
// "P999999999Y" was accepted, and adding it on the calendar overflowed the
// int months underneath (UB; the "end" came out before the start).
TEST_CASE("the longest durations accepted still move time forward on the calendar", "[time]") {
  const Time last = MustParse("9999-12-31T23:59:59Z");
  for (const char* d : {"P10000Y", "P120000M", "P3660000D", "PT87840000H", "P10000Y120000M3660000DT87840000H"}) {
    auto r = ParseIsoDuration(d);
    INFO(d);
    REQUIRE(r.ok());
    CHECK(AddCalendar(last, *r) > last);
    CHECK(AddCalendar(MustParse("0000-01-01T00:00:00Z"), *r) > MustParse("9999-01-01T00:00:00Z"));
  }
}
