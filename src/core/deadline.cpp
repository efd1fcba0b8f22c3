// Legal deadlines: see docs/deadlines.md for each rule, its source and the
// readings chosen where the law leaves room (we pick the earlier deadline).
//
// All counting happens on local calendar dates in the controller's zone
// (date::local_days); only the final "end of the due day" is turned back into
// a UTC instant. Counting in UTC would put a request received at 00:30 in
// Berlin on the previous day.
#include "lethe/deadline.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <optional>

#include <date/date.h>
#include <date/tz.h>

namespace lethe {

namespace {

using LocalDay = date::local_days;
using date::days;

const date::time_zone* FindZone(const std::string& name) {
  try {
    return date::locate_zone(name);
  } catch (const std::exception&) {
    // Unknown zone, or the tz database could not be read.
    return nullptr;
  }
}

// The engine's zone. Create() has already checked that it exists, so this
// cannot fail for a live engine; UTC is only a guard against a broken tzdb.
const date::time_zone* ZoneOf(const DeadlineRules& rules) {
  const date::time_zone* z = FindZone(rules.timezone);
  return z != nullptr ? z : FindZone("UTC");
}

std::string FormatDate(LocalDay d) {
  date::year_month_day ymd{d};
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()));
  return buf;
}

// Strict YYYY-MM-DD: holidays are looked up by their text, so a holiday
// written "2026-1-1" would silently never match. Refuse it instead.
std::optional<LocalDay> ParseDate(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  int parts[3] = {0, 0, 0};
  const int starts[3] = {0, 5, 8}, lens[3] = {4, 2, 2};
  for (int p = 0; p < 3; ++p) {
    for (int i = 0; i < lens[p]; ++i) {
      char c = s[starts[p] + i];
      if (c < '0' || c > '9') return std::nullopt;
      parts[p] = parts[p] * 10 + (c - '0');
    }
  }
  date::year_month_day ymd{date::year{parts[0]}, date::month(static_cast<unsigned>(parts[1])),
                           date::day(static_cast<unsigned>(parts[2]))};
  if (!ymd.ok()) return std::nullopt;
  return LocalDay{ymd};
}

// The controller's calendar: zone, weekends and configured holidays.
class Calendar {
 public:
  explicit Calendar(const DeadlineRules& rules) : rules_(rules), zone_(ZoneOf(rules)) {}

  // The local date on which `t` falls.
  LocalDay DateOf(Time t) const { return std::chrono::floor<days>(zone_->to_local(t)); }

  bool IsWorkingDay(LocalDay d) const {
    date::weekday wd{d};
    if (wd == date::Saturday || wd == date::Sunday) return false;
    return rules_.holidays.count(FormatDate(d)) == 0;
  }

  // Reg. 1182/71 Art. 3(4): a period ending on a Saturday, Sunday or holiday
  // ends at the end of the next working day. Terminates: holidays are finite.
  LocalDay RollForward(LocalDay d) const {
    while (!IsWorkingDay(d)) d += days{1};
    return d;
  }

  // The n-th working day after `from` (the day of receipt itself not counted).
  LocalDay AddBusinessDays(LocalDay from, int n) const {
    LocalDay d = from;
    for (int counted = 0; counted < n;) {
      d += days{1};
      if (IsWorkingDay(d)) ++counted;
    }
    return d;
  }

  // The period ends "with the expiry of the last hour" of the due day: we use
  // 23:59:59 local. If a DST change makes that local time ambiguous, the
  // earlier instant is the safe one.
  Deadline EndOf(LocalDay d) const {
    auto local_end = d + std::chrono::hours{23} + std::chrono::minutes{59} + std::chrono::seconds{59};
    Deadline out;
    out.due_at = std::chrono::floor<std::chrono::seconds>(zone_->to_sys(local_end, date::choose::earliest));
    out.due_date = FormatDate(d);
    return out;
  }

 private:
  const DeadlineRules& rules_;
  const date::time_zone* zone_;
};

// Reg. 1182/71 Art. 3(2)(c): the same date `months` later; if that month is
// shorter, its last day (Jan 31 + 1 month = Feb 28, or Feb 29 in leap years).
LocalDay AddMonthsClamped(LocalDay d, int months) {
  date::year_month_day ymd{d};
  date::year_month target_ym = date::year_month{ymd.year(), ymd.month()} + date::months{months};
  date::year_month_day_last last{target_ym.year(), date::month_day_last{target_ym.month()}};
  date::day day = ymd.day() <= last.day() ? ymd.day() : last.day();
  return LocalDay{date::year_month_day{target_ym.year(), target_ym.month(), day}};
}

