// Deadline cases taken from the rule texts (docs/deadlines.md). Expected
// dates were worked out by hand from a calendar; weekdays are noted beside
// them so a reader can check.
#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include <catch2/catch.hpp>
#include <date/tz.h>

#include "lethe/deadline.h"
#include "lethe/request.h"
#include "lethe/time.h"

using namespace lethe;

namespace {

Time T(std::string_view s) {
  auto r = ParseRfc3339(s);
  INFO(s << ": " << r.status().ToString());
  REQUIRE(r.ok());
  return *r;
}

DeadlineEngine Engine(std::string tz, std::set<std::string> holidays = {}, std::vector<CustomSla> custom = {}) {
  DeadlineRules rules;
  rules.timezone = std::move(tz);
  rules.holidays = std::move(holidays);
  rules.custom = std::move(custom);
  auto e = DeadlineEngine::Create(rules);
  INFO(e.status().ToString());
  REQUIRE(e.ok());
  return *e;
}

struct Expect {
  const char* received;
  const char* due_date;
  const char* due_at;
};

void CheckDue(const DeadlineEngine& e, Regulation reg, const Expect& x, bool extended = false,
              const std::string& sla = "") {
  INFO("received " << x.received << (extended ? " (extended)" : ""));
  auto d = extended ? e.Extended(reg, T(x.received), sla) : e.Due(reg, T(x.received), sla);
  INFO(d.status().ToString());
  REQUIRE(d.ok());
  CHECK(d->due_date == x.due_date);
  CHECK(FormatRfc3339(d->due_at) == x.due_at);
}

// A file in the temp dir, removed when the test ends.
class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    static std::atomic<int> n{0};
    path_ = (std::filesystem::temp_directory_path() /
             ("lethe_holidays_" + std::to_string(getpid()) + "_" + std::to_string(n++) + ".txt"))
                .string();
    std::ofstream(path_) << content;
  }
  ~TempFile() { std::filesystem::remove(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace

TEST_CASE("GDPR: the contract's example", "[deadline]") {
  // Jan 31 + 1 month = Feb 28 (Sat) -> Mon Mar 2, end of day in Berlin (CET).
  CheckDue(Engine("Europe/Berlin"), Regulation::kGdpr, {"2026-01-31T10:00:00Z", "2026-03-02", "2026-03-02T22:59:59Z"});
}

TEST_CASE("GDPR: same date next month, clamped to the month's end", "[deadline]") {
  DeadlineEngine e = Engine("UTC");
  const Expect cases[] = {
      {"2025-01-31T10:00:00Z", "2025-02-28", "2025-02-28T23:59:59Z"},  // non-leap, Fri
      {"2028-01-31T10:00:00Z", "2028-02-29", "2028-02-29T23:59:59Z"},  // leap, Tue
      {"2026-03-31T10:00:00Z", "2026-04-30", "2026-04-30T23:59:59Z"},  // Thu
      {"2026-08-31T10:00:00Z", "2026-09-30", "2026-09-30T23:59:59Z"},  // Wed
      {"2026-03-15T00:00:00Z", "2026-04-15", "2026-04-15T23:59:59Z"},  // plain case, Wed
      // Dec 31 -> Jan 31 2026 is a Saturday -> Mon Feb 2; crosses the year.
      {"2025-12-31T23:59:59Z", "2026-02-02", "2026-02-02T23:59:59Z"},
  };
  for (const Expect& x : cases) CheckDue(e, Regulation::kGdpr, x);
  // UK GDPR counts the same way.
  CheckDue(e, Regulation::kUkGdpr, {"2025-01-31T10:00:00Z", "2025-02-28", "2025-02-28T23:59:59Z"});
  CheckDue(e, Regulation::kUkGdpr, {"2026-01-31T10:00:00Z", "2026-03-02", "2026-03-02T23:59:59Z"});
}

TEST_CASE("GDPR: the receipt date is the local date in the controller's zone", "[deadline]") {
  // 23:30Z on Mar 14 is already 00:30 on Mar 15 in Berlin.
  CheckDue(Engine("Europe/Berlin"), Regulation::kGdpr, {"2026-03-14T23:30:00Z", "2026-04-15", "2026-04-15T21:59:59Z"});
  CheckDue(Engine("UTC"), Regulation::kGdpr, {"2026-03-14T23:30:00Z", "2026-04-14", "2026-04-14T23:59:59Z"});
  // West of UTC the other way round: 03:00Z on Mar 15 is still Mar 14 in New York.
  CheckDue(Engine("America/New_York"), Regulation::kGdpr,
           {"2026-03-15T03:00:00Z", "2026-04-14", "2026-04-15T03:59:59Z"});
}

TEST_CASE("GDPR: end of day follows daylight saving time", "[deadline]") {
  DeadlineEngine e = Engine("Europe/Berlin");
  // Summer time from Mar 29 2026: Mar 28 (Sat) rolls to Mon Mar 30, CEST = UTC+2.
  CheckDue(e, Regulation::kGdpr, {"2026-02-28T12:00:00Z", "2026-03-30", "2026-03-30T21:59:59Z"});
  // Winter: CET = UTC+1.
  CheckDue(e, Regulation::kGdpr, {"2026-01-31T10:00:00Z", "2026-03-02", "2026-03-02T22:59:59Z"});
  // Back to winter time on Sun Oct 26 2025: rolls to Mon Oct 27, CET again.
  CheckDue(e, Regulation::kGdpr, {"2025-09-26T12:00:00Z", "2025-10-27", "2025-10-27T22:59:59Z"});
}

TEST_CASE("GDPR: rolls past configured holidays", "[deadline]") {
  const Expect christmas{"2026-11-25T10:00:00Z", "2026-12-28", "2026-12-28T22:59:59Z"};
  // Fri Dec 25 (holiday), Sat Dec 26 (holiday and weekend), Sun -> Mon Dec 28.
  CheckDue(Engine("Europe/Berlin", {"2026-12-25", "2026-12-26"}), Regulation::kGdpr, christmas);
  // Without the holidays Dec 25 is an ordinary Friday.
  CheckDue(Engine("Europe/Berlin"), Regulation::kGdpr, {"2026-11-25T10:00:00Z", "2026-12-25", "2026-12-25T22:59:59Z"});
  // A holiday on a day that is not the due date changes nothing.
  CheckDue(Engine("Europe/Berlin", {"2026-12-25"}), Regulation::kGdpr,
           {"2026-11-24T10:00:00Z", "2026-12-24", "2026-12-24T22:59:59Z"});
}

TEST_CASE("GDPR: extension is receipt + 3 months, rolled once, not chained", "[deadline]") {
  DeadlineEngine e = Engine("Europe/Berlin");
  // Jan 31 + 3 months = Apr 30 (Thu). Chaining from the rolled first deadline
  // (Mar 2) would give May 2 -> May 4: later, so wrong.
  CheckDue(e, Regulation::kGdpr, {"2026-01-31T10:00:00Z", "2026-04-30", "2026-04-30T21:59:59Z"}, true);
  // Nov 30 + 3 months = Feb 28 2026 (Sat) -> Mon Mar 2.
  CheckDue(e, Regulation::kGdpr, {"2025-11-30T10:00:00Z", "2026-03-02", "2026-03-02T22:59:59Z"}, true);
  // A holiday on the extended date rolls it too.
  CheckDue(Engine("Europe/Berlin", {"2026-04-30"}), Regulation::kUkGdpr,
           {"2026-01-31T10:00:00Z", "2026-05-01", "2026-05-01T21:59:59Z"}, true);
}

TEST_CASE("CCPA: 45 calendar days, extension to 90, never rolled", "[deadline]") {
  DeadlineEngine e = Engine("America/Los_Angeles");
  CheckDue(e, Regulation::kCcpa, {"2026-01-31T20:00:00Z", "2026-03-17", "2026-03-18T06:59:59Z"});
  CheckDue(e, Regulation::kCcpa, {"2026-01-31T20:00:00Z", "2026-05-01", "2026-05-02T06:59:59Z"}, true);
  // Mar 18 + 45 = Sat May 2: stays on the Saturday (the earlier reading).
  CheckDue(e, Regulation::kCcpa, {"2026-03-18T20:00:00Z", "2026-05-02", "2026-05-03T06:59:59Z"});
  // Holidays do not move it either.
  CheckDue(Engine("UTC", {"2026-03-17"}), Regulation::kCcpa,
           {"2026-01-31T10:00:00Z", "2026-03-17", "2026-03-17T23:59:59Z"});
}

TEST_CASE("CCPA: acknowledgement within 10 business days", "[deadline]") {
  // Received Fri Dec 18 2026, 21:00 local in Los Angeles (05:00Z on the 19th).
  Time received = T("2026-12-19T05:00:00Z");
  auto plain = Engine("America/Los_Angeles").AcknowledgeBy(Regulation::kCcpa, received);
  REQUIRE(plain.ok());
  CHECK(plain->due_date == "2027-01-01");  // two weekends skipped
  auto holidays = Engine("America/Los_Angeles", {"2026-12-25", "2026-12-26", "2027-01-01"})
                      .AcknowledgeBy(Regulation::kCcpa, received);
  REQUIRE(holidays.ok());
  // Dec 21-24 (4), Dec 25 holiday, 28-31 (8), Jan 1 holiday, Jan 4-5 (10).
  CHECK(holidays->due_date == "2027-01-05");
  CHECK(FormatRfc3339(holidays->due_at) == "2027-01-06T07:59:59Z");

  // Only CCPA has an acknowledgement deadline.
  for (Regulation reg : {Regulation::kGdpr, Regulation::kUsState, Regulation::kLgpd}) {
    auto r = Engine("UTC").AcknowledgeBy(reg, received);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kConflict);
  }
}

TEST_CASE("us_state: 45 + 45 like CCPA", "[deadline]") {
  DeadlineEngine e = Engine("America/New_York");
  CheckDue(e, Regulation::kUsState, {"2026-01-31T20:00:00Z", "2026-03-17", "2026-03-18T03:59:59Z"});
  CheckDue(e, Regulation::kUsState, {"2026-01-31T20:00:00Z", "2026-05-01", "2026-05-02T03:59:59Z"}, true);
}

TEST_CASE("LGPD: 15 calendar days, no extension", "[deadline]") {
  DeadlineEngine e = Engine("America/Sao_Paulo");
  // Jan 31 + 15 = Sun Feb 15, not rolled. Sao Paulo is UTC-3 all year.
  CheckDue(e, Regulation::kLgpd, {"2026-01-31T15:00:00Z", "2026-02-15", "2026-02-16T02:59:59Z"});
  auto ext = e.Extended(Regulation::kLgpd, T("2026-01-31T15:00:00Z"));
  REQUIRE_FALSE(ext.ok());
  CHECK(ext.status().code() == Code::kConflict);
}

TEST_CASE("custom SLAs: business or calendar days, optional extension", "[deadline]") {
  std::vector<CustomSla> slas = {
      {"internal", 10, 5, true, true},
      {"quick", 20, 0, false, false},
  };
  DeadlineEngine e = Engine("UTC", {"2026-12-25", "2026-12-26"}, slas);
  // Fri Dec 18 + 10 business days: Dec 21-24, 28-31, Jan 1, Jan 4.
  CheckDue(e, Regulation::kCustom, {"2026-12-18T10:00:00Z", "2027-01-04", "2027-01-04T23:59:59Z"}, false, "internal");
  // + 15 business days: Jan 5-8, Jan 11.
  CheckDue(e, Regulation::kCustom, {"2026-12-18T10:00:00Z", "2027-01-11", "2027-01-11T23:59:59Z"}, true, "internal");
  // Calendar days: Jan 31 + 20 = Feb 20.
  CheckDue(e, Regulation::kCustom, {"2026-01-31T10:00:00Z", "2026-02-20", "2026-02-20T23:59:59Z"}, false, "quick");
  auto ext = e.Extended(Regulation::kCustom, T("2026-01-31T10:00:00Z"), "quick");
  REQUIRE_FALSE(ext.ok());
  CHECK(ext.status().code() == Code::kConflict);

  auto unknown = e.Due(Regulation::kCustom, T("2026-01-31T10:00:00Z"), "nope");
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.status().code() == Code::kInvalid);
  CHECK_THAT(unknown.status().message(), Catch::Contains("nope"));
  CHECK_FALSE(e.Extended(Regulation::kCustom, T("2026-01-31T10:00:00Z"), "nope").ok());
}

