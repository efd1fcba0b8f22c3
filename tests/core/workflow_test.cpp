#include <catch2/catch.hpp>

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "lethe/workflow.h"
#include "test_util.h"

using namespace lethe;
using S = RequestStatus;

namespace {

struct World {
  testing::TempDir dir;
  std::unique_ptr<Store> store = testing::OpenTestStore(dir);
  std::unique_ptr<Workflow> wf;
  explicit World(WorkflowPolicy policy = {}) {
    DeadlineRules rules;
    rules.timezone = "Europe/Berlin";
    policy.pseudonym_key = "test-key";
    wf = std::make_unique<Workflow>(*store, *DeadlineEngine::Create(rules), policy);
  }
  Request Submit(RequestType t, bool verified, std::string channel = "email") {
    NewRequest in;
    in.type = t;
    in.subject.email = "ada@example.com";
    in.verified = verified;
    in.channel = channel;
    auto r = wf->Submit(in, "tester");
    REQUIRE(r.ok());
    return *r;
  }
};

// The audit chain must hold after every step, and never contain the email.
void CheckAudit(Store& store) {
  auto entries = store.Audit();
  REQUIRE(entries.ok());
  CHECK(VerifyChain(*entries).ok());
  for (const auto& e : *entries) CHECK(ToJson(e).dump().find("ada@example.com") == std::string::npos);
}

}  // namespace

TEST_CASE("a request walks the whole lifecycle with one event and audit entry per step", "[workflow]") {
  World w;
  Request r = w.Submit(RequestType::kErasure, false);
  CHECK(r.status == S::kUnverified);
  CHECK(r.due_date == std::string(r.due_date));  // computed
  auto step = [&](Action a, const std::string& reason = "", nlohmann::json args = nlohmann::json::object()) {
    auto res = w.wf->Act(r.id, a, "alice", reason, args);
    INFO(res.status().ToString());
    REQUIRE(res.ok());
    r = *res;
    CheckAudit(*w.store);
  };
  step(Action::kVerify);
  CHECK(r.status == S::kPending);
  CHECK(r.verified);
  step(Action::kHold, "", {{"reason_kind", "clarification"}});
  CHECK(r.status == S::kOnHold);
  step(Action::kResume);
  CHECK(r.status == S::kPending);
  step(Action::kAssign, "", {{"assignee", "bob"}});
  CHECK(r.assignee == std::optional<std::string>("bob"));
  Time first_due = r.due_at;
  step(Action::kExtend, "complex request, many systems");
  CHECK(r.extended);
  CHECK(r.due_at > first_due);
  step(Action::kApprove);
  CHECK(r.status == S::kApproved);
  step(Action::kCancel);
  CHECK(r.status == S::kCancelled);

  auto events = w.store->Events(r.id);
  REQUIRE(events.ok());
  std::vector<std::string> kinds;
  for (const auto& e : *events) kinds.push_back(e.kind);
  CHECK(kinds == std::vector<std::string>{"received", "verified", "on_hold", "resumed", "assigned", "extended",
                                          "approved", "cancelled"});
  CHECK(w.store->Audit()->size() == 8);
}

TEST_CASE("deny and extend need a reason; a second extension is refused", "[workflow]") {
  World w;
  Request r = w.Submit(RequestType::kAccess, true);
  auto denied = w.wf->Act(r.id, Action::kDeny, "alice", "");
  REQUIRE_FALSE(denied.ok());
  CHECK(denied.status().field() == "/reason");
  REQUIRE(w.wf->Act(r.id, Action::kExtend, "alice", "volume").ok());
  auto again = w.wf->Act(r.id, Action::kExtend, "alice", "again");
  REQUIRE_FALSE(again.ok());
  CHECK(again.status().code() == Code::kConflict);
  REQUIRE(w.wf->Act(r.id, Action::kDeny, "alice", "manifestly unfounded (Art. 12(5))").ok());
  auto approve = w.wf->Act(r.id, Action::kApprove, "alice", "");
  REQUIRE_FALSE(approve.ok());
  CHECK_THAT(approve.status().message(), Catch::Contains("\"denied\""));
}

