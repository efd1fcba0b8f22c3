// Instants and durations as Lethe uses them: UTC seconds, RFC 3339 text,
// ISO 8601 durations (P7D, PT12H, P1Y2M).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "lethe/status.h"

namespace lethe {

using Time = std::chrono::sys_seconds;

// Now, rounded down to the second. Tests may pin it with SetClockForTesting.
Time Now();
void SetClockForTesting(Time t);  // Time{} restores the real clock

// "2026-01-31T10:00:00Z" (always UTC, no fraction).
std::string FormatRfc3339(Time t);
// Accepts "Z" or "+hh:mm"/"-hh:mm" offsets and optional fractional seconds.
Result<Time> ParseRfc3339(std::string_view s);
Time FromUnix(int64_t secs);
int64_t ToUnix(Time t);

// ISO 8601 duration. Years and months are kept apart from days and seconds
// because they are calendar units (P1M is not 30 days).
struct Duration {
  int years = 0, months = 0, days = 0;
  int64_t seconds = 0;
  // Days + seconds as an exact duration; years/months approximated as 365/30 days.
  // Used only where the calendar does not matter (link TTLs, retention of exports).
  std::chrono::seconds Approx() const;
};
Result<Duration> ParseIsoDuration(std::string_view s);

// t + d on the calendar (UTC): years and months move the date and clamp it to
// the target month's last day (2024-02-29 + P1Y = 2025-02-28, 2025-01-31 + P1M
// = 2025-02-28), then days and seconds are added. This is how a retention
// period ("P7Y from issued_at") ends; Approx() would drift by leap days.
Time AddCalendar(Time t, const Duration& d);

}  // namespace lethe
