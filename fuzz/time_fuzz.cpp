// The time and date parsers (src/core/time.cpp) and the deadline engine that
// counts with them (src/core/deadline.cpp).
//
// Input lines: a timestamp, a duration, then holiday dates (YYYY-MM-DD).
//
// Properties: an accepted RFC 3339 time formats and parses back to the same
// instant (and a canonical one formats to the same text); an accepted
// duration is not negative and moves time forward on the calendar without
// overflow; a deadline engine built from the holidays gives due dates on or
// after receipt, an extension no earlier than the first deadline, and a
// pause never moves a deadline earlier.
#include <string>

#include "fuzz_check.h"
#include "lethe/deadline.h"
#include "lethe/time.h"

namespace {

using lethe::Time;

void CheckTimestamp(const std::string& s) {
  lethe::Result<Time> t = lethe::ParseRfc3339(s);
  if (!t.ok()) {
    FUZZ_CHECK(t.status().code() == lethe::Code::kInvalid, "refusals are kInvalid");
    return;
  }
  const std::string text = lethe::FormatRfc3339(*t);
  lethe::Result<Time> back = lethe::ParseRfc3339(text);
  FUZZ_CHECK(back.ok(), "an accepted time formats to text that parses");
  FUZZ_CHECK(*back == *t, "format -> parse gives the same instant");
  if (s.size() == 20 && s[10] == 'T' && s[19] == 'Z') FUZZ_CHECK(text == s, "canonical text is kept");
}

void CheckDuration(const std::string& s, Time t) {
  lethe::Result<lethe::Duration> d = lethe::ParseIsoDuration(s);
  if (!d.ok()) {
    FUZZ_CHECK(d.status().code() == lethe::Code::kInvalid, "refusals are kInvalid");
    return;
  }
  FUZZ_CHECK(d->years >= 0 && d->months >= 0 && d->days >= 0 && d->seconds >= 0, "no negative parts");
  FUZZ_CHECK(d->Approx().count() >= 0, "Approx is not negative");
  FUZZ_CHECK(lethe::AddCalendar(t, *d) >= t, "a duration never moves time back");
}

void CheckDeadlines(Time received, const std::vector<std::string>& holidays, uint8_t zone_pick) {
  static const char* kZones[] = {
      "UTC", "Europe/Berlin", "America/Los_Angeles", "Australia/Lord_Howe", "Pacific/Kiritimati", "America/Sao_Paulo"};
  lethe::DeadlineRules rules;
  rules.timezone = kZones[zone_pick % (sizeof kZones / sizeof kZones[0])];
  for (const auto& h : holidays) rules.holidays.insert(h);
  rules.custom.push_back({"biz", 20, 10, true, true});
  lethe::Result<lethe::DeadlineEngine> engine = lethe::DeadlineEngine::Create(rules);
  if (!engine.ok()) {
    FUZZ_CHECK(engine.status().code() == lethe::Code::kInvalid, "refusals are kInvalid");
    FUZZ_CHECK(engine.status().field().rfind("/holidays/", 0) == 0, "a bad holiday is named");
    return;
  }
  using R = lethe::Regulation;
  for (R reg : {R::kGdpr, R::kUkGdpr, R::kCcpa, R::kLgpd, R::kUsState, R::kCustom}) {
    lethe::Result<lethe::Deadline> due = engine->Due(reg, received, "biz");
    FUZZ_CHECK(due.ok(), "every regulation has a first deadline");
    FUZZ_CHECK(due->due_at >= received, "due on or after receipt");
    FUZZ_CHECK(due->due_date.size() >= 10, "a due date is a date");
    lethe::Result<lethe::Deadline> ext = engine->Extended(reg, received, "biz");
    if (ext.ok()) FUZZ_CHECK(ext->due_at >= due->due_at, "an extension is never earlier");
    lethe::Deadline paused = engine->AddPause(*due, 3 * 86400 + 1);
    FUZZ_CHECK(paused.due_at > due->due_at, "a pause moves the deadline later");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> lines = lethe::fuzz::Split(in, '\n', 16);
  const std::string& stamp = lines[0];
  CheckTimestamp(stamp);
  lethe::Result<Time> t = lethe::ParseRfc3339(stamp);
  const Time base = t.ok() ? *t : lethe::FromUnix(1767225600);  // 2026-01-01
  if (lines.size() > 1) CheckDuration(lines[1], base);
  if (lines.size() > 2) {
    std::vector<std::string> holidays(lines.begin() + 2, lines.end());
    CheckDeadlines(base, holidays, size > 0 ? data[size - 1] : 0);
  }
  return 0;
}