TEST_CASE("CanExtend: once, before the first deadline, where allowed", "[deadline]") {
  DeadlineEngine e = Engine("Europe/Berlin", {}, {{"internal", 10, 5, true, true}, {"fixed", 10, 0, false, false}});
  Request r;
  r.regulation = Regulation::kGdpr;
  r.received_at = T("2026-01-31T10:00:00Z");
  r.due_at = e.Due(r.regulation, r.received_at)->due_at;  // 2026-03-02T22:59:59Z

  CHECK(e.CanExtend(r, T("2026-02-10T00:00:00Z")).ok());
  CHECK(e.CanExtend(r, r.due_at).ok());  // the last second still counts
  Status late = e.CanExtend(r, T("2026-03-02T23:00:00Z"));
  CHECK(late.code() == Code::kConflict);
  CHECK_THAT(late.message(), Catch::Contains("2026-03-02T22:59:59Z"));

  // A pause moved due_at later: the comparison uses the moved deadline.
  Request paused = r;
  paused.due_at = e.AddPause({r.due_at, "2026-03-02"}, 3 * 86400).due_at;
  CHECK(e.CanExtend(paused, T("2026-03-04T12:00:00Z")).ok());

  // Extending twice is refused, even before the deadline.
  Request once = r;
  REQUIRE(e.CanExtend(once, T("2026-02-10T00:00:00Z")).ok());
  once.extended = true;
  once.due_at = e.Extended(once.regulation, once.received_at)->due_at;
  Status twice = e.CanExtend(once, T("2026-02-11T00:00:00Z"));
  CHECK(twice.code() == Code::kConflict);
  CHECK_THAT(twice.message(), Catch::Contains("already extended"));

  Request lgpd = r;
  lgpd.regulation = Regulation::kLgpd;
  CHECK(e.CanExtend(lgpd, T("2026-02-01T00:00:00Z")).code() == Code::kConflict);

  Request custom = r;
  custom.regulation = Regulation::kCustom;
  custom.custom_sla = "internal";
  CHECK(e.CanExtend(custom, T("2026-02-01T00:00:00Z")).ok());
  custom.custom_sla = "fixed";
  CHECK(e.CanExtend(custom, T("2026-02-01T00:00:00Z")).code() == Code::kConflict);
  custom.custom_sla = "nope";
  CHECK(e.CanExtend(custom, T("2026-02-01T00:00:00Z")).code() == Code::kInvalid);

  Request ccpa = r;
  ccpa.regulation = Regulation::kCcpa;
  CHECK(e.CanExtend(ccpa, T("2026-02-01T00:00:00Z")).ok());
}