TEST_CASE("self-service auto-approval and erasure grace", "[workflow]") {
  WorkflowPolicy p;
  p.auto_approve = {RequestType::kAccess, RequestType::kErasure};
  p.erasure_grace = *ParseIsoDuration("P7D");
  World w(p);
  Request access = w.Submit(RequestType::kAccess, true, "self_service");
  CHECK(access.status == S::kApproved);
  CHECK_FALSE(access.not_before.has_value());
  Request erasure = w.Submit(RequestType::kErasure, true, "self_service");
  CHECK(erasure.status == S::kApproved);
  REQUIRE(erasure.not_before.has_value());
  CHECK(*erasure.not_before - Now() > std::chrono::hours(24 * 6));
  Request rect = w.Submit(RequestType::kRectification, true, "self_service");
  CHECK(rect.status == S::kPending);  // not in auto_approve
  Request inbox = w.Submit(RequestType::kAccess, true, "email");
  CHECK(inbox.status == S::kPending);  // only self-service is auto-approved
}

namespace {
// A canned outcome: one row of app.users changed.
Outcome OneRow(RequestType type) {
  Outcome o;
  o.type = type;
  o.collections.push_back({"app", "users", 1});
  return o;
}

// An executor that records what it was asked and returns a canned outcome.
struct CountingExecutor : Executor {
  std::atomic<int> calls{0};
  bool fail = false;
  std::chrono::milliseconds delay{0};
  std::function<void(const Request&)> during;  // runs inside Execute
  std::mutex mu;
  std::map<std::string, int> per_request;
  Result<Outcome> Execute(const Request& r) override {
    ++calls;
    {
      std::lock_guard lock(mu);
      ++per_request[r.id];
    }
    if (during) during(r);
    if (delay.count() > 0) std::this_thread::sleep_for(delay);
    if (fail) return Status::Unavailable("connector app unreachable");
    return OneRow(r.type);
  }
  Result<nlohmann::json> Plan(const Request&) override { return nlohmann::json::array(); }
};

// Pins Now() for the scope: leases are measured against it.
struct PinClock {
  explicit PinClock(Time t) { SetClockForTesting(t); }
  void Set(Time t) { SetClockForTesting(t); }
  ~PinClock() { SetClockForTesting(Time{}); }
};

int CountEvents(Store& store, const std::string& id, const std::string& kind) {
  int n = 0;
  auto events = store.Events(id);  // named: a range-for over *temporary would dangle
  for (const auto& e : *events) n += e.kind == kind;
  return n;
}

const std::chrono::seconds kLease{60};
}  // namespace

TEST_CASE("the worker executes approved requests once, respects grace, and retries failed ones", "[workflow]") {
  WorkflowPolicy p;
  p.auto_approve = {RequestType::kErasure, RequestType::kAccess};
  p.erasure_grace = *ParseIsoDuration("P1D");
  World w(p);
  CountingExecutor ex;
  Worker worker(*w.wf, ex);
  Request graced = w.Submit(RequestType::kErasure, true, "self_service");
  Request now = w.Submit(RequestType::kAccess, true, "self_service");
  REQUIRE(*worker.RunOnce() == 1);
  CHECK(ex.calls == 1);
  CHECK(w.store->Get(now.id)->status == S::kCompleted);
  CHECK(w.store->Get(graced.id)->status == S::kApproved);
  REQUIRE(*worker.RunOnce() == 0);  // nothing new: completed requests are not run again
  CHECK(ex.calls == 1);

  // Failure is recorded with its reason, and retry queues it again.
  ex.fail = true;
  Request failing = w.Submit(RequestType::kAccess, true, "self_service");
  REQUIRE(*worker.RunOnce() == 1);
  CHECK(worker.failed() == 1);
  auto f = *w.store->Get(failing.id);
  CHECK(f.status == S::kFailed);
  CHECK(f.result["error"] == "connector app unreachable");
  ex.fail = false;
  REQUIRE(w.wf->Act(failing.id, Action::kRetry, "alice", "").ok());
  REQUIRE(*worker.RunOnce() == 1);
  CHECK(w.store->Get(failing.id)->status == S::kCompleted);
  // Stats count each run: now (1), failing (failed once, then completed).
  auto stats = w.store->Stats(Now());
  REQUIRE(stats.ok());
  CHECK((*stats)["execution"]["access"]["count"] == 3);
  CHECK((*stats)["execution"]["access"]["seconds"] >= 0);
  CheckAudit(*w.store);
}

