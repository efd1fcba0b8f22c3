// Instants and durations: RFC 3339 text and ISO 8601 durations.
//
// Parsing is done by hand rather than with std::get_time or date::parse
// because both accept more than RFC 3339 allows (single-digit fields,
// missing offsets) and give no reason when they fail; an operator who typed
// "2026-02-30" deserves to be told which part is wrong.
#include "lethe/time.h"

#include <atomic>
#include <cstdio>
#include <limits>

#include <date/date.h>

namespace lethe {

namespace {

// Seconds since the epoch of the pinned clock; 0 means "use the real clock".
// Atomic because servers read the clock from many threads while a test may
// pin it from another.
std::atomic<int64_t> g_pinned_clock{0};

// RFC 3339 writes four-digit years: 0000-01-01T00:00:00Z to 9999-12-31T23:59:59Z.
constexpr Time kFirstInstant{std::chrono::seconds{-62167219200}};
constexpr Time kLastInstant{std::chrono::seconds{253402300799}};

// Durations longer than this are refused: no retention period, link or
// grace lasts ten thousand years, and the bound keeps AddCalendar's date
// arithmetic (int months and days underneath) free of overflow.
constexpr int64_t kMaxDurationYears = 10000;

// Input is echoed back in error messages; keep it short so a pasted blob
// does not become a screenful of log.
std::string Quote(std::string_view s) {
  constexpr size_t kMax = 40;
  std::string out = "\"";
  out.append(s.substr(0, kMax));
  if (s.size() > kMax) out += "...";
  out += "\"";
  return out;
}

// A tiny cursor over the input: each Take* consumes on success only.
class Cursor {
 public:
  explicit Cursor(std::string_view s) : s_(s) {}
  bool done() const { return pos_ >= s_.size(); }
  char peek() const { return done() ? '\0' : s_[pos_]; }
  size_t pos() const { return pos_; }
  bool TakeChar(char c) {
    if (peek() != c) return false;
    ++pos_;
    return true;
  }
  // Exactly n digits.
  bool TakeDigits(int n, int* out) {
    if (pos_ + n > s_.size()) return false;
    int v = 0;
    for (int i = 0; i < n; ++i) {
      char c = s_[pos_ + i];
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    pos_ += n;
    *out = v;
    return true;
  }
  // One or more digits; fails on more than max_digits (overflow guard).
  bool TakeNumber(int max_digits, int64_t* out) {
    size_t start = pos_;
    int64_t v = 0;
    while (!done() && peek() >= '0' && peek() <= '9') {
      if (static_cast<int>(pos_ - start) == max_digits) {
        pos_ = start;
        return false;
      }
      v = v * 10 + (peek() - '0');
      ++pos_;
    }
    if (pos_ == start) return false;
    *out = v;
    return true;
  }
  void Skip() { ++pos_; }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

}  // namespace

Time Now() {
  int64_t pinned = g_pinned_clock.load(std::memory_order_relaxed);
  if (pinned != 0) return FromUnix(pinned);
  return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
}

void SetClockForTesting(Time t) { g_pinned_clock.store(ToUnix(t), std::memory_order_relaxed); }

Time FromUnix(int64_t secs) { return Time{std::chrono::seconds{secs}}; }

int64_t ToUnix(Time t) { return t.time_since_epoch().count(); }

std::string FormatRfc3339(Time t) {
  auto day = std::chrono::floor<date::days>(t);
  date::year_month_day ymd{day};
  date::hh_mm_ss<std::chrono::seconds> hms{t - day};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf;
}

Result<Time> ParseRfc3339(std::string_view s) {
  auto bad = [&](const char* why) {
    return Status::Invalid(std::string("not an RFC 3339 timestamp (") + why +
                           ", want e.g. 2026-01-31T10:00:00Z): " + Quote(s));
  };
  Cursor c(s);
  int y, mo, d, h, mi, sec;
  if (!c.TakeDigits(4, &y) || !c.TakeChar('-') || !c.TakeDigits(2, &mo) || !c.TakeChar('-') || !c.TakeDigits(2, &d)) {
    return bad("date must be YYYY-MM-DD");
  }
  // RFC 3339 section 5.6 allows 't' and, by its note, a space.
  if (!c.TakeChar('T') && !c.TakeChar('t') && !c.TakeChar(' ')) return bad("missing 'T' before the time");
  if (!c.TakeDigits(2, &h) || !c.TakeChar(':') || !c.TakeDigits(2, &mi) || !c.TakeChar(':') || !c.TakeDigits(2, &sec)) {
    return bad("time must be hh:mm:ss");
  }
  date::year_month_day ymd{date::year{y}, date::month(static_cast<unsigned>(mo)), date::day(static_cast<unsigned>(d))};
  if (!ymd.ok()) return bad("no such date");
  if (h > 23 || mi > 59) return bad("hour or minute out of range");
  // A leap second cannot be represented in sys_seconds; rather than silently
  // moving it we refuse it. Nobody files a request at 23:59:60.
  if (sec > 59) return bad("second out of range (leap seconds are not supported)");
  // Fractional seconds are accepted and dropped: Lethe's instants are whole
  // seconds, and rounding down matches Now().
  if (c.TakeChar('.')) {
    int64_t ignored;
    if (!c.TakeNumber(18, &ignored)) return bad("fractional seconds need 1 to 18 digits");
  }
  std::chrono::seconds offset{0};
  if (c.TakeChar('Z') || c.TakeChar('z')) {
    // UTC
  } else if (c.peek() == '+' || c.peek() == '-') {
    int sign = c.peek() == '-' ? -1 : 1;
    c.Skip();
    int oh, om;
    if (!c.TakeDigits(2, &oh) || !c.TakeChar(':') || !c.TakeDigits(2, &om)) {
      return bad("offset must be +hh:mm or -hh:mm");
    }
    if (oh > 23 || om > 59) return bad("offset out of range");
    offset = sign * (std::chrono::hours{oh} + std::chrono::minutes{om});
  } else {
    return bad("missing offset: end with Z or +hh:mm");
  }
  if (!c.done()) return bad("unexpected text after the offset");
  Time local_as_utc =
      date::sys_days{ymd} + std::chrono::hours{h} + std::chrono::minutes{mi} + std::chrono::seconds{sec};
  // 10:00+02:00 is 08:00Z: subtract the offset.
  Time utc{local_as_utc - offset};
  // An offset can push the first or last day of years 0000-9999 out of them
  // ("0000-01-01T00:00:00+01:00" is in year -1): such an instant has no
  // RFC 3339 form to be shown or stored as, so it is refused.
  if (utc < kFirstInstant || utc > kLastInstant) return bad("outside the years 0000 to 9999 in UTC");
  return utc;
}

std::chrono::seconds Duration::Approx() const {
  int64_t total_days = int64_t{years} * 365 + int64_t{months} * 30 + days;
  return std::chrono::seconds{total_days * 86400 + seconds};
}

Time AddCalendar(Time t, const Duration& d) {
  auto day = std::chrono::floor<date::days>(t);
  auto time_of_day = t - day;
  date::year_month_day ymd{day};
  date::year_month ym = date::year_month{ymd.year(), ymd.month()} + date::months{int64_t{d.years} * 12 + d.months};
  date::day last = date::year_month_day_last{ym.year(), date::month_day_last{ym.month()}}.day();
  date::sys_days moved{date::year_month_day{ym.year(), ym.month(), ymd.day() <= last ? ymd.day() : last}};
  return Time{moved + date::days{d.days} + time_of_day + std::chrono::seconds{d.seconds}};
}

Result<Duration> ParseIsoDuration(std::string_view s) {
  auto bad = [&](const char* why) {
    return Status::Invalid(std::string("not an ISO 8601 duration (") + why +
                           ", want e.g. P7D, PT12H, P1Y2M): " + Quote(s));
  };
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) return bad("signed durations are not allowed");
  Cursor c(s);
  if (!c.TakeChar('P')) return bad("must start with 'P'");