TEST_CASE("HoldStopsClock per regulation and reason", "[deadline]") {
  DeadlineEngine e = Engine("UTC", {}, {{"pause", 10, 0, false, true}, {"nopause", 10, 0, false, false}});
  for (Regulation reg : {Regulation::kGdpr, Regulation::kUkGdpr}) {
    CHECK(e.HoldStopsClock(reg, "identity"));
    CHECK(e.HoldStopsClock(reg, "clarification"));
    CHECK_FALSE(e.HoldStopsClock(reg, "other"));
    CHECK_FALSE(e.HoldStopsClock(reg, ""));
  }
  for (Regulation reg : {Regulation::kCcpa, Regulation::kUsState, Regulation::kLgpd}) {
    CHECK_FALSE(e.HoldStopsClock(reg, "identity"));
    CHECK_FALSE(e.HoldStopsClock(reg, "clarification"));
  }
  CHECK(e.HoldStopsClock(Regulation::kCustom, "other", "pause"));
  CHECK_FALSE(e.HoldStopsClock(Regulation::kCustom, "identity", "nopause"));
  CHECK_FALSE(e.HoldStopsClock(Regulation::kCustom, "identity", "unknown"));
}

TEST_CASE("AddPause: whole days rounded up, then rolled", "[deadline]") {
  DeadlineEngine e = Engine("Europe/Berlin", {"2026-03-06"});
  Deadline due = *e.Due(Regulation::kGdpr, T("2026-01-31T10:00:00Z"));  // Mon Mar 2
  REQUIRE(due.due_date == "2026-03-02");

  CHECK(e.AddPause(due, 0).due_date == "2026-03-02");
  CHECK(e.AddPause(due, -5).due_date == "2026-03-02");
  CHECK(e.AddPause(due, 1).due_date == "2026-03-03");      // one second is a day
  CHECK(e.AddPause(due, 86400).due_date == "2026-03-03");  // exactly one day
  CHECK(e.AddPause(due, 86401).due_date == "2026-03-04");
  Deadline three = e.AddPause(due, 3 * 86400);
  CHECK(three.due_date == "2026-03-05");
  CHECK(FormatRfc3339(three.due_at) == "2026-03-05T22:59:59Z");
  // Mar 6 is a (configured) holiday, Mar 7-8 a weekend: on to Mon Mar 9.
  CHECK(e.AddPause(due, 4 * 86400).due_date == "2026-03-09");

  // Across the DST change the end of day moves to 21:59:59Z.
  Deadline before_dst = *e.Due(Regulation::kGdpr, T("2026-02-27T10:00:00Z"));  // Fri Mar 27
  REQUIRE(before_dst.due_date == "2026-03-27");
  Deadline after = e.AddPause(before_dst, 2 * 86400 + 60);  // 3 days -> Mon Mar 30
  CHECK(after.due_date == "2026-03-30");
  CHECK(FormatRfc3339(after.due_at) == "2026-03-30T21:59:59Z");
}

