// The scheduler over a real SQLite store, mails read back from maildev.
#include "notify/scheduler.h"

#include <fstream>

#include "notify/links.h"
#include "notify_test_support.h"

using namespace lethe;
using namespace notify_test;
using nlohmann::json;

namespace {

const Time kT0 = FromUnix(1795000000);  // Wed 2026-11-18

json Notify(const std::string& ops) {
  return {{"smtp", {{"url", ServiceEnv("LETHE_SMTP_URL")}, {"from", "privacy@example.test"}}},
          {"operators", json::array({ops})},
          {"reminders", json::array({"P7D", "P3D", "P1D"})}};
}

// One scheduler run with fresh objects, as a new process would make them.
TickStats TickOnce(World& w, Time now) {
  PinClock pin(now);
  Workflow wf(*w.store, Engine(), Policy());
  auto n = Notifier::Create(w.config);
  REQUIRE(n.ok());
  Scheduler s(wf, **n, w.config);
  auto res = s.Tick(now);
  INFO(res.status().ToString());
  REQUIRE(res.ok());
  CHECK(*res == s.last_stats().delivery.sent);
  return s.last_stats();
}

Request Submit(World& w, Time at, NewRequest in) {
  PinClock pin(at);
  Workflow wf(*w.store, Engine(), Policy());
  auto r = wf.Submit(in, "alice");
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  return *r;
}

NewRequest Verified(const std::string& email, RequestType type = RequestType::kAccess) {
  NewRequest in;
  in.type = type;
  in.subject.email = email;
  in.verified = true;
  return in;
}

}  // namespace

TEST_CASE("scheduler: each reminder goes out once, across restarts", "[notify][scheduler]") {
  const std::string ops = "ops-" + RandomTag() + "@example.test";
  const std::string subject = "subj-" + RandomTag() + "@example.test";
  World w(Notify(ops));
  Request r = Submit(w, kT0, Verified(subject));
  const Time due = r.due_at;
  using std::chrono::days;
  using std::chrono::hours;

  CHECK(TickOnce(w, due - days(8)).queued == 0);
  auto t1 = TickOnce(w, due - days(7) + hours(1));
  CHECK(t1.queued == 1);
  CHECK(t1.delivery.sent == 1);
  // A second scheduler over a reopened store (a restart) sends nothing new.
  w.Reopen();
  CHECK(TickOnce(w, due - days(7) + hours(2)).queued == 0);
  CHECK(TickOnce(w, due - days(3) + hours(1)).queued == 1);
  CHECK(TickOnce(w, due - days(1) + hours(1)).queued == 1);
  w.Reopen();
  CHECK(TickOnce(w, due - hours(2)).queued == 0);
  // Overdue: once per local day.
  CHECK(TickOnce(w, due + hours(1)).queued == 1);
  CHECK(TickOnce(w, due + hours(2)).queued == 0);
  CHECK(TickOnce(w, due + hours(25)).queued == 1);

  auto mails = MailsTo(ops, 5);
  REQUIRE(mails.size() == 5);
  int reminders = 0, overdue = 0;
  for (const json& m : mails) {
    std::string s = m["subject"];
    if (s.find("is due in") != std::string::npos) ++reminders;
    if (s.find("OVERDUE") != std::string::npos) ++overdue;
    CHECK(s.find(r.id) != std::string::npos);
    // Operators' mails name the request, never the person.
    CHECK(m["text"].get<std::string>().find(subject) == std::string::npos);
  }
  CHECK(reminders == 3);
  CHECK(overdue == 2);
  CHECK(MailsTo(subject).empty());
}

TEST_CASE("scheduler: a request filed close to its deadline gets only the nearest reminder", "[notify][scheduler]") {
  const std::string ops = "ops-" + RandomTag() + "@example.test";
  World w(Notify(ops));
  NewRequest in = Verified("late-" + RandomTag() + "@example.test");
  in.received_at = kT0 - std::chrono::days(29);  // GDPR: due a day or two after kT0
  Request r = Submit(w, kT0, in);
  REQUIRE(r.due_at > kT0);
  REQUIRE(r.due_at - kT0 < std::chrono::days(3));
  auto t = TickOnce(w, kT0);
  CHECK(t.queued == 1);
  CHECK(TickOnce(w, kT0 + std::chrono::minutes(1)).queued == 0);
  CHECK(MailsTo(ops, 1).size() == 1);
}

TEST_CASE("scheduler: terminal requests get no reminders", "[notify][scheduler]") {
  const std::string ops = "ops-" + RandomTag() + "@example.test";
  World w(Notify(ops));
  Request r = Submit(w, kT0, Verified("x-" + RandomTag() + "@example.test"));
  {
    PinClock pin(kT0 + std::chrono::hours(1));
    Workflow wf(*w.store, Engine(), Policy());
    REQUIRE(wf.Act(r.id, Action::kDeny, "alice", "manifestly unfounded").ok());
  }
  CHECK(TickOnce(w, r.due_at - std::chrono::hours(1)).queued == 0);
  CHECK(TickOnce(w, r.due_at + std::chrono::hours(1)).queued == 0);
}

TEST_CASE("scheduler: CCPA receipt is acknowledged to the subject once", "[notify][scheduler]") {
  const std::string ops = "ops-" + RandomTag() + "@example.test";
  const std::string subject = "ca-" + RandomTag() + "@example.test";
  World w(Notify(ops));
  NewRequest in = Verified(subject);
  in.regulation = Regulation::kCcpa;
  Request r = Submit(w, kT0, in);
  CHECK(TickOnce(w, kT0 + std::chrono::minutes(1)).queued == 1);
  CHECK(TickOnce(w, kT0 + std::chrono::minutes(2)).queued == 0);
  auto mails = MailsTo(subject, 1);
  REQUIRE(mails.size() == 1);
  std::string text = mails[0]["text"];
  CHECK(text.find(r.id) != std::string::npos);
  CHECK(text.find(r.due_date) != std::string::npos);
}