Result<const CustomSla*> FindSla(const DeadlineRules& rules, const std::string& name) {
  for (const CustomSla& sla : rules.custom) {
    if (sla.name == name) return &sla;
  }
  return Status::Invalid("unknown custom SLA \"" + name + "\"", "/custom_sla");
}

// Custom SLAs count either working days or calendar days from receipt.
// Calendar-day SLAs are not rolled past weekends: the earlier reading.
LocalDay CountSlaDays(const Calendar& cal, const CustomSla& sla, LocalDay received, int n) {
  return sla.business_days ? cal.AddBusinessDays(received, n) : received + days{n};
}

constexpr int kCcpaDays = 45;             // Cal. Code Regs. tit. 11 §7021(b)
constexpr int kCcpaExtensionDays = 45;    // §7021(b), Civ. Code §1798.130(a)(2)
constexpr int kCcpaAckBusinessDays = 10;  // §7021(a)
constexpr int kLgpdDays = 15;             // LGPD Art. 19(II)
constexpr int kMaxSlaDays = 3660;

}  // namespace

Result<std::set<std::string>> LoadHolidays(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    // A holidays file named in config or on the command line is part of the
    // configuration: a missing one is a configuration error (exit 2).
    return Status::Invalid(path + ": cannot open holidays file");
  }
  std::set<std::string> out;
  std::string line;
  for (int lineno = 1; std::getline(in, line); ++lineno) {
    std::string_view v = line;
    if (size_t hash = v.find('#'); hash != std::string_view::npos) v = v.substr(0, hash);
    constexpr std::string_view kSpace = " \t\r\n";
    size_t b = v.find_first_not_of(kSpace);
    if (b == std::string_view::npos) continue;  // blank or comment-only
    v = v.substr(b, v.find_last_not_of(kSpace) - b + 1);
    if (!ParseDate(v)) {
      return Status::Invalid(path + ":" + std::to_string(lineno) + ": not a date (want YYYY-MM-DD): \"" +
                             std::string(v.substr(0, 40)) + "\"");
    }
    out.emplace(v);
  }
  if (in.bad()) return Status::Io(path + ": read error");
  return out;
}

Result<DeadlineEngine> DeadlineEngine::Create(DeadlineRules rules) {
  if (FindZone(rules.timezone) == nullptr) {
    return Status::Invalid("unknown time zone \"" + rules.timezone + "\" (want an IANA name like Europe/Berlin)",
                           "/timezone");
  }
  size_t i = 0;
  for (const std::string& h : rules.holidays) {
    if (!ParseDate(h)) {
      return Status::Invalid("not a date (want YYYY-MM-DD): \"" + h + "\"", "/holidays/" + std::to_string(i));
    }
    ++i;
  }
  for (size_t j = 0; j < rules.custom.size(); ++j) {
    const CustomSla& sla = rules.custom[j];
    std::string at = "/slas/" + std::to_string(j);  // the config key
    if (sla.name.empty()) return Status::Invalid("custom SLA needs a name", at + "/name");
    // The upper bound keeps day counting cheap and free of overflow; no
    // law gives ten years to answer.
    if (sla.days < 1 || sla.days > kMaxSlaDays) {
      return Status::Invalid("must be between 1 and " + std::to_string(kMaxSlaDays), at + "/days");
    }
    if (sla.extension_days < 0 || sla.extension_days > kMaxSlaDays) {
      return Status::Invalid("must be between 0 and " + std::to_string(kMaxSlaDays), at + "/extension_days");
    }
    for (size_t k = 0; k < j; ++k) {
      if (rules.custom[k].name == sla.name) {
        return Status::Invalid("duplicate custom SLA \"" + sla.name + "\"", at + "/name");
      }
    }
  }
  return DeadlineEngine(std::move(rules));
}

Result<Deadline> DeadlineEngine::Due(Regulation reg, Time received, const std::string& custom_sla) const {
  Calendar cal(rules_);
  LocalDay day = cal.DateOf(received);
  switch (reg) {
    case Regulation::kGdpr:
    case Regulation::kUkGdpr: return cal.EndOf(cal.RollForward(AddMonthsClamped(day, 1)));
    case Regulation::kCcpa:
    case Regulation::kUsState:
      // Calendar days, not rolled: see docs/deadlines.md.
      return cal.EndOf(day + days{kCcpaDays});
    case Regulation::kLgpd: return cal.EndOf(day + days{kLgpdDays});
    case Regulation::kCustom: {
      LETHE_ASSIGN_OR_RETURN(auto sla, FindSla(rules_, custom_sla));
      return cal.EndOf(CountSlaDays(cal, *sla, day, sla->days));
    }
  }
  return Status::Internal("unknown regulation");
}