// The old version of this test "simulated a crash" by starting a request
// and running the worker at once: exactly what a live second worker sees,
// so it enshrined two workers running one request (issue 8, item 7). A
// crash is a lease that ran out; a live worker's lease is left alone.
TEST_CASE("a live lease is not taken over, an expired one is", "[workflow][lease]") {
  WorkflowPolicy p;
  p.auto_approve = {RequestType::kAccess};
  World w(p);
  const Time t0 = Now();
  PinClock clock(t0);
  CountingExecutor ex;
  Worker worker(*w.wf, ex);
  Request r = w.Submit(RequestType::kAccess, true, "self_service");

  // Worker A (another process) claims it and is running it.
  const std::string a = "host-a:100:0000aaaa#1";
  auto started = w.wf->Start(r.id, a, kLease);
  REQUIRE(started.ok());
  CHECK(started->status == S::kInProgress);

  // While A's lease lives (heartbeat or not), this worker leaves it alone.
  clock.Set(t0 + std::chrono::seconds(59));
  REQUIRE(*worker.RunOnce() == 0);
  CHECK(ex.calls == 0);
  CHECK(w.store->Get(r.id)->status == S::kInProgress);
  auto again = w.wf->Start(r.id, "host-b:200:0000bbbb#1", kLease);
  CHECK(again.status().code() == Code::kConflict);

  // A heartbeat moves the lease on.
  REQUIRE(w.wf->Heartbeat(r.id, a, kLease).ok());  // until t0+59+60
  clock.Set(t0 + std::chrono::seconds(100));
  REQUIRE(*worker.RunOnce() == 0);
  CHECK(ex.calls == 0);

  // A dies: no heartbeat; once the lease has run out the worker takes over.
  clock.Set(t0 + std::chrono::seconds(59 + 61));
  REQUIRE(*worker.RunOnce() == 1);
  CHECK(ex.calls == 1);
  Request done = *w.store->Get(r.id);
  CHECK(done.status == S::kCompleted);
  CHECK(CountEvents(*w.store, r.id, "started") == 1);
  CHECK(CountEvents(*w.store, r.id, "taken_over") == 1);
  CHECK(CountEvents(*w.store, r.id, "completed") == 1);

  // A wakes up and reports failure: refused, the completed result stands.
  auto stale = w.wf->Finish(r.id, a, Result<Outcome>(Status::Unavailable("connector app unreachable")));
  CHECK(stale.status().code() == Code::kConflict);
  CHECK(w.wf->Heartbeat(r.id, a, kLease).code() == Code::kConflict);
  CHECK(w.store->Get(r.id)->status == S::kCompleted);
  CHECK(CountEvents(*w.store, r.id, "failed") == 0);
  CheckAudit(*w.store);
}

TEST_CASE("a stale owner's finish is refused while the new owner runs the request", "[workflow][lease]") {
  World w;
  const Time t0 = Now();
  PinClock clock(t0);
  Request r = w.Submit(RequestType::kErasure, true);
  REQUIRE(w.wf->Act(r.id, Action::kApprove, "alice", "").ok());
  const std::string a = "host-a:1:aaaaaaaa#1", b = "host-b:2:bbbbbbbb#1";
  REQUIRE(w.wf->Start(r.id, a, kLease).ok());
  clock.Set(t0 + kLease + std::chrono::seconds(1));
  auto taken = w.wf->Start(r.id, b, kLease);
  REQUIRE(taken.ok());
  CHECK(taken->status == S::kInProgress);

  // A finishes late, with success or failure: neither is written.
  CHECK(w.wf->Finish(r.id, a, Result<Outcome>(Outcome{})).status().code() == Code::kConflict);
  CHECK(w.wf->Finish(r.id, a, Result<Outcome>(Status::Internal("x"))).status().code() == Code::kConflict);
  CHECK(w.store->Get(r.id)->status == S::kInProgress);
  // A's release does not free B's lease.
  REQUIRE(w.store->ReleaseLease(r.id, a).ok());
  CHECK(w.wf->Start(r.id, "host-c:3:cccccccc#1", kLease).status().code() == Code::kConflict);

  auto done = w.wf->Finish(r.id, b, Result<Outcome>(OneRow(r.type)));
  REQUIRE(done.ok());
  CHECK(done->status == S::kCompleted);
  CHECK(done->subject.email.empty());  // the receipt, written under B's lease too
  CHECK(CountEvents(*w.store, r.id, "started") == 1);
  CHECK(CountEvents(*w.store, r.id, "completed") == 1);
  CheckAudit(*w.store);
}