TEST_CASE("scheduler: CCPA request without email: operators are warned before the acknowledgement date",
          "[notify][scheduler]") {
  const std::string ops = "ops-" + RandomTag() + "@example.test";
  World w(Notify(ops));
  NewRequest in;
  in.subject.user_id = "u-" + RandomTag();
  in.verified = true;
  in.regulation = Regulation::kCcpa;
  Request r = Submit(w, kT0, in);
  Workflow wf(*w.store, Engine(), Policy());
  auto ack = wf.deadlines().AcknowledgeBy(Regulation::kCcpa, r.received_at);
  REQUIRE(ack.ok());
  CHECK(TickOnce(w, kT0 + std::chrono::hours(1)).queued == 0);
  CHECK(TickOnce(w, ack->due_at - std::chrono::days(2)).queued == 1);
  auto mails = MailsTo(ops, 1);
  REQUIRE(mails.size() == 1);
  CHECK(mails[0]["subject"].get<std::string>().find(ack->due_date) != std::string::npos);
}

TEST_CASE("scheduler: exports are deleted after exports.keep, and that is audited once", "[notify][scheduler]") {
  World w;
  w.config.exports_keep = Duration{0, 0, 30, 0};
  std::filesystem::create_directories(w.dir / "exports");
  const std::string zip = (w.dir / "exports" / "export.zip").string();
  std::ofstream(zip) << "PK fake zip";
  Request r = Submit(w, kT0, Verified("exp-" + RandomTag() + "@example.test"));
  {
    PinClock pin(kT0 + std::chrono::hours(1));
    Workflow wf(*w.store, Engine(), Policy());
    REQUIRE(wf.Act(r.id, Action::kApprove, "alice", "").ok());
    REQUIRE(wf.Start(r.id, "test-worker#1", std::chrono::seconds(60)).ok());
    auto done = wf.Finish(r.id, "test-worker#1", Result<Outcome>(ExportedTo(zip)));
    REQUIRE(done.ok());
    REQUIRE(done->status == RequestStatus::kCompleted);
  }
  auto count_purged = [&]() {
    int n = 0;
    auto audit = w.store->Audit(r.id);  // kept alive: a range-for over *temporary would dangle
    REQUIRE(audit.ok());
    for (const AuditEntry& e : *audit) n += e.kind == "export_purged";
    return n;
  };
  CHECK(TickOnce(w, kT0 + std::chrono::days(29)).purged == 0);
  CHECK(std::filesystem::exists(zip));
  CHECK(TickOnce(w, kT0 + std::chrono::days(31)).purged == 1);
  CHECK_FALSE(std::filesystem::exists(zip));
  CHECK(count_purged() == 1);
  CHECK(TickOnce(w, kT0 + std::chrono::days(32)).purged == 0);
  CHECK(count_purged() == 1);
  CHECK(VerifyChain(*w.store->Audit()).ok());
}

TEST_CASE("scheduler: expired codes and tokens are swept after a day", "[notify][scheduler]") {
  World w;
  Request r = Submit(w, kT0, Verified("sw-" + RandomTag() + "@example.test"));
  REQUIRE(IssueVerificationCode(*w.store, r, kT0).ok());
  REQUIRE(IssueDownloadLink(*w.store, w.config, r, kT0).ok());
  auto token = MintDownloadToken(*w.store, r.id, kT0 + std::chrono::days(7), kT0);  // as its mail's sending does
  REQUIRE(token.ok());
  TickOnce(w, kT0 + std::chrono::hours(2));
  CHECK(w.store->GetRecord("verify_code", r.id)->has_value());  // expired but kept a day: "expired" stays explainable
  TickOnce(w, kT0 + std::chrono::days(2));
  CHECK_FALSE(w.store->GetRecord("verify_code", r.id)->has_value());
  CHECK(w.store->Records("download_token", std::nullopt, 10)->size() == 1);  // valid 7 days
  TickOnce(w, kT0 + std::chrono::days(9));
  CHECK(w.store->Records("download_token", std::nullopt, 10)->empty());
}

TEST_CASE("scheduler: an extended request is reminded again before its new date", "[notify][scheduler]") {
  const std::string ops = "ops-" + RandomTag() + "@example.test";
  World w(Notify(ops));
  NewRequest in;
  in.subject.user_id = "u-" + RandomTag();  // no email: no extension notice in the counts
  in.verified = true;
  Request r = Submit(w, kT0, in);
  CHECK(TickOnce(w, r.due_at - std::chrono::hours(12)).queued == 1);  // P1D before the first date
  Request extended;
  {
    PinClock pin(r.due_at - std::chrono::hours(11));
    Workflow wf(*w.store, Engine(), Policy());
    auto e = wf.Act(r.id, Action::kExtend, "alice", "complex request");
    REQUIRE(e.ok());
    extended = *e;
  }
  REQUIRE(extended.due_at > r.due_at);
  // No overdue notice at the old date, a new P1D reminder before the new one.
  CHECK(TickOnce(w, r.due_at + std::chrono::hours(1)).queued == 0);
  CHECK(TickOnce(w, extended.due_at - std::chrono::hours(12)).queued == 1);
  CHECK(TickOnce(w, extended.due_at - std::chrono::hours(11)).queued == 0);
  for (const json& m : MailsTo(ops, 2)) CHECK(m["subject"].get<std::string>().find("OVERDUE") == std::string::npos);
}
