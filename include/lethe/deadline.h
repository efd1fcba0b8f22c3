// Legal deadlines. See ../shared/LEGAL.md and docs/deadlines.md.
//
// GDPR/UK GDPR count months under Regulation 1182/71: the day of receipt is
// not counted, the period ends at the end of the day with the same date in
// the next month (clamped to that month's last day), in the controller's time
// zone, rolled forward past weekends and holidays. Other regimes count days.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "lethe/request.h"
#include "lethe/status.h"
#include "lethe/time.h"

namespace lethe {

// A custom SLA from config: e.g. {"name": "internal", "days": 20, "extension_days": 10,
// "business_days": false, "pausable": true}.
struct CustomSla {
  std::string name;
  int days = 30;
  int extension_days = 0;
  bool business_days = false;
  bool pausable = false;
};

struct DeadlineRules {
  std::string timezone = "UTC";    // IANA zone of the controller
  std::set<std::string> holidays;  // "YYYY-MM-DD" local dates
  std::vector<CustomSla> custom;
};

struct Deadline {
  Time due_at{};         // end of due_date (23:59:59) in the zone, as UTC
  std::string due_date;  // YYYY-MM-DD local
};

// Reads one YYYY-MM-DD a line; '#' starts a comment. Errors name file and line.
Result<std::set<std::string>> LoadHolidays(const std::string& path);

class DeadlineEngine {
 public:
  // Fails if the time zone is unknown or a holiday is not a valid date.
  static Result<DeadlineEngine> Create(DeadlineRules rules);

  // The first deadline for a request received at `received`.
  Result<Deadline> Due(Regulation reg, Time received, const std::string& custom_sla = "") const;
  // The extended deadline (GDPR/UK: receipt + 3 months; CCPA/us_state: +45+45 days...).
  // kConflict if the regulation allows no extension.
  Result<Deadline> Extended(Regulation reg, Time received, const std::string& custom_sla = "") const;
  // Whether an operator may still extend: only once, only before the first deadline.
  Status CanExtend(const Request& r, Time now) const;
  // Whether time on hold with this reason stops the clock under the regulation
  // (GDPR/UK GDPR: "identity" or "clarification"; CCPA/us_state/LGPD: never).
  bool HoldStopsClock(Regulation reg, const std::string& hold_reason, const std::string& custom_sla = "") const;
  // A deadline moved later by paused time: the paused span is added in whole
  // days (rounded up) and the result rolled past weekends/holidays again.
  Deadline AddPause(const Deadline& d, int64_t paused_seconds) const;
  // CCPA: date by which receipt must be acknowledged (10 business days).
  Result<Deadline> AcknowledgeBy(Regulation reg, Time received) const;

  const DeadlineRules& rules() const { return rules_; }

 private:
  explicit DeadlineEngine(DeadlineRules rules) : rules_(std::move(rules)) {}
  DeadlineRules rules_;
};

// Whole days from now to due_at, rounded toward the due date's end (negative when overdue).
int64_t DaysLeft(Time due_at, Time now);

}  // namespace lethe