Result<Deadline> DeadlineEngine::Extended(Regulation reg, Time received, const std::string& custom_sla) const {
  Calendar cal(rules_);
  LocalDay day = cal.DateOf(received);
  switch (reg) {
    case Regulation::kGdpr:
    case Regulation::kUkGdpr:
      // Receipt + 3 months, rolled once. Chaining from the rolled one-month
      // date could only make the deadline later.
      return cal.EndOf(cal.RollForward(AddMonthsClamped(day, 3)));
    case Regulation::kCcpa:
    case Regulation::kUsState: return cal.EndOf(day + days{kCcpaDays + kCcpaExtensionDays});
    case Regulation::kLgpd: return Status::Conflict("lgpd allows no extension");
    case Regulation::kCustom: {
      LETHE_ASSIGN_OR_RETURN(auto sla, FindSla(rules_, custom_sla));
      const CustomSla& s = *sla;
      if (s.extension_days == 0) return Status::Conflict("custom SLA \"" + s.name + "\" allows no extension");
      return cal.EndOf(CountSlaDays(cal, s, day, s.days + s.extension_days));
    }
  }
  return Status::Internal("unknown regulation");
}

Status DeadlineEngine::CanExtend(const Request& r, Time now) const {
  if (r.extended) return Status::Conflict("request is already extended; only one extension is allowed");
  if (r.regulation == Regulation::kLgpd) return Status::Conflict("lgpd allows no extension");
  if (r.regulation == Regulation::kCustom) {
    LETHE_ASSIGN_OR_RETURN(auto sla, FindSla(rules_, r.custom_sla));
    if (sla->extension_days == 0) {
      return Status::Conflict("custom SLA \"" + r.custom_sla + "\" allows no extension");
    }
  }
  // The subject must be told of the extension within the first period, so
  // the notice (and the extension) must come before the current deadline,
  // which already includes any clock-stopping pauses.
  if (now > r.due_at) {
    return Status::Conflict("the first deadline passed at " + FormatRfc3339(r.due_at) +
                            "; an extension must be notified before it");
  }
  return Status::Ok();
}

bool DeadlineEngine::HoldStopsClock(Regulation reg, const std::string& hold_reason,
                                    const std::string& custom_sla) const {
  switch (reg) {
    case Regulation::kGdpr:
    case Regulation::kUkGdpr:
      // Art. 12(6) identity doubts, Recital 63 / UK Art. 12A clarification.
      return hold_reason == "identity" || hold_reason == "clarification";
    case Regulation::kCcpa:
    case Regulation::kUsState:
    case Regulation::kLgpd:
      // CCPA: 45 days "regardless of time required to verify".
      return false;
    case Regulation::kCustom: {
      auto sla = FindSla(rules_, custom_sla);
      return sla.ok() && (*sla)->pausable;
    }
  }
  return false;
}

Deadline DeadlineEngine::AddPause(const Deadline& d, int64_t paused_seconds) const {
  if (paused_seconds <= 0) return d;
  Calendar cal(rules_);
  // The deadline's own local date; if the text is somehow unusable, the
  // local date of due_at is the same day by construction.
  LocalDay due = ParseDate(d.due_date).value_or(cal.DateOf(d.due_at));
  // Whole days, rounded up; capped only so the arithmetic cannot overflow.
  int64_t pause_days = std::min<int64_t>(paused_seconds / 86400 + (paused_seconds % 86400 != 0), 100000);
  return cal.EndOf(cal.RollForward(due + days{static_cast<int>(pause_days)}));
}

Result<Deadline> DeadlineEngine::AcknowledgeBy(Regulation reg, Time received) const {
  if (reg != Regulation::kCcpa) {
    return Status::Conflict(std::string(ToString(reg)) + " has no acknowledgement deadline");
  }
  Calendar cal(rules_);
  return cal.EndOf(cal.AddBusinessDays(cal.DateOf(received), kCcpaAckBusinessDays));
}

int64_t DaysLeft(Time due_at, Time now) {
  // Floor division: 0 means "due within the next 24 hours", -1 means overdue
  // by up to a day. C++ division truncates toward zero, so fix negatives up.
  int64_t diff = ToUnix(due_at) - ToUnix(now);
  int64_t q = diff / 86400;
  if (diff % 86400 != 0 && diff < 0) --q;
  return q;
}

}  // namespace lethe