TEST_CASE("store leases: claim, renew, release and fenced updates", "[store][lease]") {
  World w;
  const Time t0 = Now();
  Request r = w.Submit(RequestType::kAccess, true);
  Store& st = *w.store;
  CHECK(st.ClaimRequest("req_missing", "x#1", t0, t0 + kLease).status().code() == Code::kNotFound);
  CHECK(*st.ClaimRequest(r.id, "x#1", t0, t0 + kLease) == false);  // pending: not claimable
  REQUIRE(w.wf->Act(r.id, Action::kApprove, "alice", "").ok());
  CHECK(st.Claimable(t0, 10)->size() == 1);
  const int64_t v = st.Get(r.id)->version;
  CHECK(*st.ClaimRequest(r.id, "x#1", t0, t0 + kLease) == true);
  CHECK(st.Get(r.id)->version == v + 1);  // the claim fences writes prepared before it
  CHECK(st.Claimable(t0, 10)->empty());
  CHECK(*st.ClaimRequest(r.id, "y#1", t0 + kLease, t0 + 2 * kLease) == false);  // lease_until == now: still live
  CHECK(*st.RenewLease(r.id, "y#1", t0 + 3 * kLease) == false);
  CHECK(*st.RenewLease(r.id, "x#1", t0 + 2 * kLease) == true);
  CHECK(*st.ClaimRequest(r.id, "y#1", t0 + kLease + std::chrono::seconds(1), t0 + 3 * kLease) == false);

  Request cur = *st.Get(r.id);
  cur.note = "by y";
  CHECK(st.UpdateLeased(cur, "y#1", Event{0, t0, "note", "y", "n", "", ""}, AuditEntry{}).code() == Code::kConflict);
  cur.note = "by x";
  REQUIRE(st.UpdateLeased(cur, "x#1", Event{0, t0, "note", "x", "n", "", ""}, AuditEntry{}).ok());
  CHECK(st.Get(r.id)->note == "by x");

  REQUIRE(st.ReleaseLease(r.id, "x#1").ok());
  CHECK(st.Claimable(t0, 10)->size() == 1);
  CHECK(*st.ClaimRequest(r.id, "y#1", t0, t0 + kLease) == true);
  CHECK(st.UpdateLeased(*st.Get(r.id), "x#1", Event{0, t0, "note", "x", "n", "", ""}, AuditEntry{}).code() ==
        Code::kConflict);
}

TEST_CASE("the heartbeat keeps a slow request's lease: a second worker never runs it", "[workflow][lease]") {
  WorkflowPolicy p;
  p.auto_approve = {RequestType::kAccess};
  World w(p);
  CountingExecutor slow;
  slow.delay = std::chrono::milliseconds(3500);  // > 3 lease lengths
  WorkerOptions o;
  o.lease = std::chrono::seconds(1);
  Worker first(*w.wf, slow, o);
  Request r = w.Submit(RequestType::kAccess, true, "self_service");

  // A second process: its own store connection, workflow and worker.
  auto store2 = testing::OpenTestStore(w.dir);
  DeadlineRules rules;
  rules.timezone = "Europe/Berlin";
  WorkflowPolicy p2 = p;
  p2.pseudonym_key = "test-key";
  Workflow wf2(*store2, *DeadlineEngine::Create(rules), p2);
  CountingExecutor ex2;
  Worker second(wf2, ex2, o);

  int first_ran = -1;
  std::thread t([&] {
    auto n = first.RunOnce();
    first_ran = n.ok() ? *n : -1;
  });
  int second_ran = 0;
  for (int i = 0; i < 12; ++i) {  // every 0.25 s while the first runs
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    second_ran += *second.RunOnce();
  }
  t.join();
  CHECK(first_ran == 1);
  CHECK(second_ran == 0);
  CHECK(ex2.calls == 0);
  CHECK(slow.calls == 1);
  CHECK(w.store->Get(r.id)->status == S::kCompleted);
  CHECK(CountEvents(*w.store, r.id, "started") == 1);
  CHECK(CountEvents(*w.store, r.id, "taken_over") == 0);
}