TEST_CASE("DaysLeft is floor((due_at - now) / 1 day)", "[deadline]") {
  Time due = T("2026-03-02T22:59:59Z");
  CHECK(DaysLeft(due, due) == 0);
  CHECK(DaysLeft(due, due - std::chrono::seconds{1}) == 0);
  CHECK(DaysLeft(due, due - std::chrono::seconds{86399}) == 0);
  CHECK(DaysLeft(due, due - std::chrono::seconds{86400}) == 1);
  CHECK(DaysLeft(due, due + std::chrono::seconds{1}) == -1);
  CHECK(DaysLeft(due, due + std::chrono::seconds{86400}) == -1);
  CHECK(DaysLeft(due, due + std::chrono::seconds{86401}) == -2);
  // The contract's example shows 12 days left.
  CHECK(DaysLeft(due, T("2026-02-18T12:00:00Z")) == 12);
}

TEST_CASE("Create validates the time zone, holidays and custom SLAs", "[deadline]") {
  DeadlineRules rules;
  rules.timezone = "Mars/Olympus_Mons";
  auto bad_zone = DeadlineEngine::Create(rules);
  REQUIRE_FALSE(bad_zone.ok());
  CHECK(bad_zone.status().code() == Code::kInvalid);
  CHECK(bad_zone.status().field() == "/timezone");

  rules.timezone = "Europe/Berlin";
  rules.holidays = {"2026-12-25", "2026-02-30"};  // the set sorts: "2026-02-30" is index 0
  auto bad_holiday = DeadlineEngine::Create(rules);
  REQUIRE_FALSE(bad_holiday.ok());
  CHECK(bad_holiday.status().field() == "/holidays/0");
  rules.holidays = {"2026-12-25", "2026-12-26", "2026-12-3"};  // sorts last
  CHECK(DeadlineEngine::Create(rules).status().field() == "/holidays/2");

  rules.holidays = {"2026-12-25"};
  rules.custom = {{"a", 0, 0, false, false}};
  CHECK(DeadlineEngine::Create(rules).status().field() == "/slas/0/days");
  rules.custom = {{"a", 100000, 0, true, false}};
  CHECK(DeadlineEngine::Create(rules).status().field() == "/slas/0/days");
  rules.custom = {{"a", 10, -1, false, false}};
  CHECK(DeadlineEngine::Create(rules).status().field() == "/slas/0/extension_days");
  rules.custom = {{"", 10, 0, false, false}};
  CHECK(DeadlineEngine::Create(rules).status().field() == "/slas/0/name");
  rules.custom = {{"a", 10, 0, false, false}, {"a", 5, 0, false, false}};
  CHECK(DeadlineEngine::Create(rules).status().field() == "/slas/1/name");
  rules.custom = {{"a", 10, 0, false, false}};
  auto good = DeadlineEngine::Create(rules);
  REQUIRE(good.ok());
  CHECK(good->rules().timezone == "Europe/Berlin");
}