  // Designators must appear at most once and in this order; the index into
  // the string is the order. 'M' means months before 'T' and minutes after.
  static constexpr std::string_view kDateOrder = "YMWD";
  static constexpr std::string_view kTimeOrder = "HMS";
  int64_t years = 0, months = 0, weeks = 0, days = 0, hours = 0, minutes = 0, secs = 0;
  bool in_time = false, any = false, any_time = false;
  size_t next = 0;  // first designator still allowed in the current part
  while (!c.done()) {
    if (!in_time && c.TakeChar('T')) {
      in_time = true;
      next = 0;
      continue;
    }
    if (c.peek() == '-') return bad("negative values are not allowed");
    int64_t v;
    if (!c.TakeNumber(9, &v)) {
      return bad(c.peek() >= '0' && c.peek() <= '9' ? "number too large" : "expected a number");
    }
    if (c.peek() == '.' || c.peek() == ',') return bad("fractional values are not supported");
    if (c.done()) return bad("number without a unit");
    std::string_view order = in_time ? kTimeOrder : kDateOrder;
    size_t idx = order.find(c.peek());
    if (idx == std::string_view::npos) return bad("unknown unit");
    if (idx < next) return bad("units out of order or repeated");
    next = idx + 1;
    c.Skip();
    any = true;
    if (in_time) {
      any_time = true;
      (idx == 0 ? hours : idx == 1 ? minutes : secs) = v;
    } else {
      (idx == 0 ? years : idx == 1 ? months : idx == 2 ? weeks : days) = v;
    }
  }
  if (in_time && !any_time) return bad("'T' must be followed by hours, minutes or seconds");
  if (!any) return bad("no value");
  Duration d;
  // Each part on its own within kMaxDurationYears (TakeNumber's 9 digits
  // keep these products far from int64 overflow).
  constexpr int64_t kMaxDays = kMaxDurationYears * 366;
  if (years > kMaxDurationYears || months > kMaxDurationYears * 12 || weeks * 7 + days > kMaxDays ||
      hours * 3600 + minutes * 60 + secs > kMaxDays * 86400) {
    return bad("value too large: at most 10000 years");
  }
  d.years = static_cast<int>(years);
  d.months = static_cast<int>(months);
  d.days = static_cast<int>(weeks * 7 + days);  // a week is always 7 days
  d.seconds = hours * 3600 + minutes * 60 + secs;
  return d;
}

}  // namespace lethe