TEST_CASE("two workers on one store run each request exactly once", "[workflow][lease]") {
  WorkflowPolicy p;
  p.auto_approve = {RequestType::kAccess, RequestType::kErasure};
  p.erasure_grace = Duration{};
  World w(p);
  std::vector<std::string> ids;
  for (int i = 0; i < 12; ++i)
    ids.push_back(w.Submit(i % 2 ? RequestType::kAccess : RequestType::kErasure, true, "self_service").id);

  auto store2 = testing::OpenTestStore(w.dir);
  DeadlineRules rules;
  rules.timezone = "Europe/Berlin";
  WorkflowPolicy p2 = p;
  p2.pseudonym_key = "test-key";
  Workflow wf2(*store2, *DeadlineEngine::Create(rules), p2);
  CountingExecutor ex1, ex2;
  ex1.delay = ex2.delay = std::chrono::milliseconds(30);
  Worker w1(*w.wf, ex1), w2(wf2, ex2);
  int n1 = 0, n2 = 0;
  std::thread t1([&] {
    auto n = w1.RunOnce();
    n1 = n.ok() ? *n : -100;
  });
  std::thread t2([&] {
    auto n = w2.RunOnce();
    n2 = n.ok() ? *n : -100;
  });
  t1.join();
  t2.join();
  CHECK(n1 + n2 == 12);
  CHECK(ex1.calls + ex2.calls == 12);
  for (const auto& id : ids) {
    INFO(id);
    CHECK(ex1.per_request[id] + ex2.per_request[id] == 1);
    CHECK(w.store->Get(id)->status == S::kCompleted);
    CHECK(CountEvents(*w.store, id, "started") == 1);
    CHECK(CountEvents(*w.store, id, "completed") == 1);
  }
  CheckAudit(*w.store);
}

TEST_CASE("an operator's note while a request runs does not cost the worker its result", "[workflow][lease]") {
  WorkflowPolicy p;
  p.auto_approve = {RequestType::kAccess};
  World w(p);
  CountingExecutor ex;
  ex.during = [&](const Request& r) { REQUIRE(w.wf->Act(r.id, Action::kNote, "alice", "called the subject").ok()); };
  Worker worker(*w.wf, ex);
  Request r = w.Submit(RequestType::kAccess, true, "self_service");
  REQUIRE(*worker.RunOnce() == 1);
  CHECK(w.store->Get(r.id)->status == S::kCompleted);
}

namespace {
// Throws like std::stoll did on user_id 9999999999999999999, for the first
// request it sees; what() quotes the value, as library exceptions may.
struct ThrowingExecutor : Executor {
  std::string throw_for;
  int calls = 0;
  Result<Outcome> Execute(const Request& r) override {
    ++calls;
    if (r.id == throw_for) throw std::out_of_range("stoll: 9999999999999999999");
    return OneRow(r.type);
  }
  Result<nlohmann::json> Plan(const Request&) override { return nlohmann::json::array(); }
};
}  // namespace

TEST_CASE("an exception on one request fails that request and the worker goes on", "[workflow]") {
  WorkflowPolicy p;
  p.auto_approve = {RequestType::kAccess};
  World w(p);
  ThrowingExecutor ex;
  Worker worker(*w.wf, ex);
  NewRequest odd;
  odd.type = RequestType::kAccess;
  odd.channel = "self_service";
  odd.subject.user_id = "9999999999999999999";
  odd.verified = true;
  Request bad = *w.wf->Submit(odd, "tester");
  Request good = w.Submit(RequestType::kAccess, true, "self_service");
  ex.throw_for = bad.id;
  auto n = worker.RunOnce();
  REQUIRE(n.ok());
  CHECK(*n == 2);
  CHECK(worker.failed() == 1);
  CHECK(ex.calls == 2);
  Request b = *w.store->Get(bad.id);
  CHECK(b.status == S::kFailed);
  CHECK_THAT(b.result["error"].get<std::string>(), Catch::Contains("internal error"));
  CHECK_THAT(b.result["error"].get<std::string>(), Catch::Contains("std::out_of_range"));
  // No identity value in the error, the events or the audit log.
  CHECK(b.result.dump().find("9999999999999999999") == std::string::npos);
  auto events = w.store->Events(bad.id);
  for (const auto& e : *events) CHECK(e.reason.find("9999999999999999999") == std::string::npos);
  auto audit = w.store->Audit(bad.id);
  for (const auto& a : *audit) CHECK(ToJson(a).dump().find("9999999999999999999") == std::string::npos);
  CHECK(w.store->Get(good.id)->status == S::kCompleted);
  REQUIRE(*worker.RunOnce() == 0);  // nothing left stuck
  CHECK(ex.calls == 2);
}