TEST_CASE("LoadHolidays reads dates, comments and blank lines", "[deadline]") {
  TempFile f("# Berlin public holidays\n2026-12-25\n\n  2026-12-26   # second day\r\n#2026-01-01\n");
  auto h = LoadHolidays(f.path());
  INFO(h.status().ToString());
  REQUIRE(h.ok());
  CHECK(*h == std::set<std::string>{"2026-12-25", "2026-12-26"});

  TempFile bad("2026-12-25\n# ok\n2026-12-32\n");
  auto b = LoadHolidays(bad.path());
  REQUIRE_FALSE(b.ok());
  CHECK(b.status().code() == Code::kInvalid);
  CHECK_THAT(b.status().message(), Catch::Contains(bad.path() + ":3"));
  CHECK_THAT(b.status().message(), Catch::Contains("2026-12-32"));

  auto missing = LoadHolidays("/nonexistent/lethe/holidays.txt");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == Code::kInvalid);
  CHECK_THAT(missing.status().message(), Catch::Contains("/nonexistent/lethe/holidays.txt"));
}

TEST_CASE("GDPR: leap-day receipt and month-end clamping", "[deadline]") {
  DeadlineEngine e = Engine("UTC");
  const Expect cases[] = {
      {"2028-02-29T10:00:00Z", "2028-03-29", "2028-03-29T23:59:59Z"},  // Wed
      {"2026-01-29T10:00:00Z", "2026-03-02", "2026-03-02T23:59:59Z"},  // Feb 28 (Sat) -> Mon
      {"2025-01-29T10:00:00Z", "2025-02-28", "2025-02-28T23:59:59Z"},  // clamped, Fri
      {"2028-01-30T10:00:00Z", "2028-02-29", "2028-02-29T23:59:59Z"},  // clamped to leap day
      {"2026-05-31T10:00:00Z", "2026-06-30", "2026-06-30T23:59:59Z"},  // Tue
  };
  for (const Expect& x : cases) CheckDue(e, Regulation::kGdpr, x);
  // Extension clamps too: Nov 30 2027 + 3 months = Feb 29 2028 (Tue).
  CheckDue(e, Regulation::kGdpr, {"2027-11-30T10:00:00Z", "2028-02-29", "2028-02-29T23:59:59Z"}, true);
}