TEST_CASE("an admin can fail or cancel a stuck in_progress request, with a reason", "[workflow][lease]") {
  WorkflowPolicy p;
  p.auto_approve = {RequestType::kAccess, RequestType::kErasure};
  p.erasure_grace = Duration{};
  World w(p);
  const nlohmann::json admin = {{"stop_running", true}};
  Request r = w.Submit(RequestType::kAccess, true, "self_service");
  const std::string hung = "host-a:1:aaaaaaaa#1";
  REQUIRE(w.wf->Start(r.id, hung, kLease).ok());

  // Not without the admin's reach, not without a reason.
  auto op = w.wf->Act(r.id, Action::kFail, "olga", "stuck");
  CHECK(op.status().code() == Code::kConflict);
  CHECK_THAT(op.status().message(), Catch::Contains("\"in_progress\""));
  CHECK(w.wf->Act(r.id, Action::kCancel, "olga", "stuck").status().code() == Code::kConflict);
  CHECK(w.wf->Act(r.id, Action::kFail, "alice", "", admin).status().field() == "/reason");

  auto failed = w.wf->Act(r.id, Action::kFail, "alice", "worker hung on connector app", admin);
  REQUIRE(failed.ok());
  CHECK(failed->status == S::kFailed);
  auto events = *w.store->Events(r.id);
  CHECK(events.back().kind == "failed");
  CHECK(events.back().actor == "alice");
  CHECK(events.back().reason == "worker hung on connector app");
  // The hung worker, should it return, cannot overwrite that.
  CHECK(w.wf->Finish(r.id, hung, Result<Outcome>(Outcome{})).status().code() == Code::kConflict);
  CHECK(w.store->Get(r.id)->status == S::kFailed);
  // Retry queues it again and a worker runs it.
  REQUIRE(w.wf->Act(r.id, Action::kRetry, "alice", "").ok());
  CountingExecutor ex;
  Worker worker(*w.wf, ex);
  REQUIRE(*worker.RunOnce() == 1);
  CHECK(w.store->Get(r.id)->status == S::kCompleted);

  Request e = w.Submit(RequestType::kErasure, true, "self_service");
  REQUIRE(w.wf->Start(e.id, hung, kLease).ok());
  auto cancelled = w.wf->Act(e.id, Action::kCancel, "alice", "subject withdrew; stopped by hand", admin);
  REQUIRE(cancelled.ok());
  CHECK(cancelled->status == S::kCancelled);
  CHECK(w.store->Events(e.id)->back().reason == "subject withdrew; stopped by hand");
  // Failing is only for a running request.
  CHECK(w.wf->Act(e.id, Action::kFail, "alice", "x", admin).status().code() == Code::kConflict);
  CheckAudit(*w.store);
}

TEST_CASE("a stale update is refused instead of overwriting", "[workflow][store]") {
  World w;
  Request r = w.Submit(RequestType::kAccess, true);
  Request stale = *w.store->Get(r.id);
  REQUIRE(w.wf->Act(r.id, Action::kApprove, "alice", "").ok());
  stale.status = S::kDenied;
  Status st = w.store->Update(stale, Event{0, Now(), "denied", "bob", "x", "", ""}, AuditEntry{});
  CHECK(st.code() == Code::kConflict);
  CHECK(w.store->Get(r.id)->status == S::kApproved);
}

TEST_CASE("bad submissions name the field", "[workflow]") {
  World w;
  NewRequest in;
  auto r = w.wf->Submit(in, "x");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().field() == "/subject");
  in.subject.email = "not-an-email";
  r = w.wf->Submit(in, "x");
  CHECK(r.status().field() == "/subject/email");
  in.subject.email = "a@b.c";
  in.received_at = Now() + std::chrono::hours(48);
  r = w.wf->Submit(in, "x");
  CHECK(r.status().field() == "/received_at");
}

TEST_CASE("list filters, sorts by due date and pages with a cursor", "[store]") {
  World w;
  std::set<std::string> ids;
  for (int i = 0; i < 23; ++i) {
    NewRequest in;
    in.type = i % 2 ? RequestType::kAccess : RequestType::kErasure;
    in.subject.email = "user" + std::to_string(i) + "@example.com";
    in.received_at = Now() - std::chrono::hours(24 * (i % 7));
    in.verified = true;
    ids.insert(w.wf->Submit(in, "x")->id);
  }
  RequestFilter f;
  f.now = Now();
  f.limit = 5;
  std::set<std::string> seen;
  Time last{};
  int pages = 0;
  do {
    auto page = w.store->List(f);
    REQUIRE(page.ok());
    for (const auto& r : page->items) {
      CHECK(r.due_at >= last);
      last = r.due_at;
      CHECK(seen.insert(r.id).second);  // no duplicates across pages
    }
    f.cursor = page->next_cursor;
    ++pages;
  } while (!f.cursor.empty());
  CHECK(seen == ids);
  CHECK(pages == 5);

  RequestFilter by_type;
  by_type.type = RequestType::kAccess;
  by_type.limit = 100;
  CHECK(w.store->List(by_type)->items.size() == 11);
  RequestFilter q;
  q.q = "user13@";
  CHECK(w.store->List(q)->items.size() == 1);
  RequestFilter wild;
  wild.q = "%";  // a LIKE wildcard typed by a user is matched literally
  CHECK(w.store->List(wild)->items.empty());
  RequestFilter bad;
  bad.cursor = "garbage";
  CHECK(w.store->List(bad).status().field() == "/cursor");
}

TEST_CASE("records: first writer wins", "[store]") {
  testing::TempDir dir;
  auto store = testing::OpenTestStore(dir);
  Record r{"outbox", "reminder:req_1:P7D", {{"to", "ops"}}, Now(), {}};
  CHECK(*store->PutRecordIfAbsent(r) == true);
  r.value = {{"to", "other"}};
  CHECK(*store->PutRecordIfAbsent(r) == false);
  CHECK((*store->GetRecord("outbox", "reminder:req_1:P7D"))->value["to"] == "ops");
  CHECK(store->Records("outbox", Now(), 10)->size() == 1);
  CHECK(store->DeleteRecord("outbox", "reminder:req_1:P7D").ok());
  CHECK_FALSE(store->GetRecord("outbox", "reminder:req_1:P7D")->has_value());
}

TEST_CASE("reopening the store keeps data and does not rerun migrations", "[store]") {
  testing::TempDir dir;
  std::string id;
  {
    auto store = testing::OpenTestStore(dir);
    AuditEntry e;
    e.kind = "x";
    e.actor = "y";
    REQUIRE(store->AppendAudit(e).ok());
  }
  auto store = testing::OpenTestStore(dir);
  CHECK(store->Audit()->size() == 1);
}

TEST_CASE("a completed erasure keeps a receipt, not the person", "[workflow]") {
  World w;
  CountingExecutor ex;
  Worker worker(*w.wf, ex);
  Request r = w.Submit(RequestType::kErasure, true);
  REQUIRE(w.wf->Act(r.id, Action::kApprove, "alice", "").ok());
  REQUIRE(*worker.RunOnce() == 1);
  Request done = *w.store->Get(r.id);
  CHECK(done.status == S::kCompleted);
  CHECK(done.subject.email.empty());
  CHECK(done.result["subject_ref"] == w.wf->SubjectRef(Subject{"ada@example.com", "", "", {}}));
  CHECK(done.ToJson(Now()).dump().find("ada@example.com") == std::string::npos);
  RequestFilter f;
  f.q = "ada@";
  CHECK(w.store->List(f)->items.empty());
  // Every audit entry of the request names the same pseudonym.
  auto audit = w.store->Audit(r.id);
  REQUIRE(audit->size() >= 5);
  for (const auto& a : *audit) CHECK(a.subject_ref == done.result["subject_ref"]);
  CheckAudit(*w.store);
}