TEST_CASE("End of day that occurs twice (DST ends at midnight) takes the earlier instant", "[deadline]") {
  // Chile leaves summer time at 24:00 on Sat Apr 4 2026, so 23:00-23:59:59
  // happens twice: at -03 and again at -04. The first one is the deadline.
  CheckDue(Engine("America/Santiago"), Regulation::kCcpa,
           {"2026-02-18T15:00:00Z", "2026-04-04", "2026-04-05T02:59:59Z"});
}

TEST_CASE("Deadline invariants over three years of receipt days", "[deadline]") {
  // Every receipt day from 2026 to 2028 at 12:00 local, in zones on both
  // sides of UTC, checked against properties rather than fixed dates.
  std::set<std::string> holidays = {"2026-12-25", "2026-12-26", "2027-12-25", "2027-12-27", "2028-01-01"};
  for (const char* tz : {"Europe/Berlin", "America/Los_Angeles", "Asia/Tokyo", "UTC"}) {
    DeadlineEngine e = Engine(tz, holidays);
    const date::time_zone* zone = date::locate_zone(tz);
    auto local_date = [&](Time t) { return std::chrono::floor<date::days>(zone->to_local(t)); };
    auto check_end_of_day = [&](const Deadline& d) {
      auto local = zone->to_local(d.due_at);
      auto day = std::chrono::floor<date::days>(local);
      CHECK(date::format("%F", day) == d.due_date);
      CHECK(local - day == std::chrono::seconds{86399});
    };
    for (date::local_days day = date::local_days{date::year{2026} / 1 / 1};
         day <= date::local_days{date::year{2028} / 12 / 31}; day += date::days{1}) {
      Time received = zone->to_sys(day + std::chrono::hours{12});
      INFO(tz << " received " << date::format("%F", day));
      REQUIRE(local_date(received) == day);

      Deadline gdpr = *e.Due(Regulation::kGdpr, received);
      Deadline gdpr_ext = *e.Extended(Regulation::kGdpr, received);
      check_end_of_day(gdpr);
      check_end_of_day(gdpr_ext);
      date::local_days due = local_date(gdpr.due_at);
      date::weekday wd{due};
      // A working day, 28 to 31 days after receipt plus at most a long weekend.
      CHECK(wd != date::Saturday);
      CHECK(wd != date::Sunday);
      CHECK(holidays.count(gdpr.due_date) == 0);
      CHECK((due - day).count() >= 28);
      CHECK((due - day).count() <= 31 + 4);
      CHECK((local_date(gdpr_ext.due_at) - day).count() >= 89);
      CHECK((local_date(gdpr_ext.due_at) - day).count() <= 92 + 4);
      CHECK(gdpr_ext.due_at > gdpr.due_at);

      Deadline ccpa = *e.Due(Regulation::kCcpa, received);
      check_end_of_day(ccpa);
      CHECK((local_date(ccpa.due_at) - day).count() == 45);
      CHECK((local_date(e.Extended(Regulation::kCcpa, received)->due_at) - day).count() == 90);
      Deadline ack = *e.AcknowledgeBy(Regulation::kCcpa, received);
      // 10 working days: 12 days from a Sunday receipt, 14 from a weekday, more over holidays.
      CHECK((local_date(ack.due_at) - day).count() >= 12);
      CHECK((local_date(ack.due_at) - day).count() <= 19);
      CHECK(DaysLeft(gdpr.due_at, received) >= 28);
    }
  }
}
